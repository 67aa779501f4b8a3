/**
 * The media of one participant's RTCPeerConnection, apart from its negotiation: our senders by kind (camera+microphone,
 * screen) with the video budget applied to them, and the other side's tracks, told apart by the labels (TrackInfo)
 * the other side sends before them.
 */
import { TypedEventEmitter } from 'main-event'
import { videoBudgetFor, videoParameters, sameBudget } from './budget.ts'
import { HOLD_RESOLUTION_MS, MAX_TRACK_LABELS, POLITE_OFFER_WAIT } from './constants.ts'
import { isStopped, offeredDirection, receives } from './sdp.ts'
import type { VideoBudget } from './budget.ts'
import type { CallEvents, StreamKind, TrackKind } from './index.ts'
import type { TrackInfo } from './pb/call.ts'
import type { Logger, PeerId } from '@libp2p/interface'

export type MediaEvents = Pick<CallEvents, 'track' | 'track:removed'>

export interface PeerMediaInit {
  peerId: PeerId
  pc: RTCPeerConnection
  log: Logger
  /**
   * The polite side of a new call: what it sends waits for the other side's offer (`takeOffered`), or at most
   * `offerWait` ms (POLITE_OFFER_WAIT), before it is offered.
   */
  waitForOffer?: boolean
  offerWait?: number
}

export class PeerMedia extends TypedEventEmitter<MediaEvents> {
  private readonly init: PeerMediaInit
  private readonly senders = new Map<StreamKind, RTCRtpSender[]>()
  /** What each of our senders sends ('audio' or 'video'), also while it has no track. */
  private readonly senderKinds = new Map<RTCRtpSender, string>()
  /** The stream each kind of ours is sent as (its id is how the other side tells our streams apart). */
  private readonly streams = new Map<StreamKind, MediaStream>()
  private readonly remoteKinds = new Map<string, StreamKind>()
  private readonly unlabelled: RTCTrackEvent[] = []
  private budget: VideoBudget = videoBudgetFor(2)
  private holdUntil = 0
  private holdTimer?: ReturnType<typeof setTimeout>
  /** While the polite side waits for the first offer: what it will send, by kind. */
  private waiting?: Map<StreamKind, MediaStream | null>
  private waitTimer?: ReturnType<typeof setTimeout>
  private closed = false

  constructor (init: PeerMediaInit) {
    super()
    this.init = init
    if (init.waitForOffer === true) {
      this.waiting = new Map()
      this.waitTimer = setTimeout(() => { this.stopWaiting() }, init.offerWait ?? POLITE_OFFER_WAIT)
    }
  }

  /**
   * Send a local stream's tracks (the caller has told the other side what the stream is), or stop sending them.
   * A sender that already carries a track of the same kind gets the new track with `replaceTrack`: no renegotiation,
   * and the other side's track goes on (a device switch used to add two m-lines each time, and Chromium's encoder
   * of the new video m-line never started: the others saw a black tile). Senders left over are removed. Each track
   * we send has an m-line of its own, and so has each the other side sends.
   */
  setStream (kind: StreamKind, stream: MediaStream | null): void {
    if (this.waiting != null) {
      this.waiting.set(kind, stream)
      return
    }
    const old = this.senders.get(kind) ?? []
    const free = stream == null || this.closed ? [] : [...old]
    const kept: RTCRtpSender[] = []
    for (const track of stream == null || this.closed ? [] : stream.getTracks()) {
      const i = free.findIndex(s => this.senderKinds.get(s) === track.kind)
      if (i < 0) {
        // a transceiver of its own, never addTrack: addTrack's transceiver is taken for the other side's m-line of
        // the same kind when a colliding offer of ours is rolled back, and Chromium then leaves the track it
        // receives there muted while it decodes (a tile that never plays; session-browser.spec)
        kept.push(this.addSender(track, stream!))
        continue
      }
      const [sender] = free.splice(i, 1)
      kept.push(sender)
      if (sender.track !== track) {
        sender.replaceTrack(track).catch((err: any) => { this.init.log('replacing the %s track for %p failed - %e', track.kind, this.init.peerId, err) })
      }
    }
    for (const sender of old.filter(s => !kept.includes(s))) {
      this.senderKinds.delete(sender)
      try {
        this.init.pc.removeTrack(sender)
      } catch {
        // the connection is closed: nothing to remove from
      }
    }
    if (kept.length === 0) {
      this.senders.delete(kind)
      this.streams.delete(kind)
      return
    }
    this.senders.set(kind, kept)
    this.streams.set(kind, stream!)
    this.startHold()
    this.applyVideoParams(kind)
  }

  /**
   * The other side's offer was just applied and our answer comes next. Waiting for it (the polite side of a new call),
   * each track we send takes an m-line of its kind the offer brought that carries nothing of ours and that the other
   * side receives on, so the answer carries it: one round for both directions, and no rollback. A track that finds
   * none gets a transceiver of its own, offered once the answer is given.
   */
  async takeOffered (): Promise<void> {
    const pc = this.init.pc
    if (this.closed || this.waiting == null || pc.signalingState !== 'have-remote-offer') { return }
    const wanted = this.waiting
    this.endWait()
    const remote = pc.remoteDescription?.sdp ?? ''
    const free = pc.getTransceivers().filter(t => t.mid != null && t.sender.track == null && !isStopped(t) &&
      t.direction === 'recvonly' && receives(offeredDirection(remote, t.mid)))
    const moves: Array<Promise<void>> = []
    for (const [kind, stream] of wanted) {
      if (stream == null) { continue }
      const senders: RTCRtpSender[] = []
      for (const track of stream.getTracks()) {
        const j = free.findIndex(f => kindOf(f) === track.kind)
        try {
          if (j < 0) {
            senders.push(this.addSender(track, stream))
            continue
          }
          const [offered] = free.splice(j, 1)
          offered.direction = 'sendrecv'
          offered.sender.setStreams(stream)
          moves.push(offered.sender.replaceTrack(track))
          this.senderKinds.set(offered.sender, track.kind)
          senders.push(offered.sender)
        } catch (err: any) {
          this.init.log('sending our %s track to %p on an offered m-line failed - %e', track.kind, this.init.peerId, err)
        }
      }
      if (senders.length > 0) {
        this.senders.set(kind, senders)
        this.streams.set(kind, stream)
      }
    }
    await Promise.all(moves).catch((err: any) => { this.init.log('a track to %p did not go onto its m-line - %e', this.init.peerId, err) })
    this.startHold()
    for (const kind of this.senders.keys()) { this.applyVideoParams(kind) }
  }

  /** The other side sends nothing, so it makes no offer: if we wait for one, offer what we send now. */
  noOfferComing (): void {
    if (this.waiting != null) { this.stopWaiting() }
  }

  /** A transceiver of our own for `track` (never addTrack: see setStream). */
  private addSender (track: MediaStreamTrack, stream: MediaStream): RTCRtpSender {
    const sender = this.init.pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] }).sender
    this.senderKinds.set(sender, track.kind)
    return sender
  }

  /** No offer came in time: offer what we send ourselves. */
  private stopWaiting (): void {
    const wanted = this.waiting
    this.endWait()
    if (wanted == null || this.closed) { return }
    for (const [kind, stream] of wanted) { this.setStream(kind, stream) }
  }

  private endWait (): void {
    this.waiting = undefined
    clearTimeout(this.waitTimer)
  }

  private startHold (): void {
    if (this.senders.has('camera') && this.holdUntil === 0) {
      this.holdUntil = Date.now() + HOLD_RESOLUTION_MS
      this.holdTimer = setTimeout(() => { this.applyVideoParams('camera') }, HOLD_RESOLUTION_MS)
    }
  }

  /** Set by the call from the number of people in it (`videoBudgetFor`). */
  setVideoBudget (budget: VideoBudget): void {
    if (sameBudget(budget, this.budget)) { return }
    this.budget = budget
    this.applyVideoParams('camera')
  }

  /** The other side says what one of its streams is. A track that came before its label is reported now. */
  label (infos: TrackInfo[]): void {
    for (const info of infos.slice(0, MAX_TRACK_LABELS)) {
      if (info.kind !== 'camera' && info.kind !== 'screen') { continue }
      this.remoteKinds.set(info.streamId, info.kind)
    }
    if (infos.length > 0) {
      for (const evt of this.unlabelled.splice(0)) { this.onTrack(evt) }
    }
  }

  /** A remote track (RTCPeerConnection's `track` event). */
  onTrack (evt: RTCTrackEvent): void {
    if (this.closed) { return }
    const stream = evt.streams[0]
    const streamKind = stream != null ? this.remoteKinds.get(stream.id) : undefined
    if (stream == null || streamKind == null) {
      // the label travels before the track, but keep the track until it is known, whatever the order
      this.unlabelled.push(evt)
      return
    }
    const kind: TrackKind = streamKind === 'screen' ? 'screen' : (evt.track.kind === 'audio' ? 'microphone' : 'camera')
    const detail = { peerId: this.init.peerId, kind, track: evt.track, stream }
    this.safeDispatchEvent('track', { detail })
    const removed = (): void => { this.safeDispatchEvent('track:removed', { detail }) }
    stream.addEventListener('removetrack', (e) => { if (e.track === evt.track) { removed() } })
    evt.track.addEventListener('ended', removed, { once: true })
  }

  close (): void {
    this.closed = true
    this.endWait()
    clearTimeout(this.holdTimer)
    this.unlabelled.length = 0
    this.senders.clear()
    this.senderKinds.clear()
    this.streams.clear()
  }

  private applyVideoParams (kind: StreamKind): void {
    if (this.closed) { return }
    const hold = Date.now() < this.holdUntil
    for (const sender of this.senders.get(kind) ?? []) {
      if (sender.track?.kind !== 'video' || typeof sender.getParameters !== 'function') { continue }
      sender.setParameters(videoParameters(sender.getParameters(), kind, this.budget, hold)).catch((err: any) => {
        this.init.log.trace('sender parameters for %p not set - %e', this.init.peerId, err)
      })
    }
  }
}

/**
 * The receivers of `kind` on which the other side sends, by the last negotiation: a connection also has a receiver on
 * each m-line of ours, which never gets anything (each side's media has its own m-lines unless an answer took the
 * offer's), so the first receiver of a kind may be a silent one.
 */
export function receiving (pc: RTCPeerConnection, kind: 'audio' | 'video'): RTCRtpReceiver[] {
  return pc.getTransceivers()
    .filter(t => kindOf(t) === kind && receives(t.currentDirection) && t.receiver.track?.readyState === 'live')
    .map(t => t.receiver)
}

/** 'audio' or 'video': a browser's receiver always has its track; werift's transceiver says its kind. */
function kindOf (t: RTCRtpTransceiver): string | undefined {
  return (t.receiver.track as MediaStreamTrack | null | undefined)?.kind ?? (t as { kind?: string }).kind
}
