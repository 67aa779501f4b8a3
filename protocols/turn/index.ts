/**
 * TURN credentials over libp2p. A relay that runs a TURN server (coturn, with `use-auth-secret`) answers
 * `/freeflow/turn/1.0.0`: a peer connected to it asks, and gets the relay's STUN/TURN URLs and a time-limited
 * username/credential pair in coturn's REST format, bound to the asking PeerId. On peers, a client service asks every
 * relay it is connected to, keeps the answers, renews them before they expire and offers them as `RTCIceServer`s.
 * One implementation for Node and browser (WebCrypto only).
 */
import { TurnClientService } from './client.ts'
import { TurnServerService } from './server.ts'
import type { ComponentLogger, Metrics, PeerId, TypedEventTarget, AbortOptions } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'

export { TURN_PROTOCOL, MAX_TURN_REQUEST_SIZE, MAX_TURN_RESPONSE_SIZE, MAX_TURN_URLS } from './constants.ts'
export { turnCredential, turnUserId, turnUsername, parseTurnUsername } from './credentials.ts'
export { NotConnectedError, RateLimitedError, TurnUnavailableError, InvalidTurnResponseError } from './errors.ts'
export { IceConfig, isTurnServer } from './ice.ts'
export type { IceConfigInit, IceConfigEvents } from './ice.ts'

export interface TurnServerInit {
  /** coturn's `static-auth-secret`: the HMAC key, as the text coturn reads from its configuration. */
  secret: string
  /** The URLs to hand out (stun:, turn:, turns:); read at each request, so they may be known only after the node starts. */
  urls(): string[]
  /**
   * Whether the TURN server answers right now; when false the relay answers UNAVAILABLE.
   *
   * @default always true
   */
  available?(): boolean
  /**
   * How long a credential is good for new allocations, in seconds (at least 10).
   *
   * @default 3_600
   */
  ttl?: number
  /**
   * Requests one PeerId may make per minute.
   *
   * @default 10
   */
  maxRequestsPerPeer?: number
  /**
   * Requests one IP address (an IPv6 /64) may make per minute, all its PeerIds together.
   *
   * @default 60
   */
  maxRequestsPerIp?: number
  /**
   * PeerIds and addresses tracked at once for the rate limits; beyond it, requests are refused until a window ends.
   *
   * @default 10_000
   */
  maxTracked?: number
  /**
   * Deadline for one request, in ms.
   *
   * @default 10_000
   */
  timeout?: number
  /**
   * Most inbound streams at once per connection.
   *
   * @default 2
   */
  maxInboundStreams?: number
  /**
   * The clock, in ms since the epoch; for tests.
   *
   * @default Date.now
   */
  now?(): number
}

export interface TurnServerComponents {
  registrar: Registrar
  logger: ComponentLogger
  metrics?: Metrics
}

/** An answer for one PeerId: what the relay would send it. */
export interface IssuedCredential {
  urls: string[]
  username: string
  credential: string
  /** Seconds the credential stays valid for new allocations. */
  ttl: number
}

export interface TurnServer {
  /** The credential this relay gives `peerId` now (no rate limit applies): for tests and operators. */
  issue(peerId: PeerId): Promise<IssuedCredential>
}

export interface TurnClientInit {
  /**
   * Deadline for one request, in ms.
   *
   * @default 10_000
   */
  timeout?: number
  /**
   * Ask again when this fraction of a credential's lifetime has passed.
   *
   * @default 0.75
   */
  renewAt?: number
  /**
   * First pause after a failed request, in ms; doubled (with jitter) after each further failure.
   *
   * @default 5_000
   */
  initialBackoff?: number
  /**
   * Longest pause between failed requests, in ms.
   *
   * @default 300_000
   */
  maxBackoff?: number
}

export interface TurnClientComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/** The credentials one relay gave. */
export interface RelayTurnCredentials {
  relay: PeerId
  urls: string[]
  username: string
  credential: string
  /** When the credential stops working for new allocations, ms since the epoch (this peer's clock). */
  expiresAt: number
}

export interface TurnClientEvents {
  /** The ICE servers changed (credentials arrived, were renewed, or expired); the detail is the new list. */
  change: CustomEvent<RTCIceServer[]>
}

export interface TurnClient extends TypedEventTarget<TurnClientEvents> {
  /** One entry per relay that gave credentials that have not expired: its URLs, username and credential. */
  iceServers(): RTCIceServer[]
  /** The same, with the relay and expiry of each. */
  credentials(): RelayTurnCredentials[]
  /** Ask one relay now, over an open direct connection to it (NotConnectedError without one), and keep the answer. */
  request(relay: PeerId, options?: AbortOptions): Promise<RelayTurnCredentials>
}

/** The relay side: answer `/freeflow/turn/1.0.0`. */
export function turnServer (init: TurnServerInit): (components: TurnServerComponents) => TurnServer {
  return (components) => new TurnServerService(components, init)
}

/** The peer side: ask every relay that speaks `/freeflow/turn/1.0.0`, keep and renew the answers. */
export function turnClient (init: TurnClientInit = {}): (components: TurnClientComponents) => TurnClient {
  return (components) => new TurnClientService(components, init)
}
