/**
 * Calls: one media RTCPeerConnection per remote participant, signalled over our own libp2p protocol and only
 * between verified members of a room. The RTCPeerConnection constructor is handed in, so the same code runs in
 * the browser and under Node.
 *
 * Files: `service.ts` (the protocol handler and joining), `call.ts` (one call's participants), `signal-channel.ts`
 * (our outbound stream to one participant), `session.ts` (perfect negotiation), `media.ts` (senders and labelled
 * remote tracks), `budget.ts` (video by call size), `sdp.ts`, `stats.ts`, `messages.ts` (decoding), `pb/call.proto`.
 */
import { CallService } from './service.ts'
import type { MediaRoute } from './stats.ts'
import type { DirectConnections } from '../direct/index.ts'
import type { Room } from '../room/index.ts'
import type { AbortOptions, ComponentLogger, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export { CALL_PROTOCOL } from './constants.ts'
export { CallEndedError, InvalidCallMessageError, NoCallError } from './errors.ts'
export { MESH_VIDEO_BUDGET, videoBudgetFor } from './budget.ts'
export type { VideoBudget } from './budget.ts'
export { withStartBitrate } from './sdp.ts'
export { receiving } from './media.ts'
export { classifyPath, pathLabel, pathDetail } from './stats.ts'
export type { CandidateInfo, CandidateType, MediaRoute } from './stats.ts'

/** What a local stream carries: the camera stream holds the camera's video and the microphone's audio. */
export type StreamKind = 'camera' | 'screen'
export type TrackKind = 'camera' | 'microphone' | 'screen'

export interface CallServiceInit {
  /**
   * Largest signalling message, in bytes (an SDP with several m-lines is a few KiB).
   *
   * @default 262_144
   */
  maxMessageSize?: number
  /**
   * Deadline for opening a signalling stream, and for the first message on an inbound one, in ms.
   *
   * @default 10_000
   */
  openTimeout?: number
  /**
   * How long an inbound call stream waits for its sender to pass the room handshake here, and for our call in that
   * room to be joined, before it is refused, in ms. Longer than the room handshake's own deadline. @default 12_000
   */
  memberWait?: number
  /**
   * While a call with a participant has not come up, its negotiation is looked at this often, in ms.
   *
   * @default 8_000
   */
  stallInterval?: number
  /**
   * Where calls take their ICE configuration from when `CallOptions` names none: the node's (the overlay passes its
   * `IceConfig`: every relay's STUN/TURN servers, the explicit ones, the transport policy).
   *
   * @default a fixed `{ iceServers: [] }`
   */
  ice?: IceConfigSource
}

/**
 * A provider of ICE configurations: read for each new RTCPeerConnection of a call, and again on `change`, when live
 * connections get the new servers (`setConfiguration`; their transport policy stays).
 */
export interface IceConfigSource {
  configuration(): RTCConfiguration
  addEventListener(type: 'change', listener: () => void): void
  removeEventListener(type: 'change', listener: () => void): void
}

export interface CallServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** The direct-connection service (protocols/direct), registered under the name `direct`. */
  direct: DirectConnections
}

export interface CallOptions {
  /** The platform's RTCPeerConnection (the browser's, or a Node polyfill). */
  RTCPeerConnection: typeof globalThis.RTCPeerConnection
  /**
   * The ICE configuration provider for this call's connections.
   *
   * @default the service's `ice` (the node's relays' STUN/TURN servers)
   */
  ice?: IceConfigSource
  /**
   * A fixed configuration instead of a provider (tests); ignored when `ice` is given.
   *
   * @default none: the provider
   */
  rtcConfiguration?: RTCConfiguration
  /**
   * Bitrate video starts at, in kbit/s. Browsers start low and take many seconds to climb; on a clean link this
   * gets 640x480 and more within a second or two. @default 1_500
   */
  startBitrate?: number
}

/** What a participant has switched on. */
export interface MediaState {
  mic: boolean
  camera: boolean
  screen: boolean
}

export interface RemoteTrackEvent {
  peerId: PeerId
  kind: TrackKind
  track: MediaStreamTrack
  stream: MediaStream
}

export interface MediaStateEvent extends MediaState {
  peerId: PeerId
}

export interface PeerStateEvent {
  peerId: PeerId
  /**
   * 'calling' until media flows; 'connected'; 'unreachable' when ICE failed and restarts did not help; 'no-call' for a
   * member that does not take calls (a terminal peer); 'waiting-relay' while this peer sends media only through TURN
   * (`iceTransportPolicy: 'relay'`, hide my address) and holds no TURN credentials yet: no connection is made, and
   * none falls back to host candidates, until some arrive.
   */
  state: 'calling' | 'connected' | 'reconnecting' | 'unreachable' | 'no-call' | 'waiting-relay' | 'closed'
}

export interface CallEvents {
  track: CustomEvent<RemoteTrackEvent>
  'track:removed': CustomEvent<RemoteTrackEvent>
  'media-state': CustomEvent<MediaStateEvent>
  'peer-state': CustomEvent<PeerStateEvent>
}

export interface PathInfo {
  /** Media path from the selected candidate pair (stats.ts): direct (host, srflx, prflx) or through TURN. */
  media?: MediaRoute
  /** Signalling path: whether the libp2p connection in use goes through a circuit relay. */
  signalling: { relayed: boolean, addr?: string }
}

export interface Call extends TypedEventTarget<CallEvents> {
  readonly room: Room
  /** Publish a local stream (camera+microphone, or screen), or withdraw it with null. */
  setStream(kind: StreamKind, stream: MediaStream | null): void
  /** Tell the others what is on and off (mute, camera off, sharing). */
  setMediaState(state: MediaState): void
  /** How the call with one participant is carried right now. */
  path(peerId: PeerId, options?: AbortOptions): Promise<PathInfo | undefined>
  /** The RTCPeerConnection with one participant, for stats. */
  peerConnection(peerId: PeerId): RTCPeerConnection | undefined
  /** Say bye to everyone and close every connection of this call; nothing of it runs afterwards. */
  hangUp(): void
}

export interface CallServiceApi {
  /** Take part in the call of a room this node has joined (a second join for the same room replaces the first). */
  join(room: Room, options: CallOptions): Call
}

export function callService (init: CallServiceInit = {}): (components: CallServiceComponents) => CallServiceApi {
  return (components) => new CallService(components, init)
}
