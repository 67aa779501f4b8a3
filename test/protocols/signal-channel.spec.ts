/**
 * The call's signalling channel when the media path breaks (`SignalChannel.pathBroke`), with real nodes in this
 * process: two peers that met through an in-process relay and have a direct WebRTC connection. Signalling on that
 * connection leaves it at once (it is closed, and the next signals go out on a new stream, after a resync); a direct
 * TCP connection, whose path is not the media's, is kept.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pbStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { MAX_OUTBOUND_SIGNALS } from '../../protocols/call/constants.ts'
import { CALL_PROTOCOL } from '../../protocols/call/index.ts'
import { HelloCodec, SignalCodec } from '../../protocols/call/messages.ts'
import { SignalChannel } from '../../protocols/call/signal-channel.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { DirectConnections } from '../../protocols/direct/index.ts'
import type { Connection, PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ direct: DirectConnections }>

const ROOM = new Uint8Array(16).fill(7)

/** A call stream the other side accepted: the connection it came on, the signals read, why it ended. */
interface Accepted { connection: Connection, signals: number, ended?: string }

/** A channel whose first signal arrived, what the other side accepted, and how often the channel resynced. */
interface Signalling {
  c: SignalChannel
  streams: Accepted[]
  resyncs(): number
}

describe('call signalling when the media path breaks', function () {
  this.timeout(90_000)
  let relay: Awaited<ReturnType<typeof createRelay>>
  let nodes: Node[] = []
  let channels: SignalChannel[] = []

  async function node (privateKey: PrivateKey, listen: string[]): Promise<Node> {
    const n = await peerNode<Node>(relay.node, privateKey, listen)
    nodes.push(n)
    return n
  }

  /** Two nodes, the first the dialler of direct connections (smaller PeerId). */
  async function pair (listen: string[]): Promise<[Node, Node]> {
    const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
    keys.sort((a, b) => peerIdFromPrivateKey(a).toString() < peerIdFromPrivateKey(b).toString() ? -1 : 1)
    return [await node(keys[0], listen), await node(keys[1], listen)]
  }

  /** Each call stream `n` accepts: the connection it came on, and the signals read from it. */
  async function accept (n: Node): Promise<Accepted[]> {
    const streams: Accepted[] = []
    await n.handle(CALL_PROTOCOL, async (stream, connection) => {
      const entry: Accepted = { connection, signals: 0 }
      streams.push(entry)
      const pb = pbStream(stream)
      try {
        await pb.read(HelloCodec)
        while (true) {
          await pb.read(SignalCodec)
          entry.signals++
        }
      } catch (err: any) {
        entry.ended = err.message ?? String(err)
      }
    }, { runOnLimitedConnection: true })
    return streams
  }

  const signal = { tracks: [], state: { mic: true, camera: true, screen: false } }

  /** `a`'s channel to `b`, once its first signal arrived; what `b` accepted, and how often the channel resynced. */
  async function signalling (a: Node, b: Node): Promise<Signalling> {
    const streams = await accept(b)
    let resyncs = 0
    const c = new SignalChannel({
      peerId: b.peerId,
      roomId: ROOM,
      connectionManager: (a as any).components.connectionManager,
      maxMessageSize: 64 * 1024,
      openTimeout: 5_000,
      provenAfter: 1_000,
      log: (a as any).components.logger.forComponent('test:signal-channel'),
      onResync: () => { resyncs++ },
      onNoCall: () => { throw new Error('the other side speaks the call protocol') }
    })
    channels.push(c)
    c.send(signal)
    await until('the first signal arrived', () => streams.some(s => s.signals === 1))
    return { c, streams, resyncs: () => resyncs }
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  afterEach(async () => {
    await Promise.all(channels.map(async c => c.close()))
    channels = []
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  after(async () => {
    await relay?.stop()
  })

  it('leaves a direct WebRTC connection at once: it is closed, and signalling goes on a new stream after a resync', async () => {
    const [a, b] = await pair(['/p2p-circuit', '/webrtc'])
    await until('b is reachable through the relay', () => b.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit/webrtc')))
    await a.peerStore.merge(b.peerId, { multiaddrs: b.getMultiaddrs() })
    a.services.direct.want(b.peerId)
    await until('a direct connection', () => a.getConnections(b.peerId).some(c => c.limits == null && c.status === 'open'), 60_000)
    const { c, streams, resyncs } = await signalling(a, b)
    const first = c.connection
    expect(first?.limits, 'signalling is on the direct connection').to.equal(undefined)
    expect(first?.remoteAddr.toString()).to.include('/webrtc')

    c.pathBroke()
    expect(first?.status, 'the direct connection is closed at once').to.not.equal('open')
    c.send(signal)
    await until('a second stream carries signals', () => streams.length >= 2 && streams.at(-1)!.signals >= 1, 30_000)
    expect(resyncs(), 'the new stream began with a resync').to.equal(1)
    expect(streams.at(-1)?.connection.id).to.not.equal(first?.id)
  })

  it('keeps a direct TCP connection: its path is not the media\'s', async () => {
    const [a, b] = await pair(['/ip4/127.0.0.1/tcp/0'])
    await a.dial(b.getMultiaddrs()[0])
    const { c, streams, resyncs } = await signalling(a, b)
    const first = c.connection
    expect(first?.remoteAddr.toString()).to.include('/tcp/')
    c.pathBroke()
    c.send(signal)
    await until('the second signal arrived', () => streams[0].signals === 2)
    expect(first?.status).to.equal('open')
    expect(streams).to.have.lengthOf(1)
    expect(resyncs()).to.equal(0)
  })

  it('signals sent faster than they go out (a receiver that stops reading, then the pause before a new stream): the queue stays within MAX_OUTBOUND_SIGNALS, and the next stream starts with a resync', async () => {
    const [a, b] = await pair(['/ip4/127.0.0.1/tcp/0'])
    await a.dial(b.getMultiaddrs()[0])
    const streams: Accepted[] = []
    await b.handle(CALL_PROTOCOL, async (stream, connection) => {
      const entry: Accepted = { connection, signals: 0 }
      streams.push(entry)
      const pb = pbStream(stream)
      try {
        await pb.read(HelloCodec)
        // the first stream is never read after its hello: libp2p resets it at 4 MiB unread, and the channel pauses
        // before it opens another, while the call goes on sending
        if (streams.length === 1) { await new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) }) }
        while (true) {
          await pb.read(SignalCodec)
          entry.signals++
        }
      } catch (err: any) {
        entry.ended = err.message ?? String(err)
      }
    }, { runOnLimitedConnection: true })
    let resyncs = 0
    const c = new SignalChannel({
      peerId: b.peerId,
      roomId: ROOM,
      connectionManager: (a as any).components.connectionManager,
      maxMessageSize: 64 * 1024,
      openTimeout: 5_000,
      provenAfter: 1_000,
      log: (a as any).components.logger.forComponent('test:signal-channel'),
      onResync: () => { resyncs++ },
      onNoCall: () => { throw new Error('the other side speaks the call protocol') }
    })
    channels.push(c)
    let max = 0
    const big = { tracks: [], description: { type: 'offer', sdp: 'x'.repeat(16 * 1024) } }
    // until the channel resyncs on a new stream (onResync, called while this loop waits)
    for (let i = 0; i < 2_000; i++) {
      if (resyncs > 0) { break }
      c.send(big)
      max = Math.max(max, c.queued)
      await new Promise(resolve => setImmediate(resolve))
    }
    c.send(signal)
    await until('a second stream carries signals', () => streams.length >= 2 && streams[1].signals >= 1, 30_000)
    // eslint-disable-next-line no-console
    console.log(`receiver that stops reading: queue at most ${max}, first stream ${streams[0].ended ?? 'open'}, ${resyncs} resync`)
    expect(max).to.be.at.most(MAX_OUTBOUND_SIGNALS)
    expect(streams[0].ended, 'the first stream was dropped').to.not.equal(undefined)
    expect(resyncs, 'the second stream began with a resync').to.equal(1)
  })
})
