/**
 * `/freeflow/turn/1.0.0` between real libp2p nodes in this process: a relay from relay/relay.ts (with its coturn) and
 * peers from node/peer.ts, whose TURN client service asks the relay, keeps and renews what it gets, and lets it expire.
 */
import { createHash, createHmac } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { createPeer } from '../../node/peer.ts'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import { NotConnectedError, RateLimitedError, TurnUnavailableError } from '../../protocols/turn/index.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { TurnClient, TurnServerInit } from '../../protocols/turn/index.ts'
import type { Relay } from '../../relay/relay.ts'
import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']
/** Short-lived credentials, so that renewal and expiry happen within a test. */
const TTL = 10

function turnOf (peer: PeerNode): TurnClient {
  const service = peer.services.turn as TurnClient | undefined
  if (service == null) { throw new Error('no TURN client service on the peer') }
  return service
}

async function rejection (p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

describe('TURN credentials over libp2p', function () {
  this.timeout(90_000)
  const dataDir = mkdtempSync(join(tmpdir(), 'freeflow-turn-'))
  let relay: Relay
  let relayAddr: string
  const peers: PeerNode[] = []
  const others: Libp2p[] = []

  async function peer (bootstrap?: string[]): Promise<PeerNode> {
    const p = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN, bootstrap })
    peers.push(p)
    return p
  }

  /** A relay node with only the credentials service, configured directly (limits, availability). */
  async function bareRelay (init: Partial<TurnServerInit>): Promise<Libp2p> {
    const node = await createLibp2p(overlayOptions({
      role: 'relay',
      privateKey: await generateKeyPair('Ed25519'),
      listen: LISTEN,
      transports: [tcp()],
      turnServer: { secret: 'a test secret', urls: () => ['turn:192.0.2.1:3478?transport=udp'], ...init }
    }))
    others.push(node)
    return node
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN, dataDir, turn: { port: 0, allowPrivate: true, credentialTtl: TTL } })
    expect(relay.turn.status().status, relay.turn.status().reason).to.equal('up')
    relayAddr = relay.node.getMultiaddrs()[0].toString()
  })

  afterEach(async () => {
    await Promise.all([...peers.splice(0), ...others.splice(0)].map(async n => n.stop()))
  })

  after(async () => {
    await relay?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('a peer connected to the relay gets its URLs and a credential bound to its PeerId, as coturn computes it', async () => {
    const p = await peer([relayAddr])
    const turn = turnOf(p)
    await until('credentials from the relay', () => turn.iceServers().length > 0)
    const [server] = turn.iceServers()
    expect(server.urls).to.deep.equal(relay.turn.status().urls)
    expect(server.urls).to.include.members([relay.turn.status().urls[0]])
    const userId = createHash('sha256').update(p.peerId.toMultihash().bytes).digest().subarray(0, 8).toString('hex')
    const [expiry, id] = String(server.username).split(':')
    expect(id).to.equal(userId)
    expect(Number(expiry)).to.be.within(Date.now() / 1000 + TTL - 5, Date.now() / 1000 + TTL + 1)
    expect(server.credential).to.equal(createHmac('sha1', relay.turn.secret ?? '').update(String(server.username)).digest('base64'))
    expect(turn.credentials()[0].relay.equals(relay.node.peerId)).to.equal(true)
  })

  it('renews them before they expire, while connected', async () => {
    const p = await peer([relayAddr])
    const turn = turnOf(p)
    const seen: string[] = []
    turn.addEventListener('change', ({ detail }) => { if (detail.length > 0) { seen.push(String(detail[0].username)) } })
    await until('credentials', () => seen.length > 0)
    await until('renewed credentials', () => new Set(seen).size >= 2, TTL * 1000 + 10_000)
    expect(turn.iceServers()).to.have.lengthOf(1)
  })

  it('keeps them when the connection drops, until they expire; then the list is empty', async () => {
    const p = await peer()
    const turn = turnOf(p)
    const changes: number[] = []
    turn.addEventListener('change', ({ detail }) => { changes.push(detail.length) })
    await p.dial(multiaddr(relayAddr))
    await until('credentials', () => turn.iceServers().length === 1)
    await relay.node.hangUp(p.peerId)
    await until('disconnected', () => p.getConnections(relay.node.peerId).length === 0)
    expect(turn.iceServers()).to.have.lengthOf(1)
    await until('expired', () => turn.iceServers().length === 0 && changes.at(-1) === 0, TTL * 1000 + 10_000)
  })

  it('a peer without a connection to the relay gets nothing', async () => {
    const p = await peer()
    const turn = turnOf(p)
    const err = await rejection(turn.request(relay.node.peerId))
    expect(err).to.be.instanceOf(NotConnectedError)
    expect(turn.iceServers()).to.deep.equal([])
  })

  it('a relay without TURN gives nothing', async () => {
    const plain = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN })
    try {
      expect(plain.turn.status().status).to.equal('off')
      const p = await peer()
      await p.dial(plain.node.getMultiaddrs()[0])
      const err = await rejection(turnOf(p).request(plain.node.peerId))
      expect(err.name).to.equal('UnsupportedProtocolError')
      expect(turnOf(p).iceServers()).to.deep.equal([])
    } finally {
      await plain.stop()
    }
  })

  it('one PeerId asking too often is told to wait', async () => {
    const p = await peer()
    const turn = turnOf(p)
    await p.dial(multiaddr(relayAddr))
    let ok = 0
    let refused: any
    for (let i = 0; i < 12 && refused == null; i++) {
      try {
        await turn.request(relay.node.peerId)
        ok++
      } catch (err) {
        refused = err
      }
    }
    expect(refused).to.be.instanceOf(RateLimitedError)
    expect(refused.retryAfter).to.be.within(1, 60)
    expect(ok).to.be.at.most(10)
  })

  it('one address asking too often, over several PeerIds, is told to wait', async () => {
    const bare = await bareRelay({ maxRequestsPerIp: 3, maxRequestsPerPeer: 100 })
    const [a, b] = [await peer(), await peer()]
    await a.dial(bare.getMultiaddrs()[0])
    await b.dial(bare.getMultiaddrs()[0])
    const ask = async (p: PeerNode, who: PeerId): Promise<any> => turnOf(p).request(who).then(() => undefined, (err) => err)
    let refused: any
    for (let i = 0; i < 5 && refused == null; i++) { refused = await ask(a, bare.peerId) }
    expect(refused).to.be.instanceOf(RateLimitedError)
    expect(await ask(b, bare.peerId)).to.be.instanceOf(RateLimitedError)
  })

  it('a relay whose TURN server is down says so, and the peer keeps nothing', async () => {
    const bare = await bareRelay({ available: () => false })
    const p = await peer()
    await p.dial(bare.getMultiaddrs()[0])
    const err = await rejection(turnOf(p).request(bare.peerId))
    expect(err).to.be.instanceOf(TurnUnavailableError)
    expect(err.retryAfter).to.be.greaterThan(0)
    expect(turnOf(p).iceServers()).to.deep.equal([])
  })

  it('stopping the peer ends the service: nothing kept, nothing pending', async () => {
    const p = await peer([relayAddr])
    const turn = turnOf(p)
    await until('credentials', () => turn.iceServers().length > 0)
    await p.stop()
    expect(turn.credentials()).to.deep.equal([])
  })
})
