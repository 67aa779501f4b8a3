/**
 * werift's RTCPeerConnection, made to look enough like the W3C one for protocols/call/session.ts, so that a Node
 * process can take part in calls with media (node-datachannel, which libp2p's WebRTC transport uses, has data
 * channels only). werift already does perfect negotiation's part (setLocalDescription() with no argument,
 * implicit rollback, restartIce); what differs, and is bridged here:
 *
 * - `icecandidate` events carry a plain object; session.ts calls `candidate.toJSON()`.
 * - A remote stream in werift is a plain object; session.ts listens for its `removetrack`. Here each `track` event
 * gets fresh EventTarget streams, and when a description stops the remote side sending on a transceiver
 * (werift clears `firedReceiving`) those streams fire `removetrack`, as a browser's do.
 * - `RTCRtpSender.setParameters()` returns nothing in werift; session.ts expects a promise (only matters for a
 * Node peer that sends, which the recorder does not; tests use one).
 * - Codecs are limited to what a WebM file holds (VP8, VP9, Opus), so whatever a browser sends can be written
 * without transcoding.
 * - On a host with nothing but loopback (a container, the tests' namespace), loopback is offered as a host
 * candidate; werift leaves it out otherwise.
 */
import { networkInterfaces } from 'node:os'
import { RTCPeerConnection as WeriftPeerConnection, useOPUS, useVP8, useVP9, useNACK, usePLI } from 'werift'
import type { RTCPeerConnectionConfig, RTCRtpTransceiver, MediaStreamTrack as WeriftTrack } from 'werift'

/** Codecs a recorder accepts: those WebM holds, so packets go to disk as they came. */
export function webmCodecs (): NonNullable<RTCPeerConnectionConfig['codecs']> {
  // no REMB or transport-cc: we send nothing and need no bandwidth estimate; NACK and PLI keep files decodable
  const fb = (): ReturnType<typeof useNACK>[] => [useNACK(), usePLI()]
  return {
    audio: [useOPUS()],
    video: [useVP8({ rtcpFeedback: fb() }), useVP9({ rtcpFeedback: fb() })]
  }
}

function loopbackOnly (): boolean {
  return !Object.values(networkInterfaces()).flat().some(i => i != null && !i.internal)
}

/** A remote stream as session.ts expects it: an id, its tracks, and a 'removetrack' event. */
/**
 * A werift sender in a browser's shape, once per sender: werift's setParameters returns nothing where a browser's
 * returns a promise, which the call waits on; werift's setStreams takes an array where a browser's takes the streams.
 */
function promisedParameters (sender: any): any {
  if (sender == null || sender.bridged === true) { return sender }
  sender.bridged = true
  const set = sender.setParameters?.bind(sender)
  if (set != null) { sender.setParameters = async (params: unknown) => { set(params) } }
  const setStreams = sender.setStreams?.bind(sender)
  if (setStreams != null) { sender.setStreams = (...streams: unknown[]) => { setStreams(streams.length === 1 && Array.isArray(streams[0]) ? streams[0] : streams) } }
  return sender
}

class RemoteStream extends EventTarget {
  constructor (readonly id: string, private readonly tracks: WeriftTrack[]) { super() }
  getTracks (): WeriftTrack[] { return [...this.tracks] }
  getAudioTracks (): WeriftTrack[] { return this.tracks.filter(t => t.kind === 'audio') }
  getVideoTracks (): WeriftTrack[] { return this.tracks.filter(t => t.kind === 'video') }

  remove (track: WeriftTrack): void {
    const i = this.tracks.indexOf(track)
    if (i < 0) { return }
    this.tracks.splice(i, 1)
    const evt = new Event('removetrack') as Event & { track: WeriftTrack }
    evt.track = track
    this.dispatchEvent(evt)
  }
}

type Handler<T> = ((evt: T) => void) | null

export class NodeRTCPeerConnection extends WeriftPeerConnection {
  private trackHandler: Handler<any> = null
  private candidateHandler: Handler<any> = null
  /** Streams handed out with each transceiver's current remote track. */
  private readonly receiving = new Map<RTCRtpTransceiver, { track: WeriftTrack, streams: RemoteStream[] }>()

  constructor (config: RTCConfiguration & RTCPeerConnectionConfig = {}) {
    super({
      codecs: webmCodecs(),
      ...(loopbackOnly() ? { iceAdditionalHostAddresses: ['127.0.0.1'] } : {}),
      ...config as RTCPeerConnectionConfig
    })
  }

  // werift calls these through its own accessors, so overriding them here wraps every event
  override get ontrack (): Handler<any> { return this.trackHandler }
  override set ontrack (handler: Handler<any>) {
    this.trackHandler = handler == null
      ? null
      : (evt: any) => {
          const { track, transceiver } = evt
          this.receiving.get(transceiver)?.streams.forEach(s => { s.remove(this.receiving.get(transceiver)!.track) })
          const streams = (evt.streams as Array<{ id: string }>).map(s => new RemoteStream(s.id, [track]))
          this.receiving.set(transceiver, { track, streams })
          handler({ track, streams, transceiver, receiver: evt.receiver })
        }
  }

  override get onicecandidate (): Handler<any> { return this.candidateHandler }
  override set onicecandidate (handler: Handler<any>) {
    this.candidateHandler = handler == null
      ? null
      : (evt: any) => {
          const c = evt?.candidate
          handler({ candidate: c == null ? null : { ...c, toJSON: () => ({ ...c }) } })
        }
  }

  override addTrack (track: WeriftTrack, ...streams: any[]): any {
    return promisedParameters(super.addTrack(track, ...streams))
  }

  override addTransceiver (trackOrKind: any, options?: any): any {
    const transceiver: any = super.addTransceiver(trackOrKind, options)
    promisedParameters(transceiver.sender)
    return transceiver
  }

  /** Transceivers an offer made carry werift's own senders: bridged here, as the call may send on them. */
  override getTransceivers (): any {
    const transceivers: any[] = super.getTransceivers()
    for (const t of transceivers) { promisedParameters(t.sender) }
    return transceivers
  }

  override async setRemoteDescription (description: any): Promise<void> {
    await super.setRemoteDescription(description)
    this.settleReceiving()
  }

  override async setLocalDescription (description?: any): Promise<any> {
    const result = await super.setLocalDescription(description)
    this.settleReceiving()
    return result
  }

  /** The remote side stopped sending on a transceiver: its track leaves its streams, as in a browser. */
  private settleReceiving (): void {
    for (const [transceiver, { track, streams }] of this.receiving) {
      if (transceiver.firedReceiving && !transceiver.stopped) { continue }
      this.receiving.delete(transceiver)
      for (const s of streams) { s.remove(track) }
    }
  }

  override async close (): Promise<void> {
    for (const { track, streams } of this.receiving.values()) {
      for (const s of streams) { s.remove(track) }
    }
    this.receiving.clear()
    await super.close()
  }
}

/** The constructor in the shape CallOptions wants; the call code uses only the parts bridged above. */
export const RTCPeerConnectionForNode = NodeRTCPeerConnection as unknown as typeof globalThis.RTCPeerConnection
