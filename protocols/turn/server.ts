import { serviceCapabilities } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { MAX_TURN_REQUEST_SIZE, TURN_PROTOCOL } from './constants.ts'
import { hmacKey, turnCredential, turnUsername } from './credentials.ts'
import { addressKey, WindowLimiter } from './limits.ts'
import { TurnRequest, TurnResponse } from './pb/turn.ts'
import type { IssuedCredential, TurnServer, TurnServerComponents, TurnServerInit } from './index.ts'
import type { Connection, CounterGroup, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

const DEFAULTS = {
  ttl: 3_600,
  maxRequestsPerPeer: 10,
  maxRequestsPerIp: 60,
  maxTracked: 10_000,
  timeout: 10_000,
  maxInboundStreams: 2
}

/** The limits count requests per minute. */
const WINDOW_MS = 60_000

/** The metric label for each answer. */
const RESULT: Record<TurnResponse.Status, string> = {
  [TurnResponse.Status.OK]: 'ok',
  [TurnResponse.Status.RATE_LIMITED]: 'rate_limited',
  [TurnResponse.Status.UNAVAILABLE]: 'unavailable'
}

/** Shortest credential lifetime, in seconds: coturn counts whole seconds, and a client needs time to use it. */
const MIN_TTL = 10

/** A relay whose TURN server is down asks peers to come back after this, in seconds: long enough for a restart. */
const UNAVAILABLE_RETRY_AFTER = 30

export class TurnServerService implements TurnServer, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/turn-server'
  readonly [serviceCapabilities]: string[] = ['@freeflow/turn-server']
  private readonly components: TurnServerComponents
  private readonly init: TurnServerInit
  private readonly config: typeof DEFAULTS
  private readonly now: () => number
  private readonly log: Logger
  private readonly perPeer: WindowLimiter
  private readonly perIp: WindowLimiter
  private key?: Promise<CryptoKey>
  private shutdown = new AbortController()
  private counter?: CounterGroup

  constructor (components: TurnServerComponents, init: TurnServerInit) {
    this.components = components
    this.init = init
    this.config = {
      ttl: init.ttl ?? DEFAULTS.ttl,
      maxRequestsPerPeer: init.maxRequestsPerPeer ?? DEFAULTS.maxRequestsPerPeer,
      maxRequestsPerIp: init.maxRequestsPerIp ?? DEFAULTS.maxRequestsPerIp,
      maxTracked: init.maxTracked ?? DEFAULTS.maxTracked,
      timeout: init.timeout ?? DEFAULTS.timeout,
      maxInboundStreams: init.maxInboundStreams ?? DEFAULTS.maxInboundStreams
    }
    if (init.secret.length === 0) { throw new Error('the TURN shared secret is empty') }
    if (!Number.isInteger(this.config.ttl) || this.config.ttl < MIN_TTL) { throw new Error(`a TURN credential must live at least ${MIN_TTL} s`) }
    this.now = init.now ?? Date.now
    this.log = components.logger.forComponent('freeflow:turn:server')
    this.perPeer = new WindowLimiter(this.config.maxRequestsPerPeer, WINDOW_MS, this.config.maxTracked, this.now)
    this.perIp = new WindowLimiter(this.config.maxRequestsPerIp, WINDOW_MS, this.config.maxTracked, this.now)
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    this.key = hmacKey(this.init.secret)
    this.counter = this.components.metrics?.registerCounterGroup('freeflow_turn_credential_requests_total', {
      label: 'result',
      help: 'TURN credential requests by result'
    })
    await this.components.registrar.handle(TURN_PROTOCOL, (stream, connection) => {
      void this.onStream(stream, connection)
    }, {
      maxInboundStreams: this.config.maxInboundStreams,
      // credentials go only to peers with a direct connection: a relayed one says nothing about the address asking
      runOnLimitedConnection: false
    })
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    await this.components.registrar.unhandle(TURN_PROTOCOL)
  }

  async issue (peerId: PeerId): Promise<IssuedCredential> {
    const ttl = this.config.ttl
    const username = await turnUsername(peerId, Math.floor(this.now() / 1000) + ttl)
    const key = this.key ?? (this.key = hmacKey(this.init.secret))
    return { urls: this.init.urls(), username, credential: await turnCredential(await key, username), ttl }
  }

  private async answer (connection: Connection): Promise<TurnResponse> {
    const empty = { urls: [], username: '', credential: '', ttl: 0 }
    if (this.init.available?.() === false) {
      return { ...empty, status: TurnResponse.Status.UNAVAILABLE, retryAfter: UNAVAILABLE_RETRY_AFTER }
    }
    const peerWait = this.perPeer.take(connection.remotePeer.toString())
    const ip = addressKey(connection.remoteAddr)
    const ipWait = peerWait > 0 || ip == null ? 0 : this.perIp.take(ip)
    const wait = Math.max(peerWait, ipWait)
    if (wait > 0) {
      this.log('refused %p (%s): rate limited for %d ms', connection.remotePeer, peerWait > 0 ? 'peer' : 'address', wait)
      return { ...empty, status: TurnResponse.Status.RATE_LIMITED, retryAfter: Math.ceil(wait / 1000) }
    }
    const issued = await this.issue(connection.remotePeer)
    // the operator can tie a username in coturn's log to the PeerId it was given to
    this.log('issued TURN username %s to %p', issued.username, connection.remotePeer)
    return { ...issued, status: TurnResponse.Status.OK, retryAfter: 0 }
  }

  private async onStream (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.config.timeout)])
    const pb = pbStream(stream, { maxDataLength: MAX_TURN_REQUEST_SIZE })
    try {
      await pb.read(TurnRequest, { signal })
      const response = await this.answer(connection)
      await pb.write(response, TurnResponse, { signal })
      this.count(response.status)
      await stream.close({ signal })
    } catch (err: any) {
      this.counter?.increment({ failed: true })
      this.log('request from %p failed - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }

  private count (status: TurnResponse.Status): void {
    this.counter?.increment({ [RESULT[status]]: true })
  }
}
