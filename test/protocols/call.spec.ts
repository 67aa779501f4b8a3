/**
 * The call service between real libp2p nodes in this process (TCP on loopback, an in-process relay for the DHT), in a
 * real room, with werift's RTCPeerConnection (node/werift-pc.ts). What a signalling stream the other side refuses
 * does to a call, what hanging up leaves behind (nothing), and that a channel closed by bye stays closed.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { MediaStream as WeriftStream, MediaStreamTrack as WeriftTrack } from 'werift'
import { RTCPeerConnectionForNode } from '../../node/werift-pc.ts'
import { CALL_PROTOCOL } from '../../protocols/call/index.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { rejection, until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { Call, CallServiceApi, CallServiceInit, MediaStateEvent, PeerStateEvent, RemoteTrackEvent } from '../../protocols/call/index.ts'
import type { DirectConnections } from '../../protocols/direct/index.ts'
import type { Room, RoomServiceApi } from '../../protocols/room/index.ts'
import type { Relay } from '../../relay/relay.ts'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ room: RoomServiceApi, call: CallServiceApi, direct: DirectConnections }>

const BIN = fileURLToPath(new URL('../../../bin/freeflow.js', import.meta.url))

/** What one node's call has reported. */
class Seen {
  readonly tracks: RemoteTrackEvent[] = []
  readonly states: PeerStateEvent[] = []
  readonly media: MediaStateEvent[] = []

  constructor (call: Call) {
    call.addEventListener('track', ({ detail }) => { this.tracks.push(detail) })
    call.addEventListener('peer-state', ({ detail }) => { this.states.push(detail) })
    call.addEventListener('media-state', ({ detail }) => { this.media.push(detail) })
  }

  got (from: Node, kind: RemoteTrackEvent['kind']): boolean {
    return this.tracks.some(t => t.peerId.equals(from.peerId) && t.kind === kind)
  }

  state (of: Node): string | undefined {
    return this.states.filter(s => s.peerId.equals(of.peerId)).at(-1)?.state
  }
}

/** A camera stream as the recorder's werift would send one (no frames are needed for a track to arrive). */
function camera (): MediaStream {
  return new WeriftStream([new WeriftTrack({ kind: 'video' }), new WeriftTrack({ kind: 'audio' })]) as unknown as MediaStream
}

/** Call streams open between two nodes, either way. */
function callStreams (a: Node, b: Node): number {
  return a.getConnections(b.peerId).flatMap(c => c.streams).filter(s => s.protocol === CALL_PROTOCOL && s.status === 'open').length
}

describe('call service between two nodes', function () {
  this.timeout(120_000)
  let relay: Relay
  let key: string
  let nodes: Node[] = []
  const calls: Call[] = []

  async function node (call: CallServiceInit): Promise<Node> {
    const n = await peerNode<Node>(relay.node, await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0'], { call })
    nodes.push(n)
    return n
  }

  /** Two nodes in the room, each a verified member for the other. */
  async function members (initA: CallServiceInit = {}, initB: CallServiceInit = {}): Promise<{ a: Node, b: Node, ra: Room, rb: Room }> {
    const a = await node(initA)
    const b = await node(initB)
    const ra = await a.services.room.join(key, { name: 'A' })
    const rb = await b.services.room.join(key, { name: 'B' })
    await a.dial(b.getMultiaddrs()[0])
    await until('members of each other', () => ra.isMember(b.peerId) && rb.isMember(a.peerId))
    return { a, b, ra, rb }
  }

  function join (n: Node, room: Room): { call: Call, seen: Seen } {
    const call = n.services.call.join(room, { RTCPeerConnection: RTCPeerConnectionForNode })
    calls.push(call)
    return { call, seen: new Seen(call) }
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    key = (await promisify(execFile)(process.execPath, [BIN, 'room', 'new'])).stdout.trim()
  })

  afterEach(async () => {
    for (const c of calls.splice(0)) { c.hangUp() }
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  after(async () => {
    await relay?.stop()
  })

  it('a member that refused our first call streams (its call was not joined yet) still gets our labelled camera and media state', async () => {
    // B refuses a call stream 300 ms after it arrives when B has no call in the room: what a late joiner does while
    // its page is still joining, or any member whose side of the room handshake is late
    const { a, b, ra, rb } = await members({ stallInterval: 2_000 }, { memberWait: 300, stallInterval: 2_000 })
    const { call: callA, seen: seenA } = join(a, ra)
    callA.setStream('camera', camera())
    callA.setMediaState({ mic: true, camera: true, screen: false })
    // A's labels, media state, offer and candidates go out on a stream B refuses
    await sleep(1_500)
    const { call: callB, seen: seenB } = join(b, rb)
    callB.setStream('camera', camera())
    await until('A\'s camera and microphone reach B, labelled', () => seenB.got(a, 'camera') && seenB.got(a, 'microphone'))
    await until('B\'s camera reaches A', () => seenA.got(b, 'camera'))
    await until('both connected', () => seenA.state(b) === 'connected' && seenB.state(a) === 'connected')
    expect(seenB.media.some(m => m.peerId.equals(a.peerId) && m.camera && m.mic)).to.equal(true)
  })

  it('hanging up: the other side sees it closed, closes its own channel for good, and nothing of the call runs afterwards', async () => {
    const { a, b, ra, rb } = await members()
    const { call: callA, seen: seenA } = join(a, ra)
    const { call: callB, seen: seenB } = join(b, rb)
    callA.setStream('camera', camera())
    callB.setStream('camera', camera())
    await until('connected', () => seenA.state(b) === 'connected' && seenB.state(a) === 'connected')
    const [small, large] = a.peerId.toString() < b.peerId.toString() ? [a, b] : [b, a]
    expect(small.services.direct.dialling().map(String)).to.deep.equal([large.peerId.toString()])
    const pc = callA.peerConnection(b.peerId)!
    callA.hangUp()
    expect(callA.peerConnection(b.peerId)).to.equal(undefined)
    expect(seenA.state(b)).to.equal('closed')
    await until('B saw the bye', () => seenB.state(a) === 'closed')
    expect(callB.peerConnection(a.peerId)).to.equal(undefined)
    await until('A\'s connection closed', () => pc.signalingState === 'closed')
    // neither side wants a direct connection for this call any more, and the dialling loop has ended, mid-pause
    await until('no direct-connection loop left', () => a.services.direct.dialling().length === 0 && b.services.direct.dialling().length === 0, 5_000)
    expect(a.services.direct.wanted()).to.deep.equal([])
    expect(b.services.direct.wanted()).to.deep.equal([])
    await until('no call stream left between them', () => callStreams(a, b) === 0 && callStreams(b, a) === 0, 10_000)
    // B's channel to A was closed by the bye: a dropped connection must not make it open again
    await b.hangUp(a.peerId)
    await sleep(3_000)
    expect(callStreams(a, b) + callStreams(b, a), 'a call stream after the bye').to.equal(0)
    expect(seenB.states.filter(s => s.peerId.equals(a.peerId)).map(s => s.state).at(-1)).to.equal('closed')
  })

  it('a second join replaces the first, and a member that joins the call again gets a fresh session', async () => {
    const { a, b, ra, rb } = await members()
    const { call: first } = join(a, ra)
    const { seen: seenB } = join(b, rb)
    first.setStream('camera', camera())
    await until('B gets A\'s camera', () => seenB.got(a, 'camera'))
    const { call: second } = join(a, ra)
    expect(first.peerConnection(b.peerId)).to.equal(undefined)
    second.setStream('camera', camera())
    const before = seenB.tracks.length
    await until('B gets A\'s camera from the new call', () => seenB.tracks.length > before && seenB.state(a) === 'connected')
    expect(seenB.states.filter(s => s.peerId.equals(a.peerId)).map(s => s.state)).to.include.members(['closed', 'calling', 'connected'])
  })

  it('path() says how the call is carried, and honours its signal', async () => {
    const { a, b, ra, rb } = await members()
    const { call: callA, seen: seenA } = join(a, ra)
    join(b, rb)
    callA.setStream('camera', camera())
    await until('connected', () => seenA.state(b) === 'connected')
    const path = await callA.path(b.peerId)
    expect(path?.signalling.relayed).to.equal(false)
    expect(path?.signalling.addr).to.include('/tcp/')
    const aborted = new AbortController()
    aborted.abort(new Error('no longer needed'))
    expect((await rejection(callA.path(b.peerId, { signal: aborted.signal }))).message).to.equal('no longer needed')
  })

  it('stopping the node hangs up its calls: the other side sees the participant closed', async () => {
    const { a, b, ra, rb } = await members()
    const { call: callA } = join(a, ra)
    const { seen: seenB } = join(b, rb)
    callA.setStream('camera', camera())
    await until('connected', () => seenB.state(a) === 'connected')
    await a.stop()
    await until('B saw A leave the call', () => seenB.state(a) === 'closed')
    expect(callA.peerConnection(b.peerId)).to.equal(undefined)
  })
})
