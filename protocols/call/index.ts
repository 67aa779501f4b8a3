/**
 * Calls: one media RTCPeerConnection per remote participant, signalled over our own libp2p protocol and only
 * between verified members of a room. The RTCPeerConnection constructor is handed in, so the same code runs in
 * the browser and under Node.
 */
import { CallService } from './service.js'
import type { Room } from '../room/index.js'
import type { ComponentLogger, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export const CALL_PROTOCOL = '/freeflow/call/1.0.0'

/** What a local stream carries: the camera stream holds the camera's video and the microphone's audio. */
export type StreamKind = 'camera' | 'screen'
export type TrackKind = 'camera' | 'microphone' | 'screen'

export interface CallServiceInit {
  /** Largest signalling message, in bytes (an SDP with several m-lines is a few KiB). @default 262_144 */
  maxMessageSize?: number
  /** Deadline for opening a signalling stream, in ms. @default 10_000 */
  openTimeout?: number
  /** How long to wait for a room handshake to finish before refusing a call stream, in ms. @default 5_000 */
  memberWait?: number
}

export interface CallServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface CallOptions {
  /** The platform's RTCPeerConnection (the browser's, or a Node polyfill). */
  RTCPeerConnection: typeof globalThis.RTCPeerConnection
  /** @default { iceServers: [] }: host candidates only, nothing leaves the overlay */
  rtcConfiguration?: RTCConfiguration
  /**
   * Bitrate video starts at, in kbit/s. Browsers start low and take many seconds to climb; on a clean link this
   * gets 640x480 and more within a second or two. @default 1_500
   */
  startBitrate?: number
}

export interface RemoteTrackEvent {
  peerId: PeerId
  kind: TrackKind
  track: MediaStreamTrack
  stream: MediaStream
}

export interface MediaStateEvent {
  peerId: PeerId
  mic: boolean
  camera: boolean
  screen: boolean
}

export interface PeerStateEvent {
  peerId: PeerId
  /** 'calling' until media flows; 'connected'; 'unreachable' when ICE failed and restarts did not help; 'no-call' for a member that does not take calls (a terminal peer). */
  state: 'calling' | 'connected' | 'reconnecting' | 'unreachable' | 'no-call' | 'closed'
}

export interface CallEvents {
  'track': CustomEvent<RemoteTrackEvent>
  'track:removed': CustomEvent<RemoteTrackEvent>
  'media-state': CustomEvent<MediaStateEvent>
  'peer-state': CustomEvent<PeerStateEvent>
}

export interface PathInfo {
  /** Media path: host/srflx candidates are direct; a TURN relay would say 'relayed'. */
  media?: { direct: boolean, family: 4 | 6 | undefined, rttMs: number | undefined, protocol?: string }
  /** Signalling path: whether the libp2p connection in use goes through a circuit relay. */
  signalling: { relayed: boolean, addr?: string }
}

export interface Call extends TypedEventTarget<CallEvents> {
  readonly room: Room
  /** Publish a local stream (camera+microphone, or screen), or withdraw it with null. */
  setStream(kind: StreamKind, stream: MediaStream | null): void
  /** Tell the others what is on and off (mute, camera off, sharing). */
  setMediaState(state: { mic: boolean, camera: boolean, screen: boolean }): void
  /** How the call with one participant is carried right now. */
  path(peerId: PeerId): Promise<PathInfo | undefined>
  /** The RTCPeerConnection with one participant, for stats. */
  peerConnection(peerId: PeerId): RTCPeerConnection | undefined
  hangUp(): void
}

export interface CallServiceApi {
  join(room: Room, options: CallOptions): Call
}

export function callService (init: CallServiceInit = {}): (components: CallServiceComponents) => CallServiceApi {
  return (components) => new CallService(components, init)
}
