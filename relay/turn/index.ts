/**
 * STUN and TURN on the relay: Debian's coturn (`turnserver`) as a supervised child process, configured from the
 * relay's own options, with time-limited REST credentials that peers get over libp2p (protocols/turn). Without the
 * binary the relay runs without TURN and says why.
 */
import { TypedEventEmitter } from 'main-event'
import { turnAddresses, turnConfig, turnUrls } from './config.ts'
import { findBinary, loadTurnSecret, writePrivate } from './files.ts'
import { freePort } from './probe.ts'
import { TurnStats } from './stats.ts'
import { Coturn } from './supervisor.ts'
import type { CoturnInit } from './supervisor.ts'
import type { ComponentLogger } from '@libp2p/interface'

export interface TurnOptions {
  /**
   * UDP and TCP port for STUN and TURN; 0 picks a free one at start.
   *
   * @default 3478
   */
  port: number
  /**
   * TLS port for turns:, used only with a certificate and key; 0 picks a free one at start.
   *
   * @default 5349
   */
  tlsPort: number
  /** PEM certificate (chain) and key for TURN over TLS. */
  tlsCert?: string
  tlsKey?: string
  /**
   * Addresses or names in the URLs.
   *
   * @default the --announce addresses, else the relay address of each family
   */
  hosts: string[]
  /**
   * Let allocations reach private and loopback peers (a LAN relay, tests).
   *
   * @default false
   */
  allowPrivate: boolean
  /**
   * Bytes per second one allocation may relay, each direction.
   *
   * @default 375_000 (3 Mbit/s)
   */
  maxBps: number
  /**
   * Bytes per second all allocations may reserve together; each allocation reserves maxBps. 0: no limit.
   *
   * @default 62_500_000 (500 Mbit/s)
   */
  bpsCapacity: number
  /**
   * Allocations one credential (one PeerId, at one relay) may hold at once.
   *
   * @default 32
   */
  userQuota: number
  /**
   * Allocations held at once, in all.
   *
   * @default 1024
   */
  totalQuota: number
  /**
   * How long a credential is good for new allocations, in seconds.
   *
   * @default 3_600
   */
  credentialTtl: number
  /**
   * UDP ports for relayed addresses.
   *
   * @default [49152, 65535]
   */
  relayPorts: [number, number]
  /**
   * The coturn binary, looked up in PATH when it has no slash.
   *
   * @default 'turnserver'
   */
  binary: string
}

export const DEFAULT_TURN: TurnOptions = {
  port: 3478,
  tlsPort: 5349,
  hosts: [],
  allowPrivate: false,
  maxBps: 375_000,
  bpsCapacity: 62_500_000,
  userQuota: 32,
  totalQuota: 1024,
  credentialTtl: 3_600,
  relayPorts: [49152, 65535],
  binary: 'turnserver'
}

export interface TurnStatus {
  /** up: coturn answers STUN; down: it is being restarted; off: not configured or not installed. */
  status: 'up' | 'down' | 'off'
  reason?: string
  /** coturn's process id while it runs. */
  pid?: number
  urls: string[]
  allocations: number
}

export interface RelayTurnEvents {
  status: CustomEvent<TurnStatus>
}

export interface RelayTurn extends TypedEventEmitter<RelayTurnEvents> {
  /** The shared secret for credentials; undefined when TURN is off. */
  readonly secret?: string
  readonly ttl: number
  readonly stats: TurnStats
  status(): TurnStatus
  /** Start coturn; resolves once it answers or its first start failed (it is retried). */
  start(logger: ComponentLogger): Promise<void>
  stop(): Promise<void>
}

export interface PrepareTurnInit {
  options: TurnOptions
  dataDir: string
  listen: string[]
  announce: string[]
}

/** TURN that is off, for a reason people read. */
class TurnOff extends TypedEventEmitter<RelayTurnEvents> implements RelayTurn {
  readonly ttl = 0
  readonly stats = new TurnStats()
  constructor (private readonly reason: string) { super() }
  status (): TurnStatus { return { status: 'off', reason: this.reason, urls: [], allocations: 0 } }
  async start (): Promise<void> {}
  async stop (): Promise<void> {}
}

class TurnOn extends TypedEventEmitter<RelayTurnEvents> implements RelayTurn {
  readonly stats = new TurnStats()
  private coturn?: Coturn

  constructor (readonly secret: string, readonly ttl: number, private readonly urls: string[], private readonly coturnInit: Omit<CoturnInit, 'stats' | 'log'>) {
    super()
  }

  status (): TurnStatus {
    const s = this.coturn?.state ?? { up: false, reason: 'starting' }
    return { status: s.up ? 'up' : 'down', reason: s.reason, pid: s.pid, urls: [...this.urls], allocations: this.stats.allocations.size }
  }

  async start (logger: ComponentLogger): Promise<void> {
    const coturn = this.coturn = new Coturn({ ...this.coturnInit, stats: this.stats, log: logger.forComponent('freeflow:relay:turn') })
    coturn.addEventListener('change', () => { this.safeDispatchEvent('status', { detail: this.status() }) })
    await coturn.start()
  }

  async stop (): Promise<void> { await this.coturn?.stop() }
}

/** TURN switched off by the operator (or by createRelay's caller). */
export function turnOff (reason: string): RelayTurn {
  return new TurnOff(reason)
}

/**
 * Everything up to starting coturn: find the binary, load (or create) the secret, choose addresses, port and URLs,
 * write the configuration. A missing binary or unusable addresses give TURN that is off, with the reason.
 */
export async function prepareTurn (init: PrepareTurnInit): Promise<RelayTurn> {
  const { options, dataDir } = init
  const binary = await findBinary(options.binary)
  if (binary == null) { return new TurnOff(`${options.binary} (coturn) is not installed: apt-get install coturn`) }
  let addrs
  try {
    addrs = turnAddresses(init.listen, init.announce, options.hosts)
  } catch (err: any) {
    return new TurnOff(err.message)
  }
  const dir = `${dataDir}/turn`
  const secret = await loadTurnSecret(dir)
  const port = options.port === 0 ? await freePort(addrs.listen) : options.port
  const tls = options.tlsCert != null && options.tlsKey != null
  const tlsPort = tls && options.tlsPort === 0 ? await freePort(addrs.listen, [port]) : options.tlsPort
  const urls = turnUrls(addrs.hosts, port, tls ? tlsPort : undefined)
  const configFile = `${dir}/turnserver.conf`
  await writePrivate(configFile, turnConfig({ ...options, tlsPort }, port, addrs, { secret, pidFile: `${dir}/turnserver.pid`, userDb: `${dir}/turndb` }))
  const ports = [port, ...(tls ? [tlsPort] : [])]
  return new TurnOn(secret, options.credentialTtl, urls, { binary, configFile, listen: addrs.listen, ports })
}
