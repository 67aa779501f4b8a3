/**
 * Direct connections: members of a room first meet through a circuit relay (a limited connection). For a call, a
 * direct libp2p connection (WebRTC, through the relay's introduction) carries signalling, chat and the room protocol
 * so that the call no longer depends on the relay. Whoever needs one asks with `want(peerId)` and gives it back with
 * the returned release, or by aborting its signal. For each wanted peer whose PeerId sorts after ours, a loop dials
 * its /webrtc addresses with capped, jittered backoff until a direct connection is open, and again whenever it
 * closes (the peer with the smaller PeerId dials, so that two members do not race to build two connections). The
 * loops end when nobody wants the peer any more, or when the node stops.
 */
import { DirectService } from './service.ts'
import type { AbortOptions, ComponentLogger, Libp2pEvents, PeerId, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface DirectInit {
  /**
   * Deadline of one dial attempt, in ms.
   *
   * @default 10_000 (WEBRTC_DIAL_TIMEOUT)
   */
  dialTimeout?: number
  /**
   * Attempts in one round of dialling (each with its own deadline).
   *
   * @default 2
   */
  attempts?: number
  /**
   * First pause after a failed round, in ms; doubled (with jitter) after each further failure.
   *
   * @default 1_000
   */
  initialBackoff?: number
  /**
   * Longest pause between rounds, in ms.
   *
   * @default 30_000
   */
  maxBackoff?: number
  /**
   * How often a peer with a direct connection is looked at again, besides the connection's close event, in ms.
   *
   * @default 30_000
   */
  checkInterval?: number
}

export interface DirectComponents {
  peerId: PeerId
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** Release a want: when the last want for a peer is released, its loop ends. Calling it twice does nothing. */
export type Release = () => void

export interface DirectConnections {
  /** Keep a direct connection to this peer until the release is called or `options.signal` aborts. */
  want(peerId: PeerId, options?: AbortOptions): Release
  /** The peers wanted now. */
  wanted(): PeerId[]
  /** The peers a dialling loop runs for now: the wanted ones whose PeerId sorts after ours, until their loop has ended. */
  dialling(): PeerId[]
}

export function directConnections (init: DirectInit = {}): (components: DirectComponents) => DirectConnections {
  return (components) => new DirectService(components, init)
}
