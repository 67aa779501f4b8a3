/**
 * One participant's media RTCPeerConnection and the only place that does perfect negotiation: the polite side
 * (the smaller PeerId) rolls back on glare, the impolite side ignores the colliding offer; ICE candidates wait
 * until a remote description exists; a failed ICE path is restarted.
 */
import { TypedEventEmitter } from 'main-event'
import type { Signal, TrackInfo } from './pb/call.js'
import type { CallEvents, StreamKind, TrackKind } from './index.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** After ICE reports 'disconnected' for this long, restart it, in ms. */
const DISCONNECTED_RESTART = 4_000
/** ICE restarts tried before a participant is reported unreachable. */
const MAX_RESTARTS = 3

export interface SessionInit {
  peerId: PeerId
  polite: boolean
  RTCPeerConnection: typeof globalThis.RTCPeerConnection
  rtcConfiguration: RTCConfiguration
  startBitrate: number
  send(signal: Signal): void
  log: Logger
}

/** Add x-google-start-bitrate to every video codec in an SDP, so that video starts at a useful quality. */
export function withStartBitrate (sdp: string, kbps: number): string {
  const lines = sdp.split('\r\n')
  const out: string[] = []
  let inVideo = false
  const videoPts = new Set<string>()
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inVideo = line.startsWith('m=video')
      if (inVideo) line.split(' ').slice(3).forEach(pt => videoPts.add(pt))
    }
    out.push(line)
  }
  const hasFmtp = new Set<string>()
  const result = out.map(line => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(line)
    if (m != null && videoPts.has(m[1])) {
      hasFmtp.add(m[1])
      if (!m[2].includes('x-google-start-bitrate')) return `${line};x-google-start-bitrate=${kbps}`
    }
    return line
  })
  // codecs with no fmtp line get one after their rtpmap
  const final: string[] = []
  for (const line of result) {
    final.push(line)
    const m = /^a=rtpmap:(\d+) ([^/]+)/.exec(line)
    if (m != null && videoPts.has(m[1]) && !hasFmtp.has(m[1]) && !/^(rtx|red|ulpfec|flexfec)/i.test(m[2])) {
      final.push(`a=fmtp:${m[1]} x-google-start-bitrate=${kbps}`)
    }
  }
  return final.join('\r\n')
}

/** What one participant's camera video to each other participant may use. */
export interface VideoBudget {
  /** Send at the camera's size divided by this. */
  scaleDownBy: number
  /** Bitrate ceiling, kbit/s. */
  maxKbps: number
}

/**
 * The camera video each participant sends each other one, by the number of people in the call (self included). A
 * full mesh encodes and uploads one stream per other participant, so both the encoders' CPU and the upload grow
 * with the call, while each tile on screen gets smaller: two people see each other large (720p); three share the
 * screen in thirds (480p); from four, tiles are a quarter of the window or less (360p, then 240p). bench:call on a
 * 2-core machine: a 4-person mesh at 480p kept the machine 100% busy at 21.8 fps.
 */
export const MESH_VIDEO_BUDGET: Array<{ upTo: number } & VideoBudget> = [
  { upTo: 2, scaleDownBy: 1, maxKbps: 2_500 },
  { upTo: 3, scaleDownBy: 1.5, maxKbps: 1_200 },
  { upTo: 5, scaleDownBy: 2, maxKbps: 700 },
  { upTo: Infinity, scaleDownBy: 3, maxKbps: 400 }
]

export function videoBudgetFor (participants: number): VideoBudget {
  const { scaleDownBy, maxKbps } = MESH_VIDEO_BUDGET.find(b => participants <= b.upTo) ?? MESH_VIDEO_BUDGET[MESH_VIDEO_BUDGET.length - 1]
  return { scaleDownBy, maxKbps }
}

/**
 * How long a new camera sender keeps its resolution before frame rate may give way, ms. An encoder that starts
 * under 'balanced' often picks 360p and needs ~4 s to climb (bench:call: 18 of 30 joins); held at full
 * resolution it starts there. Afterwards 'balanced' lets a busy CPU cost resolution before smoothness.
 */
const HOLD_RESOLUTION_MS = 6_000

/**
 * While a call has never come up, our side of the negotiation is sent again this often, ms. A signal is lost when
 * the other side refuses a stream (it has not finished the room handshake with us yet) or a stream is cut; a lost
 * answer would otherwise leave both sides waiting for ever (seen under load: a page stuck in 'calling').
 */
const STALL_RESYNC = 8_000

export class PeerSession extends TypedEventEmitter<CallEvents> {
  readonly pc: RTCPeerConnection
  readonly peerId: PeerId
  private readonly init: SessionInit
  private makingOffer = false
  private ignoreOffer = false
  private settingRemoteAnswer = false
  private pendingCandidates: RTCIceCandidateInit[] = []
  private readonly remoteKinds = new Map<string, StreamKind>()
  private readonly unlabelled: RTCTrackEvent[] = []
  private readonly senders = new Map<StreamKind, RTCRtpSender[]>()
  private queue: Promise<void> = Promise.resolve()
  private disconnectedTimer?: ReturnType<typeof setTimeout>
  private restarts = 0
  private closed = false
  private videoBudget: VideoBudget = videoBudgetFor(2)
  private holdUntil = 0
  private holdTimer?: ReturnType<typeof setTimeout>
  private readonly stallTimer: ReturnType<typeof setInterval>
  state: 'calling' | 'connected' | 'reconnecting' | 'unreachable' | 'closed' = 'calling'

  constructor (init: SessionInit) {
    super()
    this.init = init
    this.peerId = init.peerId
    this.pc = new init.RTCPeerConnection(init.rtcConfiguration)
    this.pc.onnegotiationneeded = () => { void this.negotiate() }
    this.pc.onicecandidate = ({ candidate }) => {
      const c = candidate?.toJSON()
      init.send({ tracks: [], candidate: c == null ? { candidate: '' } : { candidate: c.candidate ?? '', sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined, usernameFragment: c.usernameFragment ?? undefined } })
    }
    this.pc.ontrack = (evt) => { this.onTrack(evt) }
    this.pc.oniceconnectionstatechange = () => { this.onIceState() }
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'connected') this.setState('connected')
    }
    this.stallTimer = setInterval(() => {
      if (this.state !== 'calling' || this.makingOffer) return
      this.init.log('the call with %p is not up yet: sending our description again', this.peerId)
      this.resync()
    }, STALL_RESYNC)
  }

  private setState (state: PeerSession['state']): void {
    if (this.state === state || this.closed) return
    this.state = state
    this.safeDispatchEvent('peer-state', { detail: { peerId: this.peerId, state } })
  }

  /** Send our tracks on the connection; the caller has already told the other side what the stream is. */
  setStream (kind: StreamKind, stream: MediaStream | null): void {
    for (const sender of this.senders.get(kind) ?? []) {
      try { this.pc.removeTrack(sender) } catch {}
    }
    this.senders.delete(kind)
    if (stream == null || this.closed) return
    const senders = stream.getTracks().map(track => this.pc.addTrack(track, stream))
    this.senders.set(kind, senders)
    if (kind === 'camera' && this.holdUntil === 0) {
      this.holdUntil = Date.now() + HOLD_RESOLUTION_MS
      this.holdTimer = setTimeout(() => { this.applyVideoParams('camera') }, HOLD_RESOLUTION_MS)
    }
    this.applyVideoParams(kind)
  }

  /** Set by the call from the number of people in it (`videoBudgetFor`). */
  setVideoBudget (budget: VideoBudget): void {
    if (budget.scaleDownBy === this.videoBudget.scaleDownBy && budget.maxKbps === this.videoBudget.maxKbps) return
    this.videoBudget = budget
    this.applyVideoParams('camera')
  }

  private applyVideoParams (kind: StreamKind): void {
    if (this.closed) return
    for (const sender of this.senders.get(kind) ?? []) {
      if (sender.track?.kind !== 'video' || typeof sender.getParameters !== 'function') continue
      const params = sender.getParameters()
      if (params.encodings == null || params.encodings.length === 0) params.encodings = [{}]
      if (kind === 'camera') {
        params.encodings[0].scaleResolutionDownBy = this.videoBudget.scaleDownBy
        params.encodings[0].maxBitrate = this.videoBudget.maxKbps * 1_000
        // smooth motion matters more than detail for faces, once the encoder has started at full size
        params.degradationPreference = Date.now() < this.holdUntil ? 'maintain-resolution' : 'balanced'
      } else {
        // text on a shared screen must stay readable: frame rate gives way first
        params.degradationPreference = 'maintain-resolution'
      }
      sender.setParameters(params).catch((err: any) => { this.init.log.trace('sender parameters for %p not set - %e', this.peerId, err) })
    }
  }

  /** Handle the other side's signals strictly in order. */
  handle (signal: Signal): void {
    this.queue = this.queue.then(async () => { await this.process(signal) }).catch((err: any) => {
      this.init.log('signal from %p failed - %e', this.peerId, err)
    })
  }

  private async negotiate (): Promise<void> {
    if (this.closed) return
    try {
      this.makingOffer = true
      await this.pc.setLocalDescription()
      const d = this.pc.localDescription
      if (d != null) this.init.send({ tracks: [], description: { type: d.type, sdp: d.sdp } })
    } catch (err: any) {
      this.init.log('making an offer to %p failed - %e', this.peerId, err)
    } finally {
      this.makingOffer = false
    }
  }

  private async process (signal: Signal): Promise<void> {
    if (this.closed) return
    for (const t of signal.tracks) this.label(t)
    if (signal.description != null) {
      const { type, sdp } = signal.description
      if (type !== 'offer' && type !== 'answer') return
      const readyForOffer = !this.makingOffer && (this.pc.signalingState === 'stable' || this.settingRemoteAnswer)
      const collision = type === 'offer' && !readyForOffer
      this.ignoreOffer = !this.init.polite && collision
      if (this.ignoreOffer) {
        this.init.log.trace('ignored a colliding offer from %p', this.peerId)
        return
      }
      this.settingRemoteAnswer = type === 'answer'
      // the polite side's colliding offer is rolled back implicitly by setRemoteDescription
      await this.pc.setRemoteDescription({ type, sdp: withStartBitrate(sdp, this.init.startBitrate) })
      this.settingRemoteAnswer = false
      const pending = this.pendingCandidates
      this.pendingCandidates = []
      for (const c of pending) await this.addCandidate(c)
      if (type === 'offer') {
        await this.pc.setLocalDescription()
        const d = this.pc.localDescription
        if (d != null) this.init.send({ tracks: [], description: { type: d.type, sdp: d.sdp } })
      }
    }
    if (signal.candidate != null) {
      const c = signal.candidate
      const init: RTCIceCandidateInit = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment }
      if (this.pc.remoteDescription == null) this.pendingCandidates.push(init)
      else await this.addCandidate(init)
    }
    if (signal.bye === true) this.close()
  }

  private async addCandidate (c: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(c.candidate === '' ? undefined : c)
    } catch (err: any) {
      if (!this.ignoreOffer) this.init.log('a candidate from %p did not apply - %e', this.peerId, err)
    }
  }

  private label (info: TrackInfo): void {
    if (info.kind !== 'camera' && info.kind !== 'screen') return
    this.remoteKinds.set(info.streamId, info.kind)
    const waiting = this.unlabelled.splice(0)
    for (const evt of waiting) this.onTrack(evt)
  }

  private onTrack (evt: RTCTrackEvent): void {
    const stream = evt.streams[0]
    const streamKind = stream != null ? this.remoteKinds.get(stream.id) : undefined
    if (stream == null || streamKind == null) {
      // the label travels before the track, but keep the track until it is known, whatever the order
      this.unlabelled.push(evt)
      return
    }
    const kind: TrackKind = streamKind === 'screen' ? 'screen' : (evt.track.kind === 'audio' ? 'microphone' : 'camera')
    const detail = { peerId: this.peerId, kind, track: evt.track, stream }
    this.safeDispatchEvent('track', { detail })
    const removed = (): void => { this.safeDispatchEvent('track:removed', { detail }) }
    stream.addEventListener('removetrack', (e) => { if (e.track === evt.track) removed() })
    evt.track.addEventListener('ended', removed, { once: true })
  }

  private onIceState (): void {
    const s = this.pc.iceConnectionState
    clearTimeout(this.disconnectedTimer)
    if (s === 'connected' || s === 'completed') {
      this.restarts = 0
      this.setState('connected')
    } else if (s === 'disconnected') {
      this.setState('reconnecting')
      this.disconnectedTimer = setTimeout(() => { this.restartIce() }, DISCONNECTED_RESTART)
    } else if (s === 'failed') {
      this.restartIce()
    }
  }

  /**
   * The signalling stream was lost and reopened: whatever was in flight may be gone. Send again what the other
   * side may be waiting for: our pending offer, or the answer we gave last. A duplicate is harmless (an answer in
   * the 'stable' state is refused and logged), a lost one would leave both sides waiting for ever.
   */
  resync (): void {
    if (this.closed) return
    const d = this.pc.localDescription
    if (d != null && (this.pc.signalingState === 'have-local-offer' || d.type === 'answer')) {
      this.init.send({ tracks: [], description: { type: d.type, sdp: d.sdp } })
    }
    const ice = this.pc.iceConnectionState
    if (ice === 'failed' || ice === 'disconnected') this.restartIce()
  }

  /** A broken path: gather new candidates and renegotiate. */
  restartIce (): void {
    if (this.closed) return
    if (this.restarts >= MAX_RESTARTS) {
      this.setState('unreachable')
      return
    }
    this.restarts++
    this.setState('reconnecting')
    this.pc.restartIce()
  }

  close (): void {
    if (this.closed) return
    this.setState('closed')
    this.closed = true
    clearTimeout(this.disconnectedTimer)
    clearTimeout(this.holdTimer)
    clearInterval(this.stallTimer)
    this.pc.close()
  }
}
