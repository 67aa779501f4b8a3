/**
 * Perfect negotiation (protocols/call/session.ts) and labelled tracks (media.ts) between two real RTCPeerConnections
 * in this process: werift's, through node/werift-pc.ts, as the recorder uses it. The two sides are wired to each
 * other's `send` through a link this test controls: it can hold signals and release them in a chosen order, reorder
 * them, or lose them, the way a refused or cut signalling stream does.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { MediaStream, MediaStreamTrack } from 'werift'
import { RTCPeerConnectionForNode } from '../../node/werift-pc.ts'
import { PeerMedia } from '../../protocols/call/media.ts'
import { originOf } from '../../protocols/call/sdp.ts'
import { PeerSession } from '../../protocols/call/session.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { until } from '../helpers/assert.ts'
import type { RemoteTrackEvent, StreamKind } from '../../protocols/call/index.ts'
import type { Signal } from '../../protocols/call/pb/call.ts'
import type { PeerId } from '@libp2p/interface'

const log = defaultLogger().forComponent('freeflow:call:test')

/** One direction of the signalling path: passes signals on in order, or holds them, or loses them. */
class Link {
  mode: 'pass' | 'hold' | 'drop' = 'pass'
  held: Signal[] = []
  /** Everything sent this way, delivered or not. */
  readonly sent: Signal[] = []
  /** Signals matching this are lost, whatever the mode. */
  lose?: (signal: Signal) => boolean
  to?: Side

  send (signal: Signal): void {
    this.sent.push(signal)
    if (this.lose?.(signal) === true || this.mode === 'drop') { return }
    if (this.mode === 'hold') {
      this.held.push(signal)
      return
    }
    // a stream delivers later, never synchronously
    setImmediate(() => { this.to?.receive(signal) })
  }

  /** Deliver what was held (those matching `first` ahead of the rest), and pass from now on. */
  release (first?: (signal: Signal) => boolean): void {
    const held = this.held.splice(0)
    const ordered = first == null ? held : [...held.filter(first), ...held.filter(s => !first(s))]
    this.mode = 'pass'
    for (const s of ordered) { this.to?.receive(s) }
  }

  descriptions (type: 'offer' | 'answer'): Signal[] {
    return this.sent.filter(s => s.description?.type === type)
  }
}

/** One participant's half of a call: a session and its media, as protocols/call/call.ts puts them together. */
class Side {
  readonly session: PeerSession
  readonly media: PeerMedia
  readonly tracks: RemoteTrackEvent[] = []
  readonly signalling: string[] = []
  readonly streams = new Map<StreamKind, MediaStream>()

  constructor (readonly peerId: PeerId, remote: PeerId, readonly out: Link, stallInterval?: number) {
    this.session = new PeerSession({
      peerId: remote,
      polite: peerId.toString() < remote.toString(),
      RTCPeerConnection: RTCPeerConnectionForNode,
      rtcConfiguration: {},
      send: (signal) => { out.send(signal) },
      onTrack: (evt) => { this.media.onTrack(evt) },
      log,
      stallInterval
    })
    this.media = new PeerMedia({ peerId: remote, pc: this.session.pc, log })
    this.media.addEventListener('track', ({ detail }) => { this.tracks.push(detail) })
    this.session.pc.onsignalingstatechange = () => { this.signalling.push(this.session.pc.signalingState) }
  }

  receive (signal: Signal): void {
    if (signal.tracks.length > 0) { this.media.label(signal.tracks) }
    this.session.handle(signal)
  }

  /** Publish a stream: its label first, then its tracks (setStream in call.ts). */
  publish (kind: StreamKind, ...kinds: Array<'audio' | 'video'>): MediaStream {
    const stream = new MediaStream(kinds.map(k => new MediaStreamTrack({ kind: k })))
    this.streams.set(kind, stream as any)
    this.out.send({ tracks: [...this.streams].map(([k, s]) => ({ streamId: s.id, kind: k })) })
    this.media.setStream(kind, stream as any)
    return stream as any
  }

  got (kind: RemoteTrackEvent['kind']): boolean {
    return this.tracks.some(t => t.kind === kind)
  }

  get connected (): boolean {
    return this.session.state === 'connected'
  }

  get stable (): boolean {
    return this.session.pc.signalingState === 'stable'
  }

  close (): void {
    this.media.close()
    this.session.close()
  }
}

describe('call negotiation between two werift RTCPeerConnections', function () {
  this.timeout(60_000)
  let ids: [PeerId, PeerId]
  let sides: Side[] = []

  /** The polite side (smaller PeerId) and the impolite one, linked to each other. */
  function pair (options: { stallInterval?: number } = {}): { polite: Side, impolite: Side } {
    const [small, large] = ids
    const toLarge = new Link()
    const toSmall = new Link()
    const polite = new Side(small, large, toLarge, options.stallInterval)
    const impolite = new Side(large, small, toSmall, options.stallInterval)
    toLarge.to = impolite
    toSmall.to = polite
    sides.push(polite, impolite)
    return { polite, impolite }
  }

  before(async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    ids = a.toString() < b.toString() ? [a, b] : [b, a]
  })

  afterEach(() => {
    for (const s of sides) { s.close() }
    sides = []
  })

  it('a call comes up, and each side gets the other\'s camera and microphone as labelled tracks', async () => {
    const { polite, impolite } = pair()
    polite.publish('camera', 'video', 'audio')
    await until('connected', () => polite.connected && impolite.connected)
    expect(impolite.got('camera') && impolite.got('microphone')).to.equal(true)
    impolite.publish('camera', 'video', 'audio')
    await until('the impolite side\'s tracks reach the polite side', () => polite.got('camera') && polite.got('microphone'))
    expect(polite.tracks.every(t => t.peerId.equals(impolite.peerId))).to.equal(true)
  })

  for (const first of ['polite', 'impolite'] as const) {
    it(`glare: both sides offer at once, the ${first} side's offer is delivered first; the polite side rolls back and answers`, async () => {
      const { polite, impolite } = pair()
      polite.out.mode = 'hold'
      impolite.out.mode = 'hold'
      polite.publish('camera', 'video', 'audio')
      impolite.publish('camera', 'video', 'audio')
      await until('both sides hold an offer of their own', () =>
        polite.session.pc.signalingState === 'have-local-offer' && impolite.session.pc.signalingState === 'have-local-offer' &&
        polite.out.descriptions('offer').length > 0 && impolite.out.descriptions('offer').length > 0)
      const order = first === 'polite' ? [polite, impolite] : [impolite, polite]
      for (const side of order) { side.out.release() }
      await until('both connected and each has the other\'s camera', () =>
        polite.connected && impolite.connected && polite.got('camera') && impolite.got('camera') && polite.stable && impolite.stable)
      // the polite side gave way: from its own offer straight to the impolite side's
      const gaveWay = polite.signalling.indexOf('have-local-offer')
      expect(polite.signalling.slice(gaveWay + 1)).to.include('have-remote-offer')
      // the impolite side's first offer was answered, never rolled back for the other's
      const firstStable = impolite.signalling.indexOf('stable', impolite.signalling.indexOf('have-local-offer'))
      expect(impolite.signalling.slice(0, firstStable)).to.not.include('have-remote-offer')
    })
  }

  it('candidates that arrive before the description wait for it', async () => {
    const { polite, impolite } = pair()
    polite.out.mode = 'hold'
    polite.publish('camera', 'video')
    await until('the offer and its candidates are held', () =>
      polite.out.held.some(s => s.description != null) && polite.out.held.some(s => s.candidate != null && s.candidate.candidate !== ''))
    // the candidates overtake the offer
    polite.out.release(s => s.candidate != null)
    await until('connected', () => polite.connected && impolite.connected && impolite.got('camera'))
  })

  it('a screen shared once the call is up renegotiates, and reaches the other side as a labelled screen track', async () => {
    const { polite, impolite } = pair()
    polite.publish('camera', 'video', 'audio')
    impolite.publish('camera', 'video', 'audio')
    await until('connected', () => polite.connected && impolite.connected && polite.got('camera') && impolite.got('camera'))
    const offers = impolite.out.descriptions('offer').length + polite.out.descriptions('offer').length
    impolite.publish('screen', 'video')
    await until('the screen reaches the polite side', () => polite.got('screen'))
    const screen = polite.tracks.find(t => t.kind === 'screen')
    expect(screen?.stream.id).to.equal(impolite.streams.get('screen')?.id)
    expect(impolite.out.descriptions('offer').length + polite.out.descriptions('offer').length).to.be.above(offers)
  })

  it('a camera granted only after the call is up still reaches the other side', async () => {
    const { polite, impolite } = pair()
    // only the impolite side has media at first; the polite side joined without a camera
    impolite.publish('camera', 'video', 'audio')
    await until('connected', () => polite.connected && impolite.connected && polite.got('camera'))
    expect(impolite.got('camera')).to.equal(false)
    polite.publish('camera', 'video', 'audio')
    await until('the late camera reaches the impolite side', () => impolite.got('camera') && impolite.got('microphone'))
  })

  it('a lost answer: the offer is sent again while the call is not up, and the other side answers it again', async () => {
    const { polite, impolite } = pair({ stallInterval: 300 })
    // the first answer never arrives (sent on a stream that was then refused)
    let lost = 0
    impolite.out.lose = (s) => s.description?.type === 'answer' && lost++ === 0
    polite.publish('camera', 'video')
    await until('the offer answered', () => polite.stable && impolite.got('camera'), 30_000)
    expect(lost).to.be.above(1)
    expect(impolite.out.descriptions('answer').map(s => originOf(s.description!.sdp))).to.satisfy((o: string[]) => o.every(x => x === o[0]))
  })

  it('a description sent again after a lost stream is not applied again: an old answer never answers a newer offer', async () => {
    const { polite, impolite } = pair()
    polite.publish('camera', 'video')
    await until('connected', () => polite.connected && impolite.connected && polite.stable && impolite.stable)
    await polite.session.settled()
    await impolite.session.settled()
    // the polite side offers again (an ICE restart: same m-lines, new credentials); its offer is in flight...
    polite.out.mode = 'hold'
    const offersBefore = polite.out.descriptions('offer').length
    polite.session.restartIce()
    await until('a new offer', () => polite.out.descriptions('offer').length > offersBefore && polite.session.pc.signalingState === 'have-local-offer')
    // ...when the other side's stream is reopened and it says its last answer again
    const oldAnswer = originOf(impolite.out.descriptions('answer').at(-1)!.description!.sdp)
    impolite.session.resync()
    expect(originOf(impolite.out.descriptions('answer').at(-1)!.description!.sdp)).to.equal(oldAnswer)
    await sleep(100)
    await polite.session.settled()
    expect(polite.session.pc.signalingState, 'the old answer was not taken for the new offer').to.equal('have-local-offer')
    polite.out.release()
    await until('the new offer answered with a new answer', () => polite.stable && impolite.out.descriptions('answer').some(s => originOf(s.description!.sdp) !== oldAnswer))
    await until('connected after the restart', () => polite.connected && impolite.connected)
  })

  it('close ends the session: state closed, the connection closed, and nothing more is sent', async () => {
    const { polite, impolite } = pair()
    polite.publish('camera', 'video')
    await until('connected', () => polite.connected && impolite.connected)
    const states: string[] = []
    polite.session.addEventListener('peer-state', ({ detail }) => { states.push(detail.state) })
    polite.close()
    expect(states).to.deep.equal(['closed'])
    await until('the connection closed', () => polite.session.pc.signalingState === 'closed')
    const sent = polite.out.sent.length
    polite.session.resync()
    polite.session.restartIce()
    polite.media.setStream('screen', new MediaStream([new MediaStreamTrack({ kind: 'video' })]) as any)
    await sleep(200)
    expect(polite.out.sent.length).to.equal(sent)
  })
})
