/**
 * The media of one participant's RTCPeerConnection, apart from its negotiation: our senders by kind (camera+microphone,
 * screen) with the video budget applied to them, and the other side's tracks, told apart by the labels (TrackInfo)
 * the other side sends before them.
 */
import { TypedEventEmitter } from 'main-event'
import { videoBudgetFor, videoParameters, sameBudget } from './budget.ts'
import { HOLD_RESOLUTION_MS, MAX_TRACK_LABELS } from './constants.ts'
import type { VideoBudget } from './budget.ts'
import type { CallEvents, StreamKind, TrackKind } from './index.ts'
import type { TrackInfo } from './pb/call.ts'
import type { Logger, PeerId } from '@libp2p/interface'

export type MediaEvents = Pick<CallEvents, 'track' | 'track:removed'>

export interface PeerMediaInit {
  peerId: PeerId
  pc: RTCPeerConnection
  log: Logger
}

export class PeerMedia extends TypedEventEmitter<MediaEvents> {
  private readonly init: PeerMediaInit
  private readonly senders = new Map<StreamKind, RTCRtpSender[]>()
  /** What each of our senders sends ('audio' or 'video'), also while it has no track. */
  private readonly senderKinds = new Map<RTCRtpSender, string>()
  private readonly remoteKinds = new Map<string, StreamKind>()
  private readonly unlabelled: RTCTrackEvent[] = []
  private budget: VideoBudget = videoBudgetFor(2)
  private holdUntil = 0
  private holdTimer?: ReturnType<typeof setTimeout>
  private closed = false

  constructor (init: PeerMediaInit) {
    super()
    this.init = init
  }

  /**
   * Send a local stream's tracks (the caller has told the other side what the stream is), or stop sending them.
   * A sender that already carries a track of the same kind gets the new track with `replaceTrack`: no renegotiation,
   * and the other side's track goes on (a device switch used to add two m-lines each time, and Chromium's encoder
   * of the new video m-line never started: the others saw a black tile). Senders left over are removed. Each track
   * we send has an m-line of its own, and so has each the other side sends.
   */
  setStream (kind: StreamKind, stream: MediaStream | null): void {
    const old = this.senders.get(kind) ?? []
    const free = stream == null || this.closed ? [] : [...old]
    const kept: RTCRtpSender[] = []
    for (const track of stream == null || this.closed ? [] : stream.getTracks()) {
      const i = free.findIndex(s => this.senderKinds.get(s) === track.kind)
      if (i < 0) {
        // a transceiver of its own, never addTrack: addTrack's transceiver is taken for the other side's m-line of
        // the same kind when a colliding offer of ours is rolled back, and Chromium then leaves the track it
        // receives there muted while it decodes (a tile that never plays; session-browser.spec)
        const sender = this.init.pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream!] }).sender
        this.senderKinds.set(sender, track.kind)
        kept.push(sender)
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
      return
    }
    this.senders.set(kind, kept)
    if (kind === 'camera' && this.holdUntil === 0) {
      this.holdUntil = Date.now() + HOLD_RESOLUTION_MS
      this.holdTimer = setTimeout(() => { this.applyVideoParams('camera') }, HOLD_RESOLUTION_MS)
    }
    this.applyVideoParams(kind)
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
    clearTimeout(this.holdTimer)
    this.unlabelled.length = 0
    this.senders.clear()
    this.senderKinds.clear()
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
