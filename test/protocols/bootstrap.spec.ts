/**
 * The bootstrap service with real libp2p nodes in this process: a relay to reach, and addresses where nothing
 * listens. It reports each relay, redials a dropped one, retries an unreachable one, and nothing of it runs after the
 * node stops.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { createPeer } from '../../node/peer.ts'
import { parseBootstrap, InvalidBootstrapAddressError } from '../../protocols/bootstrap/index.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { BootstrapStatus } from '../../protocols/bootstrap/index.ts'
import type { Relay } from '../../relay/relay.ts'

const LISTEN = ['/ip4/127.0.0.1/tcp/0']

describe('bootstrap service', function () {
  this.timeout(60_000)
  let relay: Relay
  let peer: PeerNode | undefined

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN })
  })

  after(async () => {
    await relay.stop()
  })

  afterEach(async () => {
    await peer?.stop()
    peer = undefined
  })

  it('parses only multiaddrs that end in a peer id, with one sentence otherwise', () => {
    expect(() => parseBootstrap('/ip4/127.0.0.1/tcp/1')).to.throw(InvalidBootstrapAddressError, /must end in \/p2p/)
    expect(() => parseBootstrap('not an address')).to.throw(InvalidBootstrapAddressError, /not a multiaddr/)
    expect(() => parseBootstrap('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWnope')).to.throw(InvalidBootstrapAddressError, /invalid peer id/)
  })

  it('a malformed address fails the node\'s creation', async () => {
    let err: Error | undefined
    try {
      peer = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN, bootstrap: ['/ip4/127.0.0.1/tcp/1'] })
    } catch (e: any) {
      err = e
    }
    expect(err?.name).to.equal('InvalidBootstrapAddressError')
  })

  it('reaches a relay, says so once, and redials it when the connection drops', async () => {
    const addr = relay.node.getMultiaddrs()[0].toString()
    peer = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN, bootstrap: [addr] })
    const service = peer.services.bootstrap
    if (service == null) { throw new Error('no bootstrap service on the node') }
    const seen: BootstrapStatus[] = [...service.statuses()]
    service.addEventListener('status', ({ detail }) => { seen.push(detail) })
    const node = peer
    await until('connected to the relay', () => node.getConnections(relay.node.peerId).length > 0)
    await until('reported', () => seen.some(s => s.connected))
    await relay.node.hangUp(peer.peerId)
    await until('connected again after the relay hung up', () => node.getConnections(relay.node.peerId).length > 0)
    expect(seen.filter(s => s.connected)).to.have.lengthOf(1)
    expect(service.statuses()).to.deep.equal([{ addr, connected: true }])
  })

  it('an unreachable relay is reported at each failed dial and retried, and nothing dials after stop', async () => {
    const nobody = await generateKeyPair('Ed25519')
    // a port where nothing listens: every dial is refused at once, so the pauses are all the service's own
    const addr = `/ip4/127.0.0.1/tcp/9/p2p/${peerIdFromPrivateKey(nobody).toString()}`
    peer = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: LISTEN, bootstrap: { list: [addr], initialBackoff: 100, maxBackoff: 400 } })
    const service = peer.services.bootstrap
    if (service == null) { throw new Error('no bootstrap service on the node') }
    const failures: number[] = []
    service.addEventListener('status', ({ detail }) => {
      expect(detail.connected).to.equal(false)
      expect(detail.error).to.be.a('string')
      failures.push(Date.now())
    })
    await until('four failed dials', () => failures.length >= 4)
    await peer.stop()
    const count = failures.length
    await sleep(1_000)
    expect(failures.length, 'a dial after the node stopped').to.equal(count)
  })
})
