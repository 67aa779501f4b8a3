/**
 * The connectivity doctor: before a call, check what a call will need and say in one sentence what to do about each
 * failure. Three checks, in order:
 *
 * 1. relay: this node is connected to at least one relay (its bootstrap service says so);
 * 2. stun: an RTCPeerConnection given only the relay's `stun:` URL hears a STUN answer over UDP;
 * 3. turn: with the relay's TURN credentials and `iceTransportPolicy: 'relay'`, a relay candidate is gathered, for
 * each transport the relay lists (UDP, TCP, TLS).
 *
 * Runs unchanged in the browser and in Node: the RTCPeerConnection constructor is handed in (`gather.ts`), the
 * verdicts are pure functions (`advice.ts`), `doctor.ts` runs the checks.
 */
import { runDoctor } from './doctor.ts'
import type { Bootstrap } from '../bootstrap/index.ts'
import type { TurnClient } from '../turn/index.ts'
import type { AbortOptions } from '@libp2p/interface'

export { adviseRelay, adviseStun, adviseTurn, turnTransport } from './advice.ts'
export { gather } from './gather.ts'
export type { GatherResult, GatheredCandidate, CandidateError } from './gather.ts'

export type CheckName = 'relay' | 'stun' | 'turn'

/** pass, warn (works, with a caveat), fail, or skip (a check that could not run because an earlier one failed, or the relay offers nothing to check). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export type TurnTransport = 'udp' | 'tcp' | 'tls'

/** One transport's TURN allocation. */
export interface TransportResult {
  transport: TurnTransport
  url: string
  ok: boolean
  /** Why not, as the browser said it (`icecandidateerror`), or "no relay candidate within N s". */
  error?: string
}

export interface CheckResult {
  name: CheckName
  status: CheckStatus
  /** What was found, in one sentence ("Connected to 1 relay."). */
  detail: string
  /** What to do, in one sentence; present when the check failed or was skipped for a reason a person can change. */
  advice?: string
  /** The TURN check, per transport. */
  transports?: TransportResult[]
}

export interface DoctorReport {
  relay: CheckResult
  stun: CheckResult
  turn: CheckResult
}

export interface DoctorInit {
  /** The constructor to gather candidates with (the browser's, or a Node implementation). */
  RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection
  /** The node's bootstrap service: which relays it is connected to; absent when the page knows no relay. */
  bootstrap?: Pick<Bootstrap, 'statuses' | 'addEventListener' | 'removeEventListener'>
  /**
   * How many relays the node was given to start from; the bootstrap service says nothing of a relay before its first
   * dial ends.
   *
   * @default as many as the bootstrap service has reported on
   */
  relays?: number
  /** The node's TURN client service: credentials from each connected relay; absent on a node without one. */
  turn?: Pick<TurnClient, 'credentials' | 'request'>
  /**
   * How long to wait for a first relay connection, in ms.
   *
   * @default 10_000
   */
  relayTimeout?: number
  /**
   * How long to wait for a candidate (STUN answer, TURN allocation), in ms.
   *
   * @default 10_000
   */
  gatherTimeout?: number
  /** Each check's result as soon as it is known, for a view that fills in as it goes. */
  onResult?(result: CheckResult): void
}

/** Run the three checks; every result says what was found and, on failure, what to do. */
export async function checkConnectivity (init: DoctorInit, options: AbortOptions = {}): Promise<DoctorReport> {
  return runDoctor(init, options)
}
