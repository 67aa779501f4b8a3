/**
 * One call: a session with each member of the room, created when the member is present and dropped when it leaves,
 * says bye, or we hang up. Each participant has a PeerSession (negotiation), a PeerMedia (tracks), an outbound
 * SignalChannel, the inbound streams it reads from, and a want for a direct connection. Nothing of a participant
 * outlives its drop, and nothing of the call outlives `hangUp()`.
 */
import { TypedEventEmitter } from 'main-event'
import { isTurnServer } from '../turn/ice.ts'
import { sleep } from '../util/backoff.ts'
import { videoBudgetFor } from './budget.ts'
import { DESCRIPTION_BURST, DESCRIPTIONS_PER_SECOND } from './constants.ts'
import { CallEndedError } from './errors.ts'
import { PeerMedia } from './media.ts'
import { TokenBucket } from './rate.ts'
import { withStartBitrate } from './sdp.ts'
import { PeerSession } from './session.ts'
import { SignalChannel } from './signal-channel.ts'
import { mediaPath, signallingPath } from './stats.ts'
import type { Call, CallEvents, CallServiceComponents, CallServiceInit, IceConfigSource, MediaState, PathInfo, StreamKind } from './index.ts'
import type { Signal } from './pb/call.ts'
import type { MemberInfo, Room } from '../room/index.ts'
import type { AbortOptions, Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ProtobufMessageStream } from '@libp2p/utils'

/** How often an inbound call stream looks again whether a relay candidate can be had (media only through TURN), in ms. */
const RELAY_WAIT_POLL = 500

/** The service's settings a call uses (its ICE provider aside). */
export type CallConfig = Required<Omit<CallServiceInit, 'ice'>>

/** What one call is made with: the platform's RTCPeerConnection, where its ICE configuration comes from, the start bitrate. */
export interface CallSetup {
  RTCPeerConnection: typeof globalThis.RTCPeerConnection
  ice: IceConfigSource
  startBitrate: number
}

/** A provider that always gives the same configuration, and never changes. */
export function fixedIce (config: RTCConfiguration): IceConfigSource {
  return {
    configuration: () => ({ ...config, iceServers: [...(config.iceServers ?? [])] }),
    addEventListener: () => {},
    removeEventListener: () => {}
  }
}

/**
 * What a live connection keeps when its servers change: the rest of its configuration, as it reports it (a browser
 * refuses a setConfiguration that changes its certificates, bundle or mux policy, or drops its transport policy).
 */
function withServers (current: RTCConfiguration, iceServers: RTCIceServer[]): RTCConfiguration {
  const next: RTCConfiguration = { iceServers }
  if (current.iceTransportPolicy != null) { next.iceTransportPolicy = current.iceTransportPolicy }
  if (current.bundlePolicy != null) { next.bundlePolicy = current.bundlePolicy }
  if (current.rtcpMuxPolicy != null) { next.rtcpMuxPolicy = current.rtcpMuxPolicy }
  if (current.certificates != null) { next.certificates = current.certificates }
  if (current.iceCandidatePoolSize != null) { next.iceCandidatePoolSize = current.iceCandidatePoolSize }
  return next
}

interface Participant {
  peerId: PeerId
  session: PeerSession
  media: PeerMedia
  channel: SignalChannel
  /** Streams the participant opened to us, read until it is dropped. */
  inbound: Set<Stream>
  /** Aborted when the participant is dropped: ends its reads and its want for a direct connection. */
  dropped: AbortController
}

export class CallImpl extends TypedEventEmitter<CallEvents> implements Call {
  readonly room: Room
  private readonly components: CallServiceComponents
  private readonly config: CallConfig
  private readonly options: CallSetup
  private readonly log: Logger
  private readonly onClosed: () => void
  private readonly participants = new Map<string, Participant>()
  /** Members not called yet: media goes only through TURN here, and no TURN server is known yet. */
  private readonly waiting = new Map<string, PeerId>()
  private readonly streams = new Map<StreamKind, MediaStream>()
  private mediaState: MediaState = { mic: true, camera: true, screen: false }
  /** Each member's description rate, kept across its sessions (a bye and a new stream do not refill it) until it leaves. */
  private readonly descriptionRates = new Map<string, TokenBucket>()
  private ended = false

  constructor (components: CallServiceComponents, config: CallConfig, room: Room, options: CallSetup, log: Logger, onClosed: () => void) {
    super()
    this.components = components
    this.config = config
    this.room = room
    this.options = options
    this.log = log
    this.onClosed = onClosed
    room.addEventListener('peer:join', this.onJoin)
    room.addEventListener('peer:leave', this.onLeave)
    components.events.addEventListener('connection:open', this.onConnection)
    options.ice.addEventListener('change', this.onIceChange)
    for (const m of room.members()) { this.call(m.peerId) }
  }

  setStream (kind: StreamKind, stream: MediaStream | null): void {
    if (this.ended) { return }
    if (stream == null) { this.streams.delete(kind) } else { this.streams.set(kind, stream) }
    for (const p of this.participants.values()) {
      // the label goes first, on the same ordered stream as the offer the new track causes
      p.channel.send({ tracks: this.trackInfos() })
      p.media.setStream(kind, stream)
    }
  }

  setMediaState (state: MediaState): void {
    if (this.ended) { return }
    this.mediaState = { ...state }
    for (const p of this.participants.values()) { p.channel.send({ tracks: [], state: this.mediaState }) }
  }

  peerConnection (peerId: PeerId): RTCPeerConnection | undefined {
    return this.participants.get(peerId.toString())?.session.pc
  }

  async path (peerId: PeerId, options: AbortOptions = {}): Promise<PathInfo | undefined> {
    options.signal?.throwIfAborted()
    const p = this.participants.get(peerId.toString())
    const conns = this.components.connectionManager.getConnections(peerId)
    const info: PathInfo = { signalling: signallingPath(p?.channel.connection ?? conns.find(c => c.limits == null) ?? conns[0]) }
    if (p == null) { return info }
    try {
      info.media = await mediaPath(p.session.pc, options)
    } catch (err: any) {
      options.signal?.throwIfAborted()
      this.log.trace('no stats for %p - %e', peerId, err)
    }
    return info
  }

  hangUp (): void {
    void this.end()
  }

  /** Hang up; resolves once every participant has been told, or could not be (open timeout, or `options.signal`). */
  async end (options: AbortOptions = {}): Promise<void> {
    if (this.ended) { return }
    this.ended = true
    this.room.removeEventListener('peer:join', this.onJoin)
    this.room.removeEventListener('peer:leave', this.onLeave)
    this.components.events.removeEventListener('connection:open', this.onConnection)
    this.options.ice.removeEventListener('change', this.onIceChange)
    this.waiting.clear()
    const byes = [...this.participants.values()].map(async p => this.drop(p.peerId, { bye: true, signal: options.signal }))
    this.onClosed()
    await Promise.all(byes)
  }

  /**
   * Read the signals of a stream the participant opened, until it ends, says bye, or is dropped. The service has
   * checked that the participant is a verified member of the room.
   */
  async accept (peerId: PeerId, stream: Stream, pb: ProtobufMessageStream<Signal, Stream>, options: AbortOptions = {}): Promise<void> {
    if (this.ended) { throw new CallEndedError('this call was hung up') }
    // media only through TURN: a participant's offer waits (on its stream) until a relay candidate can be gathered
    while (this.waitingForRelay()) {
      await sleep(RELAY_WAIT_POLL, options)
      if (this.ended) { throw new CallEndedError('this call was hung up') }
    }
    this.waiting.delete(peerId.toString())
    const p = this.participant(peerId)
    p.inbound.add(stream)
    const signal = options.signal == null ? p.dropped.signal : AbortSignal.any([options.signal, p.dropped.signal])
    try {
      while (true) {
        const msg = await pb.read({ signal })
        if (this.participants.get(peerId.toString()) !== p) { throw new CallEndedError('this participant was dropped') }
        this.onSignal(p, msg)
        if (msg.bye === true) {
          // the other side closes this stream: it is not ours to abort
          p.inbound.delete(stream)
          await this.drop(peerId, { bye: false })
          return
        }
      }
    } finally {
      p.inbound.delete(stream)
    }
  }

  private readonly onJoin = (evt: CustomEvent<MemberInfo>): void => { this.call(evt.detail.peerId) }

  private readonly onLeave = (evt: CustomEvent<MemberInfo>): void => {
    this.waiting.delete(evt.detail.peerId.toString())
    this.descriptionRates.delete(evt.detail.peerId.toString())
    void this.drop(evt.detail.peerId, { bye: true })
  }

  /** Media only through TURN, and no TURN server with credentials known: nothing may gather host candidates yet. */
  private waitingForRelay (): boolean {
    const config = this.options.ice.configuration()
    return config.iceTransportPolicy === 'relay' && !(config.iceServers ?? []).some(isTurnServer)
  }

  /** Call a member now, or once a relay candidate can be had (media only through TURN): the tile says which. */
  private call (peerId: PeerId): void {
    const key = peerId.toString()
    if (this.participants.has(key)) { return }
    if (!this.waitingForRelay()) {
      this.participant(peerId)
      return
    }
    if (this.waiting.has(key)) { return }
    this.waiting.set(key, peerId)
    this.log('media only through TURN: %p waits for TURN credentials', peerId)
    // told after the current task: members present at join() are waited for before anyone could listen
    queueMicrotask(() => {
      if (this.waiting.get(key) === peerId) { this.safeDispatchEvent('peer-state', { detail: { peerId, state: 'waiting-relay' } }) }
    })
  }

  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    if (evt.detail.limits != null) { return }
    this.participants.get(evt.detail.remotePeer.toString())?.channel.upgrade()
  }

  /**
   * New servers (credentials renewed, a relay came or went): every live connection gets them for its next gathering
   * (an ICE restart); the path in use is not touched, so media goes on. A connection made before any credentials
   * arrived thus picks TURN up on its next restart.
   */
  private readonly onIceChange = (): void => {
    if (this.ended) { return }
    if (this.waiting.size > 0 && !this.waitingForRelay()) {
      const members = [...this.waiting.values()]
      this.waiting.clear()
      for (const peerId of members) { if (this.room.isMember(peerId)) { this.participant(peerId) } }
    }
    const iceServers = this.options.ice.configuration().iceServers ?? []
    for (const p of this.participants.values()) {
      const pc = p.session.pc
      if (pc.signalingState === 'closed') { continue }
      try {
        pc.setConfiguration(withServers(pc.getConfiguration(), iceServers))
      } catch (err: any) {
        this.log('the connection with %p keeps its ICE servers - %e', p.peerId, err)
      }
    }
  }

  private onSignal (p: Participant, msg: Signal): void {
    if (msg.tracks.length > 0) { p.media.label(msg.tracks) }
    // the other side says what it sends, and it is nothing: no offer of its own is coming, so ours need not wait
    if (msg.state != null && msg.tracks.length === 0 && msg.description == null) { p.media.noOfferComing() }
    if (msg.state != null) {
      this.safeDispatchEvent('media-state', { detail: { peerId: p.peerId, mic: msg.state.mic, camera: msg.state.camera, screen: msg.state.screen } })
    }
    p.session.handle(msg)
  }

  private trackInfos (): Array<{ streamId: string, kind: string }> {
    return [...this.streams.entries()].map(([kind, stream]) => ({ streamId: stream.id, kind }))
  }

  /** What the other side needs to hear again on a new stream: our labels and state, then the negotiation's part. */
  private resync (p: Participant): void {
    p.channel.send({ tracks: this.trackInfos(), state: this.mediaState })
    p.session.resync()
  }

  private participant (peerId: PeerId): Participant {
    const key = peerId.toString()
    const existing = this.participants.get(key)
    if (existing != null) { return existing }
    const dropped = new AbortController()
    let descriptions = this.descriptionRates.get(key)
    if (descriptions == null) {
      descriptions = new TokenBucket(DESCRIPTION_BURST, DESCRIPTIONS_PER_SECOND)
      this.descriptionRates.set(key, descriptions)
    }
    const channel = new SignalChannel({
      peerId,
      roomId: this.room.roomId,
      connectionManager: this.components.connectionManager,
      maxMessageSize: this.config.maxMessageSize,
      openTimeout: this.config.openTimeout,
      provenAfter: this.config.memberWait + 1_000,
      log: this.log,
      onResync: () => { this.resync(p) },
      onNoCall: () => {
        // close first: its 'closed' must not be the last word about a member that simply takes no calls
        p.session.close()
        p.media.close()
        this.rebudget()
        this.safeDispatchEvent('peer-state', { detail: { peerId, state: 'no-call' } })
      }
    })
    const session = new PeerSession({
      peerId,
      polite: this.components.peerId.toString() < key,
      RTCPeerConnection: this.options.RTCPeerConnection,
      rtcConfiguration: this.options.ice.configuration(),
      remoteSdp: sdp => withStartBitrate(sdp, this.options.startBitrate),
      send: (signal) => { channel.send(signal) },
      onRemoteOffer: async () => { await p.media.takeOffered() },
      onTrack: (evt) => { p.media.onTrack(evt) },
      log: this.log,
      stallInterval: this.config.stallInterval,
      descriptions
    })
    const media = new PeerMedia({ peerId, pc: session.pc, log: this.log, waitForOffer: session.polite })
    const p: Participant = { peerId, session, media, channel, inbound: new Set(), dropped }
    session.addEventListener('peer-state', (evt) => {
      if (evt.detail.state === 'reconnecting') { channel.pathBroke() }
      this.safeDispatchEvent('peer-state', { detail: evt.detail })
    })
    media.addEventListener('track', (evt) => { this.safeDispatchEvent('track', { detail: evt.detail }) })
    media.addEventListener('track:removed', (evt) => { this.safeDispatchEvent('track:removed', { detail: evt.detail }) })
    this.participants.set(key, p)
    this.safeDispatchEvent('peer-state', { detail: { peerId, state: 'calling' } })
    this.rebudget()
    // say what we send and what is on; this also opens the stream, and finds out if the peer takes calls at all
    channel.send({ tracks: this.trackInfos(), state: this.mediaState })
    // members first meet through a relay: a call that depends on it dies with it
    this.components.direct.want(peerId, { signal: dropped.signal })
    for (const [kind, stream] of this.streams) { media.setStream(kind, stream) }
    return p
  }

  /** Everything of one participant ends here; resolves once the bye is written (or given up). */
  private async drop (peerId: PeerId, options: AbortOptions & { bye: boolean }): Promise<void> {
    const key = peerId.toString()
    const p = this.participants.get(key)
    if (p == null) { return }
    this.participants.delete(key)
    const closing = p.channel.close(options)
    p.session.close()
    p.media.close()
    this.rebudget()
    // the bye goes out before the participant's own streams are cut: a cut stream is one its writer opens again
    await closing
    p.dropped.abort(new CallEndedError('participant dropped'))
    for (const stream of p.inbound) { stream.abort(new CallEndedError('participant dropped')) }
    p.inbound.clear()
  }

  /** The camera video each session sends, by the size of the call (members that take no call do not count). */
  private rebudget (): void {
    const live = [...this.participants.values()].filter(p => p.session.state !== 'closed')
    const budget = videoBudgetFor(live.length + 1)
    for (const { media } of live) { media.setVideoBudget(budget) }
  }
}
