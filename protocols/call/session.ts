/**
 * One participant's media RTCPeerConnection, and the only place that does perfect negotiation: the polite side (the
 * smaller PeerId) gives way on glare (its colliding offer is rolled back by setRemoteDescription), the impolite side
 * ignores the colliding offer; ICE candidates wait until a remote description exists; a failed ICE path is
 * restarted. What the tracks are, and who sends what, is the call's business (media.ts): this file only negotiates.
 *
 * Signals can be lost (a stream the other side refused, a stream cut), so the session can say again what the other
 * side may be missing (`resync()`), and it recognises a description it has already applied by its origin line, so a
 * description sent twice is never applied twice (an old answer must not answer a newer offer).
 *
 * What the other side sends is bounded before it is queued (`handle`): descriptions by a rate (a token bucket the
 * call keeps per peer), distinct candidates per ICE generation by a count, the queue itself by a length. A
 * description or candidate over its cap is dropped with a logged reason; a signal that finds the queue full throws,
 * and the call resets the peer's stream.
 */
import { TypedEventEmitter } from 'main-event'
import { raceSignal } from '../util/abort.ts'
import { DESCRIPTION_BURST, DESCRIPTIONS_PER_SECOND, DISCONNECTED_RESTART, MAX_KEPT_CANDIDATES, MAX_QUEUED_SIGNALS, MAX_REMOTE_CANDIDATES, MAX_RESTARTS, MAX_SEEN_DESCRIPTIONS, STALL_RESYNC, STALLS_BEFORE_RESTART } from './constants.ts'
import { SignallingOverloadError } from './errors.ts'
import { TokenBucket } from './rate.ts'
import { isStopped, originOf, sends } from './sdp.ts'
import type { PeerStateEvent } from './index.ts'
import type { Candidate, Signal } from './pb/call.ts'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

export type SessionState = 'calling' | 'connected' | 'reconnecting' | 'unreachable' | 'closed'

export interface SessionEvents {
  'peer-state': CustomEvent<PeerStateEvent>
}

export interface SessionInit {
  peerId: PeerId
  /** The polite side gives way when both sides offer at once: the side whose PeerId string sorts first. */
  polite: boolean
  RTCPeerConnection: typeof globalThis.RTCPeerConnection
  rtcConfiguration: RTCConfiguration
  /** Sends a description or a candidate to the other side, in order. */
  send(signal: Signal): void
  /** Every remote description goes through this before it is applied (the call adds its start bitrate). */
  remoteSdp?(sdp: string): string
  /** The other side's offer was applied and our answer comes next: what we send may move onto its m-lines. */
  onRemoteOffer?(): Promise<void>
  /** A remote track arrived (RTCPeerConnection's `track` event). */
  onTrack?(evt: RTCTrackEvent): void
  log: Logger
  /**
   * How often a call that never came up looks at its negotiation, in ms.
   *
   * @default STALL_RESYNC
   */
  stallInterval?: number
  /**
   * Admits the other side's descriptions: kept by the call per peer, so that a new session does not refill it.
   *
   * @default a bucket of its own, DESCRIPTION_BURST at once and DESCRIPTIONS_PER_SECOND
   */
  descriptions?: TokenBucket
}

export class PeerSession extends TypedEventEmitter<SessionEvents> {
  readonly pc: RTCPeerConnection
  readonly peerId: PeerId
  readonly polite: boolean
  state: SessionState = 'calling'
  private readonly init: SessionInit
  private makingOffer = false
  private ignoreOffer = false
  private settingRemoteAnswer = false
  private pendingCandidates: RTCIceCandidateInit[] = []
  /** Our candidates of the current ICE generation, sent again after a lost stream; `null` marks the end. */
  private localCandidates: Array<Candidate | null> = []
  /** Origins of the remote descriptions applied, newest last. */
  private readonly seen: string[] = []
  private lastRemoteOffer = ''
  /** The other side's signals not processed yet, oldest first; at most MAX_QUEUED_SIGNALS. */
  private readonly inbox: Array<Pick<Signal, 'description' | 'candidate'>> = []
  /** While the inbox is being worked through. */
  private draining?: Promise<void>
  private readonly descriptions: TokenBucket
  /** The ice-ufrag of the other side's last description admitted, and the distinct candidates admitted since it. */
  private remoteUfrag = ''
  private readonly remoteCandidates = new Set<string>()
  /** Drops logged since the last signal admitted: one line per run of drops, not one per signal. */
  private dropsLogged = false
  private disconnectedTimer?: ReturnType<typeof setTimeout>
  private readonly stallTimer: ReturnType<typeof setInterval>
  private stalls = 0
  /** The origin of our pending offer at the last stall look. */
  private pendingOffer?: string
  private restarts = 0
  private closed = false

  constructor (init: SessionInit) {
    super()
    this.init = init
    this.peerId = init.peerId
    this.polite = init.polite
    this.pc = new init.RTCPeerConnection(init.rtcConfiguration)
    // an offer being made covers what asked for it; what it missed is offered once it is answered (negotiateIfNeeded)
    this.pc.onnegotiationneeded = () => { if (!this.makingOffer) { void this.negotiate() } }
    this.pc.onicecandidate = ({ candidate }) => { this.onLocalCandidate(candidate) }
    this.pc.ontrack = (evt) => { if (!this.closed) { init.onTrack?.(evt) } }
    this.pc.oniceconnectionstatechange = () => { this.onIceState() }
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'connected') { this.setState('connected') }
    }
    this.stallTimer = setInterval(() => { this.onStall() }, init.stallInterval ?? STALL_RESYNC)
    this.descriptions = init.descriptions ?? new TokenBucket(DESCRIPTION_BURST, DESCRIPTIONS_PER_SECOND)
  }

  /**
   * Handle the other side's description or candidate, strictly in the order they came. One over its cap is dropped;
   * throws a SignallingOverloadError when MAX_QUEUED_SIGNALS wait already.
   */
  handle (signal: Pick<Signal, 'description' | 'candidate'>): void {
    if (this.closed || (signal.description == null && signal.candidate == null)) { return }
    if (this.inbox.length >= MAX_QUEUED_SIGNALS) {
      throw new SignallingOverloadError(`${MAX_QUEUED_SIGNALS} signals wait to be applied already`)
    }
    if (!this.admit(signal)) { return }
    this.inbox.push(signal)
    this.draining ??= this.drain()
  }

  /** Signals waiting to be processed. */
  get queued (): number {
    return this.inbox.length
  }

  /** Resolves once every signal handed to `handle` so far has been processed (rejects if `options.signal` aborts first). */
  async settled (options: AbortOptions = {}): Promise<void> {
    while (this.draining != null) {
      await (options.signal == null ? this.draining : raceSignal(this.draining, options.signal))
    }
  }

  /** Whether a signal is within the caps: a description within the rate, a candidate within its generation's count. */
  private admit (signal: Pick<Signal, 'description' | 'candidate'>): boolean {
    const d = signal.description
    if (d != null && (d.type === 'offer' || d.type === 'answer')) {
      if (!this.descriptions.take()) {
        this.dropped(`a ${d.type} over ${DESCRIPTIONS_PER_SECOND} per second (burst ${DESCRIPTION_BURST})`)
        return false
      }
      const ufrag = /^a=ice-ufrag:(.*)$/m.exec(d.sdp)?.[1]?.trim() ?? ''
      if (ufrag !== this.remoteUfrag) {
        this.remoteUfrag = ufrag
        this.remoteCandidates.clear()
      }
    }
    const c = signal.candidate?.candidate
    if (c != null && c !== '' && !this.remoteCandidates.has(c)) {
      if (this.remoteCandidates.size >= MAX_REMOTE_CANDIDATES) {
        this.dropped(`a candidate over ${MAX_REMOTE_CANDIDATES} in one ICE generation`)
        return false
      }
      this.remoteCandidates.add(c)
    }
    this.dropsLogged = false
    return true
  }

  private dropped (reason: string): void {
    if (this.dropsLogged) { return }
    this.dropsLogged = true
    this.init.log('dropped signals from %p: %s (and any like it until one is admitted)', this.peerId, reason)
  }

  private async drain (): Promise<void> {
    try {
      for (let next = this.inbox.shift(); next != null; next = this.inbox.shift()) {
        try {
          await this.process(next)
        } catch (err: any) {
          this.init.log('signal from %p failed - %e', this.peerId, err)
        }
      }
    } finally {
      this.draining = undefined
    }
  }

  /**
   * A stream that carried our signals was lost: send again what the other side may be waiting for. Our pending offer,
   * or the answer we gave last (the other side drops it if it has it already), then our candidates. A broken ICE path
   * is restarted too.
   */
  resync (): void {
    if (this.closed) { return }
    const d = this.pc.localDescription
    if (d != null && !this.makingOffer && (this.pc.signalingState === 'have-local-offer' || (this.pc.signalingState === 'stable' && d.type === 'answer'))) {
      this.sendLocalDescription()
      this.sendLocalCandidates()
    } else if (this.pc.remoteDescription != null) {
      this.sendLocalCandidates()
    }
    const ice = this.pc.iceConnectionState
    if (ice === 'failed' || ice === 'disconnected') { this.restartIce() }
  }

  /** A broken path: gather new candidates and renegotiate, at most MAX_RESTARTS times in a row. */
  restartIce (): void {
    if (this.closed) { return }
    if (this.restarts >= MAX_RESTARTS) {
      this.setState('unreachable')
      return
    }
    this.restarts++
    this.init.log('restarting ICE with %p (%s, restart %d)', this.peerId, this.pc.iceConnectionState, this.restarts)
    this.localCandidates = []
    // a path that still works stays in use until the new one is found: ICE may never leave 'connected'
    const broken = this.pc.iceConnectionState === 'disconnected' || this.pc.iceConnectionState === 'failed'
    if (this.state !== 'calling' && broken) { this.setState('reconnecting') }
    this.pc.restartIce()
  }

  close (): void {
    if (this.closed) { return }
    this.setState('closed')
    this.closed = true
    clearTimeout(this.disconnectedTimer)
    clearInterval(this.stallTimer)
    this.pendingCandidates = []
    this.localCandidates = []
    this.inbox.length = 0
    this.remoteCandidates.clear()
    this.pc.close()
  }

  private setState (state: SessionState): void {
    if (this.state === state || this.closed) { return }
    this.state = state
    this.safeDispatchEvent('peer-state', { detail: { peerId: this.peerId, state } })
  }

  private sendLocalDescription (): void {
    const d = this.pc.localDescription
    if (d != null && !this.closed) { this.init.send({ tracks: [], description: { type: d.type, sdp: d.sdp } }) }
  }

  private sendLocalCandidates (): void {
    for (const c of this.localCandidates) {
      this.init.send({ tracks: [], candidate: c ?? { candidate: '' } })
    }
  }

  private onLocalCandidate (candidate: RTCIceCandidate | null): void {
    if (this.closed) { return }
    const c = candidate?.toJSON()
    const signal: Candidate | null = c == null
      ? null
      : { candidate: c.candidate ?? '', sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined, usernameFragment: c.usernameFragment ?? undefined }
    this.localCandidates.push(signal)
    if (this.localCandidates.length > MAX_KEPT_CANDIDATES) { this.localCandidates.shift() }
    this.init.send({ tracks: [], candidate: signal ?? { candidate: '' } })
  }

  private async negotiate (): Promise<void> {
    if (this.closed) { return }
    try {
      this.makingOffer = true
      await this.pc.setLocalDescription()
      this.sendLocalDescription()
    } catch (err: any) {
      this.init.log('making an offer to %p failed - %e', this.peerId, err)
    } finally {
      this.makingOffer = false
    }
  }

  private async process (signal: Pick<Signal, 'description' | 'candidate'>): Promise<void> {
    if (this.closed) { return }
    if (signal.description != null) { await this.onDescription(signal.description.type, signal.description.sdp) }
    if (signal.candidate != null) {
      const c = signal.candidate
      const init: RTCIceCandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment }
      if (this.pc.remoteDescription == null) {
        this.pendingCandidates.push(init)
        if (this.pendingCandidates.length > MAX_KEPT_CANDIDATES) { this.pendingCandidates.shift() }
      } else {
        await this.addCandidate(init)
      }
    }
  }

  private async onDescription (type: string, sdp: string): Promise<void> {
    if (type !== 'offer' && type !== 'answer') { return }
    const origin = originOf(sdp)
    if (origin !== '' && this.seen.includes(origin)) {
      // sent again after a lost stream: applying it again could answer a newer offer with an old answer
      if (type === 'offer' && origin === this.lastRemoteOffer && this.pc.signalingState === 'stable' && this.pc.localDescription?.type === 'answer') {
        // the other side still waits for our answer to it: ours was lost
        this.init.log('%p sent its offer again: answering it again', this.peerId)
        this.sendLocalDescription()
        this.sendLocalCandidates()
      } else {
        this.init.log.trace('ignored a %s from %p that was applied already', type, this.peerId)
      }
      return
    }
    const readyForOffer = !this.makingOffer && (this.pc.signalingState === 'stable' || this.settingRemoteAnswer)
    const collision = type === 'offer' && !readyForOffer
    this.ignoreOffer = !this.polite && collision
    if (this.ignoreOffer) {
      this.init.log.trace('ignored a colliding offer from %p', this.peerId)
      return
    }
    this.settingRemoteAnswer = type === 'answer'
    try {
      // on the polite side a colliding offer of ours is rolled back by this, implicitly
      await this.pc.setRemoteDescription({ type, sdp: this.init.remoteSdp?.(sdp) ?? sdp })
    } finally {
      this.settingRemoteAnswer = false
    }
    this.remember(origin, type)
    const pending = this.pendingCandidates
    this.pendingCandidates = []
    for (const c of pending) { await this.addCandidate(c) }
    if (type === 'offer') {
      // whatever goes wrong there, the answer goes
      await this.init.onRemoteOffer?.().catch((err: any) => { this.init.log('our media for the answer to %p - %e', this.peerId, err) })
      await this.pc.setLocalDescription()
      this.sendLocalDescription()
    }
    this.negotiateIfNeeded()
  }

  /**
   * Back to 'stable' with something of ours not negotiated yet: offer it. An offer that failed is otherwise never
   * made again (no new negotiationneeded comes): seen between Firefox and Chromium, whose offer after a rollback was
   * refused by its own setLocalDescription, and its camera and microphone stayed without a mid for the whole call
   * (firefox.spec; the first-offer wait, media.ts, keeps a new call from rolling back).
   */
  private negotiateIfNeeded (): void {
    if (this.closed || this.makingOffer || this.pc.signalingState !== 'stable' || !notNegotiated(this.pc)) { return }
    this.init.log('something of ours is not negotiated with %p yet: offering it', this.peerId)
    void this.negotiate()
  }

  private remember (origin: string, type: 'offer' | 'answer'): void {
    if (origin === '') { return }
    this.seen.push(origin)
    if (this.seen.length > MAX_SEEN_DESCRIPTIONS) { this.seen.shift() }
    if (type === 'offer') { this.lastRemoteOffer = origin }
  }

  private async addCandidate (c: RTCIceCandidateInit): Promise<void> {
    if (this.closed) { return }
    try {
      await this.pc.addIceCandidate(c.candidate === '' ? undefined : c)
    } catch (err: any) {
      // a candidate of an offer we ignored, or of an older ICE generation, does not apply: nothing is lost
      if (!this.ignoreOffer) { this.init.log.trace('a candidate from %p did not apply - %e', this.peerId, err) }
    }
  }

  private onIceState (): void {
    const s = this.pc.iceConnectionState
    this.init.log('ICE with %p: %s', this.peerId, s)
    clearTimeout(this.disconnectedTimer)
    if (s !== 'new') { this.stalls = 0 }
    if (s === 'connected' || s === 'completed') {
      this.restarts = 0
      this.setState('connected')
    } else if (s === 'disconnected') {
      this.setState('reconnecting')
      // the polite side later, so that both do not restart into each other (its restart is then the other's)
      this.disconnectedTimer = setTimeout(() => { this.restartIce() }, DISCONNECTED_RESTART * (this.polite ? 2 : 1))
    } else if (s === 'failed') {
      this.restartIce()
    }
  }

  /**
   * Looked at every stall interval. An offer of ours still unanswered since the last look is sent again: its answer
   * may be lost (the other side answers an offer it has applied already with the answer it gave), and while an offer
   * is pending no other negotiation can start. A call that has not come up, whose negotiation is done but whose ICE
   * has not started checking, has no remote candidate on one side at least: a candidate that reached the other side
   * before the description of its ICE generation was refused there and is lost (an ICE restart's candidates beside a
   * colliding offer, a polite side's rolled-back offer whose answer reuses them), and a browser does not gather it
   * again. So each such look says our candidates again (the other side now holds their description); if that did not
   * help, ICE is restarted: by the impolite side at STALLS_BEFORE_RESTART looks, by the polite side one look later,
   * so that both do not restart into each other and collide again.
   */
  private onStall (): void {
    if (this.closed || this.makingOffer) { return }
    const pending = this.pc.signalingState === 'have-local-offer' ? originOf(this.pc.localDescription?.sdp ?? '') : undefined
    const stalledOffer = pending != null && pending === this.pendingOffer
    this.pendingOffer = pending
    if (stalledOffer) {
      this.init.log('our offer to %p is not answered yet: sending it again', this.peerId)
      this.sendLocalDescription()
      this.sendLocalCandidates()
    } else if (this.pc.signalingState === 'stable' && notNegotiated(this.pc)) {
      this.negotiateIfNeeded()
    } else if (this.state === 'calling' && this.pc.signalingState === 'stable' && this.pc.remoteDescription != null && this.pc.iceConnectionState === 'new') {
      this.stalls++
      if (this.stalls >= STALLS_BEFORE_RESTART + (this.polite ? 1 : 0)) {
        this.init.log('the call with %p found no path: restarting ICE', this.peerId)
        this.stalls = 0
        this.restartIce()
      } else {
        this.init.log('the call with %p has not started checking: sending our %d candidates again', this.peerId, this.localCandidates.length)
        this.sendLocalCandidates()
      }
    }
  }
}

/**
 * Whether a connection holds something of ours that no negotiation has covered: a transceiver never negotiated (no
 * mid) that is meant to carry media, or one that still sends by the last negotiation after we stopped sending on it.
 * (The direction the other side answered may differ from ours for good: only these two say an offer is due.)
 */
export function notNegotiated (pc: RTCPeerConnection): boolean {
  return pc.getTransceivers().some(t => {
    if (isStopped(t)) { return false }
    if (t.mid == null) { return t.direction !== 'inactive' }
    return sends(t.currentDirection) && !sends(t.direction)
  })
}
