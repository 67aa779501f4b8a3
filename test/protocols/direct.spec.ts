/**
 * The direct-connection service with real nodes in this process: two peers that reach each other only through an
 * in-process relay get a direct WebRTC connection when the one with the smaller PeerId wants it; the other one only
 * waits; and a dialling loop ends as soon as its want is released, its signal aborts, or the node stops, even in the
 * middle of a long pause.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { DirectConnections, DirectInit } from '../../protocols/direct/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ direct: DirectConnections }>

/** Two keys, the one whose PeerId sorts first (the dialler) first. */
async function orderedKeys (): Promise<[PrivateKey, PrivateKey]> {
  const a = await generateKeyPair('Ed25519')
  const b = await generateKeyPair('Ed25519')
  return peerIdFromPrivateKey(a).toString() < peerIdFromPrivateKey(b).toString() ? [a, b] : [b, a]
}

describe('direct-connection service', function () {
  this.timeout(90_000)
  let relay: Awaited<ReturnType<typeof createRelay>>
  let nodes: Node[] = []

  async function node (privateKey: PrivateKey, direct: DirectInit = {}, listen = ['/p2p-circuit', '/webrtc']): Promise<Node> {
    const n = await peerNode<Node>(relay.node, privateKey, listen, { direct })
    nodes.push(n)
    return n
  }

  /** A peer id at an address where nothing answers (a documentation address), known to `n` as a /webrtc address. */
  async function unreachable (n: Node, sortsAfter: PeerId): Promise<PeerId> {
    while (true) {
      const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      if (id.toString() <= sortsAfter.toString()) { continue }
      await n.peerStore.merge(id, { multiaddrs: [multiaddr(`/ip4/192.0.2.1/tcp/4001/p2p/${relay.node.peerId}/p2p-circuit/webrtc/p2p/${id}`)] })
      return id
    }
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  after(async () => {
    await relay?.stop()
  })

  it('the smaller PeerId dials a wanted peer it only reaches through the relay, and gets a direct WebRTC connection', async () => {
    const [small, large] = await orderedKeys()
    const dialler = await node(small)
    const target = await node(large)
    await until('the target is reachable through the relay', () => target.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit/webrtc')))
    await dialler.peerStore.merge(target.peerId, { multiaddrs: target.getMultiaddrs() })
    expect(dialler.getConnections(target.peerId).filter(c => c.limits == null)).to.have.lengthOf(0)
    // the other side wants it too, but only waits to be dialled
    target.services.direct.want(dialler.peerId)
    expect(target.services.direct.dialling()).to.deep.equal([])
    const release = dialler.services.direct.want(target.peerId)
    expect(dialler.services.direct.dialling().map(String)).to.deep.equal([target.peerId.toString()])
    await until('a direct connection', () => dialler.getConnections(target.peerId).some(c => c.limits == null && c.status === 'open'), 60_000)
    const direct = dialler.getConnections(target.peerId).find(c => c.limits == null)
    expect(direct?.remoteAddr.toString()).to.include('/webrtc')
    release()
    await until('the loop ended', () => dialler.services.direct.dialling().length === 0, 5_000)
    expect(dialler.services.direct.wanted()).to.deep.equal([])
  })

  it('two wants for one peer keep one loop, until both are released', async () => {
    const [small] = await orderedKeys()
    const n = await node(small, { initialBackoff: 60_000, dialTimeout: 1_000 })
    const peer = await unreachable(n, n.peerId)
    const first = n.services.direct.want(peer)
    const second = n.services.direct.want(peer)
    expect(n.services.direct.dialling()).to.have.lengthOf(1)
    first()
    first()
    expect(n.services.direct.wanted().map(String)).to.deep.equal([peer.toString()])
    second()
    await until('the loop ended', () => n.services.direct.dialling().length === 0, 5_000)
    expect(n.services.direct.wanted()).to.deep.equal([])
  })

  for (const how of ['release', 'abort', 'stop'] as const) {
    it(`a loop in the middle of a 60 s pause ends at once on ${how}`, async () => {
      const [small] = await orderedKeys()
      const n = await node(small, { initialBackoff: 60_000, maxBackoff: 60_000, dialTimeout: 1_000, attempts: 1 })
      const peer = await unreachable(n, n.peerId)
      const controller = new AbortController()
      const release = n.services.direct.want(peer, { signal: controller.signal })
      expect(n.services.direct.dialling()).to.have.lengthOf(1)
      // the dial to a documentation address fails at once or at its 1 s deadline: then the loop pauses for 60 s
      await sleep(2_500)
      expect(n.services.direct.dialling()).to.have.lengthOf(1)
      if (how === 'release') { release() }
      if (how === 'abort') { controller.abort() }
      if (how === 'stop') {
        // stop() waits for the loops: it would wait out the pause if the pause could not be cut short
        await n.stop()
      }
      await until('the loop ended', () => n.services.direct.dialling().length === 0, 5_000)
      expect(n.services.direct.wanted()).to.deep.equal([])
    })
  }

  it('a want with a signal that has already aborted, or on a stopped node, starts nothing', async () => {
    const [small] = await orderedKeys()
    const n = await node(small)
    const peer = await unreachable(n, n.peerId)
    const controller = new AbortController()
    controller.abort()
    n.services.direct.want(peer, { signal: controller.signal })
    expect(n.services.direct.wanted()).to.deep.equal([])
    await n.stop()
    n.services.direct.want(peer)
    expect(n.services.direct.dialling()).to.deep.equal([])
  })
})
