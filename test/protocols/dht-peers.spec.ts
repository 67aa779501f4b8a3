/**
 * A DHT client takes no peer reachable only through a relay into its routing table. kad-dht adds every provider a
 * lookup returns and pings it; a room member behind a relay was thus dialled (a whole WebRTC connection, libp2p's
 * first choice) by every member that looked the room up, and the room handshake waited for that dial. Real nodes in
 * this process: an in-process relay (a DHT server), a member reachable only through it that announces a CID, and a
 * client that looks the CID up.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { withoutRelayedAddrs } from '../../protocols/overlay/dht-peers.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { PeerInfo } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

describe('DHT routing table of a client', function () {
  this.timeout(60_000)
  let relay: Awaited<ReturnType<typeof createRelay>>
  const nodes: Libp2p[] = []

  async function node (listen: string[]): Promise<Libp2p> {
    const n = await peerNode(relay.node, await generateKeyPair('Ed25519'), listen)
    nodes.push(n)
    return n
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await relay?.stop()
  })

  it('drops relayed addresses, keeps the others, and leaves a relayed-only peer with none', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const r = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const own = multiaddr(`/ip4/198.51.100.7/tcp/4001/p2p/${id}`)
    const relayed = [
      multiaddr(`/ip4/198.51.100.1/tcp/4001/p2p/${r}/p2p-circuit/p2p/${id}`),
      multiaddr(`/ip4/198.51.100.1/tcp/4001/p2p/${r}/p2p-circuit/webrtc/p2p/${id}`)
    ]
    const mapper = withoutRelayedAddrs((info: PeerInfo) => info)
    expect(mapper({ id, multiaddrs: [own, ...relayed] }).multiaddrs).to.deep.equal([own])
    expect(mapper({ id, multiaddrs: relayed }).multiaddrs).to.deep.equal([])
    // the inner mapper runs first
    expect(withoutRelayedAddrs(info => ({ ...info, multiaddrs: [] }))({ id, multiaddrs: [own] }).multiaddrs).to.deep.equal([])
  })

  it('a lookup finds a member behind the relay without dialling it', async () => {
    const member = await node(['/p2p-circuit', '/webrtc'])
    const client = await node([])
    await until('the member is reachable through the relay', () => member.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')))
    const cid = CID.createV1(0x55, await sha256.digest(crypto.getRandomValues(new Uint8Array(32))))
    await member.contentRouting.provide(cid)
    const dialled: string[] = []
    client.addEventListener('connection:open', evt => { if (evt.detail.remotePeer.equals(member.peerId)) { dialled.push(evt.detail.remoteAddr.toString()) } })
    const found: string[] = []
    for await (const p of client.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(10_000) })) { found.push(p.id.toString()) }
    expect(found).to.include(member.peerId.toString())
    // kad-dht pings a new contact at once; give it time to have tried
    await sleep(2_000)
    expect(dialled, 'connections the client opened to the member').to.deep.equal([])
  })
})
