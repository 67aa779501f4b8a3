/* eslint-disable no-console -- the spec prints what each attack got through, the queue and the heap, for the log */
/**
 * A hostile member against the call's signalling, with real libp2p nodes in this process: a victim V in a call with an
 * honest member C (werift's RTCPeerConnection, C's camera and later screen reach V), and a member H of the same room
 * that speaks /freeflow/call/1.0.0 by hand. H sends an offer storm, oversized descriptions, ten thousand candidates
 * and a flood of signals; each is bounded (docs/protocols/call.md, Limits), V stays up with a flat heap, and its call
 * with C goes on (a screen share started afterwards still reaches V). And after H's bye, V's channel to H is closed
 * and opens no stream of its own until H calls again.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pbStream } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { MediaStream as WeriftStream, MediaStreamTrack as WeriftTrack } from 'werift'
import { NodeRTCPeerConnection, RTCPeerConnectionForNode } from '../../node/werift-pc.ts'
import { CALL_PROTOCOL, DESCRIPTION_BURST, DESCRIPTIONS_PER_SECOND, MAX_M_LINES, MAX_QUEUED_SIGNALS, MAX_REMOTE_CANDIDATES } from '../../protocols/call/constants.ts'
import { HelloCodec, SignalCodec } from '../../protocols/call/messages.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { Call, CallServiceApi, RemoteTrackEvent } from '../../protocols/call/index.ts'
import type { Signal } from '../../protocols/call/pb/call.ts'
import type { PeerSession } from '../../protocols/call/session.ts'
import type { DirectConnections } from '../../protocols/direct/index.ts'
import type { Room, RoomServiceApi } from '../../protocols/room/index.ts'
import type { Relay } from '../../relay/relay.ts'
import type { Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ room: RoomServiceApi, call: CallServiceApi, direct: DirectConnections }>

const BIN = fileURLToPath(new URL('../../../bin/freeflow.js', import.meta.url))

/** werift's RTCPeerConnection, counting what the victim applies (instrumented, not replaced). */
class Counting extends NodeRTCPeerConnection {
  remoteDescriptions = 0
  candidates = 0

  override async setRemoteDescription (description: any): Promise<void> {
    this.remoteDescriptions++
    await super.setRemoteDescription(description)
  }

  override async addIceCandidate (candidate?: any): Promise<void> {
    this.candidates++
    await super.addIceCandidate(candidate)
  }
}

function camera (): MediaStream {
  return new WeriftStream([new WeriftTrack({ kind: 'video' }), new WeriftTrack({ kind: 'audio' })]) as unknown as MediaStream
}

function screen (): MediaStream {
  return new WeriftStream([new WeriftTrack({ kind: 'video' })]) as unknown as MediaStream
}

function heapMiB (): number {
  (globalThis as { gc?(): void }).gc?.()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

/** A stream H opened to V: the Signal side of it, and whether V reset it. */
interface Outbound { stream: Stream, pb: ProtobufMessageStream<Signal, Stream>, reset(): boolean }

/** A stream V opened to H, as H's own handler reads it. */
interface FromVictim { stream: Stream, signals: number }

describe('call signalling against a hostile member', function () {
  this.timeout(180_000)
  let relay: Relay
  let key: string
  let v: Node
  let c: Node
  let rv: Room
  let callV: Call
  let callC: Call
  const nodes: Node[] = []
  const tracksV: RemoteTrackEvent[] = []

  async function node (): Promise<Node> {
    const n = await peerNode<Node>(relay.node, await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0'], { call: {} })
    nodes.push(n)
    return n
  }

  /** A member H whose call protocol is its own handler (it records the streams V opens to it), connected to V. */
  async function hostile (): Promise<{ h: Node, rh: Room, fromVictim: FromVictim[] }> {
    const h = await node()
    const fromVictim: FromVictim[] = []
    await h.handle(CALL_PROTOCOL, async (stream, connection) => {
      // C calls H too: only V's streams count
      if (!connection.remotePeer.equals(v.peerId)) {
        stream.abort(new Error('H takes calls from V only'))
        return
      }
      const entry: FromVictim = { stream, signals: 0 }
      fromVictim.push(entry)
      const pb = pbStream(stream)
      try {
        await pb.read(HelloCodec)
        while (true) {
          await pb.read(SignalCodec)
          entry.signals++
        }
      } catch {
        // V reset the stream, or the test ended: the reader is done
      }
    }, { runOnLimitedConnection: true, force: true })
    const rh = await h.services.room.join(key, { name: 'H' })
    await h.dial(v.getMultiaddrs()[0])
    await until('H and V members of each other', () => rh.isMember(v.peerId) && rv.isMember(h.peerId))
    await until('V calls H', () => fromVictim.some(s => s.signals > 0))
    return { h, rh, fromVictim }
  }

  /** H opens a call stream to V and says hello. */
  async function open (h: Node, rh: Room): Promise<Outbound> {
    const stream = await h.dialProtocol(v.peerId, CALL_PROTOCOL, { runOnLimitedConnection: true })
    const lp = pbStream(stream, { maxDataLength: 4 * 1024 * 1024 })
    await lp.write({ roomId: new Uint8Array(rh.roomId) }, HelloCodec)
    return { stream, pb: lp.pb(SignalCodec), reset: () => stream.status === 'reset' || stream.status === 'aborted' }
  }

  /** Write every signal as fast as the stream takes them; stops when V resets the stream. How many were written. */
  async function flood (out: Outbound, signals: Iterable<Signal>): Promise<number> {
    let n = 0
    try {
      for (const s of signals) {
        await out.pb.write(s)
        n++
      }
    } catch {
      // V reset the stream: the storm is over
    }
    return n
  }

  /** A real offer from werift, and the same offer as a newer version (a new description each). */
  async function offerSdp (mLines: number = 2): Promise<(version: number) => string> {
    const pc = new RTCPeerConnectionForNode()
    for (let i = 0; i < mLines; i++) { pc.addTransceiver(i % 2 === 0 ? 'audio' : 'video', { direction: 'recvonly' }) }
    await pc.setLocalDescription()
    const sdp = pc.localDescription!.sdp
    pc.close()
    return version => sdp.replace(/^o=(\S+) (\S+) (\S+)/m, (_, user, id) => `o=${user} ${id} ${version}`)
  }

  /** V's session with H, while V has one. */
  function session (h: Node): PeerSession | undefined {
    return (callV as any).participants.get(h.peerId.toString())?.session
  }

  /** Until V's session with H has processed all it took (or is gone). */
  async function settled (h: Node): Promise<void> {
    await session(h)?.settled()
  }

  function pcOf (h: Node): Counting {
    return callV.peerConnection(h.peerId) as unknown as Counting
  }

  /** The largest queue V's session with H had while `run` ran: looked at after every signal it was handed. */
  async function maxQueued (h: Node, run: () => Promise<void>): Promise<number> {
    let max = 0
    const s = session(h)
    if (s == null) { throw new Error('V has no session with H') }
    const handle = s.handle
    s.handle = (signal) => {
      try {
        handle.call(s, signal)
      } finally {
        max = Math.max(max, s.queued)
      }
    }
    try {
      await run()
    } finally {
      s.handle = handle
    }
    return max
  }

  /** V's call with C goes on: C is connected for V, and a screen share C starts now reaches V. */
  async function honestCallWorks (): Promise<void> {
    expect(callV.peerConnection(c.peerId)?.connectionState).to.equal('connected')
    const before = tracksV.filter(t => t.peerId.equals(c.peerId) && t.kind === 'screen').length
    callC.setStream('screen', screen())
    await until('C\'s new screen share reaches V', () => tracksV.filter(t => t.peerId.equals(c.peerId) && t.kind === 'screen').length > before, 30_000)
    callC.setStream('screen', null)
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    key = (await promisify(execFile)(process.execPath, [BIN, 'room', 'new'])).stdout.trim()
    v = await node()
    c = await node()
    rv = await v.services.room.join(key, { name: 'V' })
    const rc = await c.services.room.join(key, { name: 'C' })
    await c.dial(v.getMultiaddrs()[0])
    await until('V and C members of each other', () => rv.isMember(c.peerId) && rc.isMember(v.peerId))
    // V sends nothing, so that it never offers to H: every offer of H's is one V must consider, none a collision
    callV = v.services.call.join(rv, { RTCPeerConnection: Counting as unknown as typeof globalThis.RTCPeerConnection })
    callV.addEventListener('track', ({ detail }) => { tracksV.push(detail) })
    callC = c.services.call.join(rc, { RTCPeerConnection: RTCPeerConnectionForNode })
    callC.setStream('camera', camera())
    await until('C\'s camera reaches V', () => tracksV.some(t => t.peerId.equals(c.peerId) && t.kind === 'camera'))
    await until('V and C connected', () => callV.peerConnection(c.peerId)?.connectionState === 'connected')
  })

  after(async () => {
    callV?.hangUp()
    callC?.hangUp()
    await Promise.all(nodes.map(async n => n.stop()))
    await relay?.stop()
  })

  it('an offer storm: 500 offers as fast as H can write them are applied at the description rate, and V answers no more', async () => {
    const { h, rh, fromVictim } = await hostile()
    const offer = await offerSdp()
    const heapBefore = heapMiB()
    const started = Date.now()
    const out = await open(h, rh)
    let written = 0
    const max = await maxQueued(h, async () => {
      written = await flood(out, Array.from({ length: 500 }, (_, i) => ({ tracks: [], description: { type: 'offer', sdp: offer(i + 2) } })))
      await settled(h)
    })
    const seconds = (Date.now() - started) / 1_000
    const applied = pcOf(h).remoteDescriptions
    const answers = fromVictim.reduce((n, s) => n + s.signals, 0)
    const heapAfter = heapMiB()
    console.log(`offer storm: ${written} offers written in ${seconds.toFixed(1)} s, ${applied} applied, queue at most ${max}, ${answers} signals back to H; heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MiB`)
    expect(applied, 'offers applied').to.be.at.most(DESCRIPTION_BURST + Math.ceil(seconds * DESCRIPTIONS_PER_SECOND) + 1)
    expect(written, 'the storm was written whole (V kept reading)').to.equal(500)
    expect(max).to.be.at.most(MAX_QUEUED_SIGNALS)
    expect(heapAfter - heapBefore, 'heap growth, MiB').to.be.below(64)
    await honestCallWorks()
  })

  it('oversized descriptions (1 MiB, 200 KiB, 200 m-lines) reset H\'s stream and are never applied', async () => {
    const { h, rh } = await hostile()
    const offer = await offerSdp()
    const many = await offerSdp(200)
    const heapBefore = heapMiB()
    const cases: Array<[string, string]> = [
      ['1 MiB', offer(2) + 'a=x-pad:' + 'x'.repeat(1024 * 1024) + '\r\n'],
      ['200 KiB', offer(3) + 'a=x-pad:' + 'x'.repeat(200 * 1024) + '\r\n'],
      ['200 m-lines', many(4)]
    ]
    for (const [what, sdp] of cases) {
      const out = await open(h, rh)
      await flood(out, [{ tracks: [], description: { type: 'offer', sdp } }])
      await until(`V reset the stream that carried the ${what} description`, () => out.reset(), 10_000)
      console.log(`oversized description: ${what} (${sdp.length} bytes, ${sdp.match(/^m=/gm)?.length} m-lines): stream ${out.stream.status}`)
    }
    await settled(h)
    const heapAfter = heapMiB()
    console.log(`oversized descriptions: ${pcOf(h).remoteDescriptions} applied, ${pcOf(h).getTransceivers().length} transceivers; heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MiB`)
    expect(pcOf(h).remoteDescriptions).to.equal(0)
    expect(pcOf(h).getTransceivers().length).to.be.at.most(MAX_M_LINES)
    await honestCallWorks()
  })

  it('10,000 candidates: at most MAX_REMOTE_CANDIDATES are applied per ICE generation', async () => {
    const { h, rh } = await hostile()
    const offer = await offerSdp()
    const out = await open(h, rh)
    await flood(out, [{ tracks: [], description: { type: 'offer', sdp: offer(2) } }])
    await until('H\'s offer applied', () => pcOf(h).remoteDescriptions === 1)
    await settled(h)
    const heapBefore = heapMiB()
    const candidates = (function * () {
      for (let i = 0; i < 10_000; i++) {
        yield { tracks: [], candidate: { candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${1 + (i % 250)} ${20_000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } }
      }
    })()
    let written = 0
    const max = await maxQueued(h, async () => {
      written = await flood(out, candidates)
      await sleep(500)
      await settled(h)
    })
    const heapAfter = heapMiB()
    console.log(`candidate storm: ${written} written, ${pcOf(h).candidates} applied, queue at most ${max}, stream ${out.stream.status}; heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MiB`)
    expect(pcOf(h).candidates).to.be.at.most(MAX_REMOTE_CANDIDATES)
    expect(max).to.be.at.most(MAX_QUEUED_SIGNALS)
    expect(heapAfter - heapBefore, 'heap growth, MiB').to.be.below(64)
    await honestCallWorks()
  })

  it('a flood faster than it can be applied (an offer, then 10,000 copies of one candidate) resets H\'s stream at MAX_QUEUED_SIGNALS waiting', async () => {
    const { h, rh } = await hostile()
    const offer = await offerSdp()
    const out = await open(h, rh)
    const heapBefore = heapMiB()
    const signals = (function * () {
      yield { tracks: [], description: { type: 'offer', sdp: offer(2) } }
      for (let i = 0; i < 10_000; i++) {
        yield { tracks: [], candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 20000 typ host', sdpMid: '0', sdpMLineIndex: 0 } }
      }
    })()
    let written = 0
    const max = await maxQueued(h, async () => {
      written = await flood(out, signals)
      await until('V reset H\'s stream', () => out.reset(), 10_000).catch(() => {})
      await settled(h)
    })
    const heapAfter = heapMiB()
    console.log(`signal flood: ${written} of 10,001 written before V reset the stream (${out.stream.status}), queue at most ${max}; heap ${heapBefore.toFixed(1)} -> ${heapAfter.toFixed(1)} MiB`)
    expect(max).to.be.at.most(MAX_QUEUED_SIGNALS)
    expect(out.reset(), 'V reset the stream').to.equal(true)
    await honestCallWorks()
  })

  it('after H\'s bye, V\'s channel to H is closed and opens no stream until H calls again', async () => {
    const { h, rh, fromVictim } = await hostile()
    const victimStreams = (): Stream[] => v.getConnections(h.peerId).flatMap(conn => conn.streams)
      .filter(s => s.protocol === CALL_PROTOCOL && s.direction === 'outbound' && s.status === 'open')
    expect(victimStreams()).to.have.lengthOf(1)
    const out = await open(h, rh)
    await flood(out, [{ tracks: [], bye: true }])
    // H keeps its ends open: V's stream to H and H's stream that said bye are cut STREAM_LINGER after V closed its ends
    await until('V closed its stream to H', () => victimStreams().length === 0, 10_000)
    await until('the stream H said bye on is closed', () => out.stream.status !== 'open', 10_000)
    const opened = fromVictim.length
    // the streams H holds from V's side are cut too: a lost stream is one a live channel opens again
    for (const s of fromVictim) { s.stream.abort(new Error('cut by H')) }
    await sleep(3_000)
    console.log(`bye: V's call streams to H open ${victimStreams().length}, opened by V ${fromVictim.length} (${opened} before the bye)`)
    expect(fromVictim.length, 'streams V opened to H after the bye').to.equal(opened)
    expect(callV.peerConnection(h.peerId)).to.equal(undefined)
    // H calls again (a new hello and signals): a new session, and V's channel opens again
    const again = await open(h, rh)
    await flood(again, [{ tracks: [], state: { mic: false, camera: false, screen: false } }])
    await until('V calls H again', () => fromVictim.length > opened && callV.peerConnection(h.peerId) != null, 15_000)
    await honestCallWorks()
  })
})
