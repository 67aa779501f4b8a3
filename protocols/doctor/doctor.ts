/** Running the doctor's three checks on a node's bootstrap and TURN client services (index.ts says what each checks). */
import { parseBootstrap } from '../bootstrap/index.ts'
import { raceSignal } from '../util/abort.ts'
import { adviseRelay, adviseStun, adviseTurn, turnTransport } from './advice.ts'
import { gather } from './gather.ts'
import type { CredentialOutcome } from './advice.ts'
import type { GatherResult } from './gather.ts'
import type { CheckResult, DoctorInit, DoctorReport, TransportResult } from './index.ts'
import type { BootstrapStatus } from '../bootstrap/index.ts'
import type { RelayTurnCredentials } from '../turn/index.ts'
import type { AbortOptions } from '@libp2p/interface'

const DEFAULTS = { relayTimeout: 10_000, gatherTimeout: 10_000 }

/** Deadline for asking one relay for TURN credentials, in ms (the TURN client's own request deadline). */
const CREDENTIALS_TIMEOUT = 10_000

/**
 * The relays as the bootstrap service sees them, once one is connected, each of the `known` relays has failed at
 * least once, or `timeout` ms have passed.
 */
async function relayStatuses (bootstrap: DoctorInit['bootstrap'], known: number | undefined, timeout: number, options: AbortOptions): Promise<BootstrapStatus[]> {
  if (bootstrap == null || known === 0) { return [] }
  const settled = (): boolean => {
    const all = bootstrap.statuses()
    return all.some(s => s.connected) || (all.length > 0 && all.filter(s => s.error != null).length >= (known ?? all.length))
  }
  if (settled()) { return bootstrap.statuses() }
  const done = new AbortController()
  const onStatus = (): void => { if (settled()) { done.abort() } }
  bootstrap.addEventListener('status', onStatus)
  const timer = setTimeout(() => { done.abort() }, timeout)
  try {
    await raceSignal(new Promise<void>(resolve => { done.signal.addEventListener('abort', () => { resolve() }, { once: true }) }), options.signal)
  } finally {
    clearTimeout(timer)
    bootstrap.removeEventListener('status', onStatus)
  }
  return bootstrap.statuses()
}

function outcomeOf (err: any): CredentialOutcome {
  switch (err?.name) {
    case 'TurnUnavailableError': return { kind: 'down' }
    case 'RateLimitedError': return { kind: 'limited' }
    // the relay does not speak /freeflow/turn/1.0.0: it runs without TURN
    case 'UnsupportedProtocolError': return { kind: 'none' }
    default: return { kind: 'error', message: String(err?.message ?? err) }
  }
}

/** TURN credentials from each connected relay: those the TURN client holds, else asked for now. */
async function relayCredentials (init: DoctorInit, connected: BootstrapStatus[], options: AbortOptions): Promise<{ outcome: CredentialOutcome, creds: RelayTurnCredentials[] }> {
  const turn = init.turn
  if (turn == null) { return { outcome: { kind: 'none' }, creds: [] } }
  const held = turn.credentials()
  const outcomes = await Promise.all(connected.map(async (s): Promise<CredentialOutcome & { creds?: RelayTurnCredentials }> => {
    const { peerId } = parseBootstrap(s.addr)
    const have = held.find(c => c.relay.equals(peerId))
    if (have != null) { return { kind: 'ok', urls: have.urls, creds: have } }
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(CREDENTIALS_TIMEOUT), ...(options.signal != null ? [options.signal] : [])])
      const creds = await turn.request(peerId, { signal })
      return { kind: 'ok', urls: creds.urls, creds }
    } catch (err: any) {
      options.signal?.throwIfAborted()
      return outcomeOf(err)
    }
  }))
  const creds = outcomes.flatMap(o => o.creds != null ? [o.creds] : [])
  if (creds.length > 0) { return { outcome: { kind: 'ok', urls: creds.flatMap(c => c.urls) }, creds } }
  // a relay that is down says more than one that runs no TURN at all
  const order: Array<CredentialOutcome['kind']> = ['down', 'limited', 'error', 'none']
  const worst = order.map(k => outcomes.find(o => o.kind === k)).find(o => o != null)
  return { outcome: worst ?? { kind: 'none' }, creds }
}

function gatherError (g: GatherResult, timeout: number): string {
  const e = g.errors[0]
  if (e != null) { return `${e.errorCode} ${e.errorText}`.trim() }
  return g.complete ? 'no relay candidate' : `no relay candidate within ${Math.round(timeout / 1000)} s`
}

const skipped = (name: 'stun' | 'turn'): CheckResult => ({ name, status: 'skip', detail: 'Needs a relay.' })

export async function runDoctor (init: DoctorInit, options: AbortOptions = {}): Promise<DoctorReport> {
  const gatherTimeout = init.gatherTimeout ?? DEFAULTS.gatherTimeout
  const relayTimeout = init.relayTimeout ?? DEFAULTS.relayTimeout
  const known = init.bootstrap == null ? 0 : init.relays
  const statuses = await relayStatuses(init.bootstrap, known, relayTimeout, options)
  const relay = adviseRelay(statuses, known ?? statuses.length, relayTimeout)
  init.onResult?.(relay)
  if (relay.status !== 'pass') {
    const report = { relay, stun: skipped('stun'), turn: skipped('turn') }
    init.onResult?.(report.stun)
    init.onResult?.(report.turn)
    return report
  }

  const { outcome, creds } = await relayCredentials(init, statuses.filter(s => s.connected), options)
  const stunUrls = [...new Set(creds.flatMap(c => c.urls.filter(u => u.startsWith('stun:'))))]
  const turnServers = creds.flatMap(c => c.urls.filter(u => u.startsWith('turn:') || u.startsWith('turns:')).map(url => ({ url, username: c.username, credential: c.credential })))
  const [stunResults, turnResults] = await Promise.all([
    Promise.all(stunUrls.map(async url => gather(init.RTCPeerConnection, { iceServers: [{ urls: url }] }, { timeout: gatherTimeout, stopWhen: c => c.type === 'srflx' }, options))),
    Promise.all(turnServers.map(async (server): Promise<TransportResult> => {
      const config: RTCConfiguration = { iceServers: [{ urls: server.url, username: server.username, credential: server.credential }], iceTransportPolicy: 'relay' }
      const g = await gather(init.RTCPeerConnection, config, { timeout: gatherTimeout, stopWhen: c => c.type === 'relay' }, options)
      const ok = g.candidates.some(c => c.type === 'relay')
      return { transport: turnTransport(server.url), url: server.url, ok, ...(ok ? {} : { error: gatherError(g, gatherTimeout) }) }
    }))
  ])
  const stun = adviseStun(outcome, stunResults, turnResults)
  const turn = adviseTurn(outcome, turnResults, stun.status === 'pass')
  init.onResult?.(stun)
  init.onResult?.(turn)
  return { relay, stun, turn }
}
