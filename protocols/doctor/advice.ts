/**
 * The doctor's verdicts: from what each check saw to a status, a sentence on what was found and one on what to do.
 * Pure functions, so every sentence is tested and documented (docs/app.md) in one place.
 */
import type { GatherResult } from './gather.ts'
import type { CheckResult, TransportResult, TurnTransport } from './index.ts'
import type { BootstrapStatus } from '../bootstrap/index.ts'

/** What the relays' TURN credential service answered. */
export type CredentialOutcome =
  | { kind: 'ok', urls: string[] }
  /** No connected relay speaks /freeflow/turn/1.0.0 (started with --no-turn, or without coturn). */
  | { kind: 'none' }
  /** The relay's TURN server is down (TurnUnavailableError). */
  | { kind: 'down' }
  /** Too many requests (RateLimitedError). */
  | { kind: 'limited' }
  | { kind: 'error', message: string }

export const SENTENCES = {
  noRelayKnown: 'Open this page from a FreeFlow relay, or ask for a link that names a relay.',
  noRelay: 'No relay reachable: check your internet connection, or ask for a link with another relay.',
  udpBlocked: 'Your network blocks UDP; calls will use TCP through the relay, which works but adds delay.',
  udpBlockedNoTcp: 'No STUN answer over UDP: your network may block UDP (see the TURN check).',
  noTurnServer: 'This relay offers no TURN server, so calls between networks that block direct connections will fail: ask for a link with a relay that runs TURN.',
  turnDown: 'The relay\'s TURN server is down right now: calls across strict firewalls may fail until it is back; check again in a minute.',
  rateLimited: 'The relay has had too many requests from this address: wait a minute and check again.',
  credentialError: 'Check again in a minute, or ask for a link with another relay.',
  refused: 'The relay\'s TURN server refused its own credentials: check again in a minute, or ask for a link with another relay.',
  noAllocation: 'Calls will work only where a direct connection is possible: try another network (a phone\'s hotspot), or ask for a link with another relay.',
  tcpBlocked: 'Calls work on this network; on one that blocks UDP they would not reach this relay.'
} as const

/** The transport a STUN/TURN URL names: turns: is TLS, `?transport=tcp` TCP, else UDP. */
export function turnTransport (url: string): TurnTransport {
  if (url.startsWith('turns:')) { return 'tls' }
  return /[?&]transport=tcp\b/i.test(url) ? 'tcp' : 'udp'
}

function relays (n: number): string {
  return `${n} relay${n === 1 ? '' : 's'}`
}

/**
 * Check 1: connected to at least one relay. `known` is how many relays the node was given (those without a word yet
 * did not answer within `timeout` ms).
 */
export function adviseRelay (statuses: BootstrapStatus[], known = statuses.length, timeout = 10_000): CheckResult {
  const up = statuses.filter(s => s.connected).length
  if (known === 0 && statuses.length === 0) {
    return { name: 'relay', status: 'fail', detail: 'This page knows no relay to connect to.', advice: SENTENCES.noRelayKnown }
  }
  if (up > 0) { return { name: 'relay', status: 'pass', detail: `Connected to ${relays(up)}.` } }
  const count = Math.max(known, statuses.length)
  const why = statuses.find(s => s.error != null)?.error ?? `no answer within ${Math.round(timeout / 1000)} s`
  return { name: 'relay', status: 'fail', detail: `Could not reach ${count === 1 ? 'the relay' : `any of ${relays(count)}`} (${why}).`, advice: SENTENCES.noRelay }
}

/** Whether one gathering heard the STUN server: a srflx candidate, or gathering that completed with UDP host candidates and no error. */
export function stunAnswered (g: GatherResult): 'srflx' | 'same-address' | false {
  if (g.candidates.some(c => c.type === 'srflx')) { return 'srflx' }
  // a STUN answer equal to the host address is dropped as redundant (a host with a public address, or loopback);
  // a server that never answers ends in an icecandidateerror (701) instead
  const udpHost = g.candidates.some(c => c.type === 'host' && c.protocol === 'udp')
  return g.complete && udpHost && g.errors.length === 0 ? 'same-address' : false
}

/** Whether some TURN transport other than UDP worked. */
function tcpWorks (turn: TransportResult[]): boolean {
  return turn.some(t => t.ok && t.transport !== 'udp')
}

/** Check 2: the relay's STUN server answers over UDP. `turn` is the TURN check's transports, to say what follows. */
export function adviseStun (creds: CredentialOutcome, stun: GatherResult[], turn: TransportResult[]): CheckResult {
  if (creds.kind !== 'ok') {
    return { name: 'stun', status: 'skip', detail: creds.kind === 'none' ? 'The relay offers no STUN server.' : 'Not checked: no STUN/TURN details from the relay.' }
  }
  if (stun.length === 0) { return { name: 'stun', status: 'skip', detail: 'The relay lists no STUN server.' } }
  const answers = stun.map(stunAnswered)
  if (answers.includes('srflx')) { return { name: 'stun', status: 'pass', detail: 'The relay\'s STUN server answered over UDP.' } }
  if (answers.includes('same-address')) {
    return { name: 'stun', status: 'pass', detail: 'The relay\'s STUN server answered over UDP (it sees this device\'s own address: no NAT in between).' }
  }
  const errors = stun.flatMap(g => g.errors).map(e => `${e.errorCode} ${e.errorText}`.trim())
  return {
    name: 'stun',
    status: 'fail',
    detail: `No answer from the relay's STUN server over UDP${errors.length > 0 ? ` (${errors[0]})` : ''}.`,
    advice: tcpWorks(turn) ? SENTENCES.udpBlocked : SENTENCES.udpBlockedNoTcp
  }
}

/** Check 3: a TURN allocation works, per transport. `stunOk` is whether check 2 passed, so a sentence is said once. */
export function adviseTurn (creds: CredentialOutcome, turn: TransportResult[], stunOk: boolean): CheckResult {
  switch (creds.kind) {
    case 'none': return { name: 'turn', status: 'fail', detail: 'The relay offers no TURN server.', advice: SENTENCES.noTurnServer }
    case 'down': return { name: 'turn', status: 'fail', detail: 'The relay\'s TURN server is down.', advice: SENTENCES.turnDown }
    case 'limited': return { name: 'turn', status: 'fail', detail: 'The relay refused: too many credential requests.', advice: SENTENCES.rateLimited }
    case 'error': return { name: 'turn', status: 'fail', detail: `No TURN credentials from the relay (${creds.message}).`, advice: SENTENCES.credentialError }
    default: break
  }
  if (turn.length === 0) { return { name: 'turn', status: 'fail', detail: 'The relay lists no TURN server.', advice: SENTENCES.noTurnServer, transports: turn } }
  const names = (list: TransportResult[]): string => [...new Set(list.map(t => t.transport.toUpperCase()))].join(', ')
  const ok = turn.filter(t => t.ok)
  const failed = turn.filter(t => !t.ok && !ok.some(o => o.transport === t.transport))
  if (failed.length === 0) { return { name: 'turn', status: 'pass', detail: `A TURN allocation works over ${names(ok)}.`, transports: turn } }
  if (ok.length === 0) {
    const refused = turn.every(t => t.error?.startsWith('401') === true)
    return {
      name: 'turn',
      status: 'fail',
      detail: `No TURN allocation over ${names(failed)} (${failed[0].error ?? 'no answer'}).`,
      advice: refused ? SENTENCES.refused : SENTENCES.noAllocation,
      transports: turn
    }
  }
  const udpFailed = failed.some(t => t.transport === 'udp')
  const result: CheckResult = { name: 'turn', status: 'warn', detail: `A TURN allocation works over ${names(ok)}, not over ${names(failed)}.`, transports: turn }
  // a failed STUN check already said that UDP is blocked
  if (!udpFailed) {
    result.advice = SENTENCES.tcpBlocked
  } else if (stunOk) {
    result.advice = SENTENCES.udpBlocked
  }
  return result
}
