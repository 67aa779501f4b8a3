import { serviceCapabilities } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { Backoff, sleep } from '../util/backoff.ts'
import { MAX_TURN_RESPONSE_SIZE, MAX_TURN_URLS, TURN_PROTOCOL } from './constants.ts'
import { InvalidTurnResponseError, NotConnectedError, RateLimitedError, TurnUnavailableError } from './errors.ts'
import { TurnRequest, TurnResponse } from './pb/turn.ts'
import type { RelayTurnCredentials, TurnClient, TurnClientComponents, TurnClientEvents, TurnClientInit } from './index.ts'
import type { AbortOptions, Connection, Logger, PeerId, Startable } from '@libp2p/interface'

const DEFAULTS = { timeout: 10_000, renewAt: 0.75, initialBackoff: 5_000, maxBackoff: 300_000 }

/** Longest URL accepted from a relay, in characters. */
const MAX_URL_LENGTH = 256

/** Longest username or credential accepted from a relay, in characters (ours are 27 and 28). */
const MAX_SECRET_LENGTH = 256

interface Relay {
  peerId: PeerId
  creds?: RelayTurnCredentials
  /** When to ask again, ms since the epoch. */
  renewAt: number
  /** Ends the loop's current pause early: the connection came or went. */
  wake: AbortController
  loop?: Promise<void>
}

/** Check a relay's answer; throws for a refusal or an answer that breaks the rules. */
export function credentialsFrom (relay: PeerId, res: TurnResponse, now: number): RelayTurnCredentials {
  if (res.status === TurnResponse.Status.RATE_LIMITED) { throw new RateLimitedError('the relay says: too many TURN credential requests', res.retryAfter) }
  if (res.status === TurnResponse.Status.UNAVAILABLE) { throw new TurnUnavailableError('the relay\'s TURN server is down', res.retryAfter) }
  if (res.status !== TurnResponse.Status.OK) { throw new InvalidTurnResponseError(`unknown status ${String(res.status)}`) }
  if (res.urls.length === 0) { throw new InvalidTurnResponseError('no URLs') }
  for (const url of res.urls) {
    if (url.length > MAX_URL_LENGTH || !/^(stun|stuns|turn|turns):[^\s]+$/.test(url)) { throw new InvalidTurnResponseError(`not a STUN or TURN URL: ${url.slice(0, 64)}`) }
  }
  if (res.username === '' || res.credential === '' || res.username.length > MAX_SECRET_LENGTH || res.credential.length > MAX_SECRET_LENGTH) {
    throw new InvalidTurnResponseError('no username or credential')
  }
  if (res.ttl <= 0) { throw new InvalidTurnResponseError('a credential that has already expired') }
  return { relay, urls: [...res.urls], username: res.username, credential: res.credential, expiresAt: now + res.ttl * 1000 }
}

export class TurnClientService extends TypedEventEmitter<TurnClientEvents> implements TurnClient, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/turn-client'
  readonly [serviceCapabilities]: string[] = ['@freeflow/turn-client']
  private readonly components: TurnClientComponents
  private readonly config: Required<TurnClientInit>
  private readonly log: Logger
  private readonly relays = new Map<string, Relay>()
  private shutdown = new AbortController()
  private topologyId?: string

  constructor (components: TurnClientComponents, init: TurnClientInit) {
    super()
    this.components = components
    this.config = {
      timeout: init.timeout ?? DEFAULTS.timeout,
      renewAt: Math.min(Math.max(init.renewAt ?? DEFAULTS.renewAt, 0.1), 0.95),
      initialBackoff: init.initialBackoff ?? DEFAULTS.initialBackoff,
      maxBackoff: init.maxBackoff ?? DEFAULTS.maxBackoff
    }
    this.log = components.logger.forComponent('freeflow:turn:client')
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    // a relay that serves TURN credentials says so in identify; this hears of it when it connects
    this.topologyId = await this.components.registrar.register(TURN_PROTOCOL, {
      onConnect: (peerId) => { this.relayFor(peerId).wake.abort() },
      onDisconnect: (peerId) => { this.relays.get(peerId.toString())?.wake.abort() }
    })
  }

  async stop (): Promise<void> {
    if (this.topologyId != null) { this.components.registrar.unregister(this.topologyId) }
    this.topologyId = undefined
    this.shutdown.abort()
    await Promise.all([...this.relays.values()].map(async r => r.loop))
    this.relays.clear()
  }

  credentials (): RelayTurnCredentials[] {
    const now = Date.now()
    return [...this.relays.values()].flatMap(r => r.creds != null && r.creds.expiresAt > now ? [{ ...r.creds, urls: [...r.creds.urls] }] : [])
  }

  iceServers (): RTCIceServer[] {
    return this.credentials().map(c => ({ urls: c.urls, username: c.username, credential: c.credential }))
  }

  async request (relay: PeerId, options: AbortOptions = {}): Promise<RelayTurnCredentials> {
    const connection = this.connectionTo(relay)
    if (connection == null) { throw new NotConnectedError(`no open direct connection to ${relay.toString()}`) }
    const signal = AbortSignal.any([this.shutdown.signal, options.signal ?? AbortSignal.timeout(this.config.timeout)])
    const stream = await connection.newStream(TURN_PROTOCOL, { signal })
    let creds: RelayTurnCredentials
    try {
      const pb = pbStream(stream, { maxDataLength: MAX_TURN_RESPONSE_SIZE })
      await pb.write({}, TurnRequest, { signal })
      const res = await pb.read(TurnResponse, { signal, limits: { urls: MAX_TURN_URLS } })
      await stream.close({ signal })
      creds = credentialsFrom(relay, res, Date.now())
      const r = this.relayFor(relay)
      r.creds = creds
      r.renewAt = Date.now() + (creds.expiresAt - Date.now()) * this.config.renewAt
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
    this.log('TURN credentials from %p, good for %d s', relay, Math.round((creds.expiresAt - Date.now()) / 1000))
    this.changed()
    return { ...creds, urls: [...creds.urls] }
  }

  private connectionTo (peerId: PeerId): Connection | undefined {
    return this.components.connectionManager.getConnections(peerId).find(c => c.status === 'open' && c.limits == null)
  }

  private changed (): void {
    this.safeDispatchEvent('change', { detail: this.iceServers() })
  }

  /** The relay's entry, with its loop running. */
  private relayFor (peerId: PeerId): Relay {
    const key = peerId.toString()
    let r = this.relays.get(key)
    if (r == null) {
      r = { peerId, renewAt: 0, wake: new AbortController() }
      this.relays.set(key, r)
    }
    if (r.loop == null && !this.shutdown.signal.aborted) {
      const relay = r
      relay.loop = this.keep(relay).finally(() => { relay.loop = undefined })
    }
    return r
  }

  /** Forget credentials that expired, and say so. */
  private expire (r: Relay): void {
    if (r.creds != null && r.creds.expiresAt <= Date.now()) {
      r.creds = undefined
      this.changed()
    }
  }

  /**
   * One relay's loop: ask while connected, ask again before the credentials expire, back off after a failure (or wait
   * as long as the relay asks). Without a connection the credentials stay while they last: coturn does not need the
   * libp2p connection. The loop ends when they expire unconnected, or when the service stops.
   */
  private async keep (r: Relay): Promise<void> {
    const signal = this.shutdown.signal
    const backoff = new Backoff({ initial: this.config.initialBackoff, max: this.config.maxBackoff })
    await Promise.resolve()
    while (!signal.aborted) {
      this.expire(r)
      r.wake = new AbortController()
      const wake = AbortSignal.any([signal, r.wake.signal])
      const untilExpiry = r.creds != null ? r.creds.expiresAt - Date.now() : 0
      if (this.connectionTo(r.peerId) == null) {
        if (r.creds == null) { break }
        await sleep(untilExpiry, { signal: wake })
        continue
      }
      if (r.creds != null && r.renewAt > Date.now()) {
        await sleep(r.renewAt - Date.now(), { signal: wake })
        continue
      }
      try {
        await this.request(r.peerId, { signal: AbortSignal.timeout(this.config.timeout) })
        backoff.reset()
      } catch (err: any) {
        if (signal.aborted) { break }
        this.log('no TURN credentials from %p - %e', r.peerId, err)
        const asked = typeof err.retryAfter === 'number' && err.retryAfter > 0 ? Math.min(err.retryAfter * 1000, this.config.maxBackoff) : undefined
        const pause = asked ?? backoff.next()
        await sleep(r.creds != null ? Math.min(pause, Math.max(untilExpiry, 0)) : pause, { signal: wake })
      }
    }
    if (!signal.aborted && this.relays.get(r.peerId.toString()) === r) {
      this.relays.delete(r.peerId.toString())
    }
  }
}
