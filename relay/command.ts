/**
 * `freeflow relay`: run a community relay. Output for people by default, JSON lines with --json; bad input is one
 * sentence and exit code 2, a relay that cannot start one sentence and exit code 1.
 */
import { constants, existsSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bootstrapArg, InputError, onSignals, parse, positiveInt, printer, reportBootstrap, runCommand, UsageError } from '../node/cli-kit.ts'
import { defaultDataDir, loadIdentity } from '../node/identity.ts'
import { generateRoomKey } from '../protocols/room-key/index.ts'
import { parseTrustedProxies } from './forwarded.ts'
import { DEFAULT_HTTP_MAX_CONNECTIONS } from './http.ts'
import { createRelay, DEFAULT_LIMITS } from './relay.ts'
import { DEFAULT_TURN } from './turn/index.ts'
import type { RelayInit, RelayLimits } from './relay.ts'
import type { Out } from '../node/cli-kit.ts'
import type { RelayTurn, TurnOptions, TurnStatus } from './turn/index.ts'

export const USAGE = `usage:
  freeflow relay [--listen <multiaddr>...] [--announce <multiaddr>...] [--bootstrap <multiaddr>...] [--data-dir <dir>]
                 [--http <host:port>] [--metrics <[host:]port>] [--json] [--print-link]
                 [--frame-ancestors <origin>...] [--serve-source-maps] [--http-max-connections N]
                 [--max-reservations N] [--max-reservations-per-ip N] [--max-connections N] [--max-connections-per-ip N]
                 [--trusted-proxy <ip>...]
                 [--relay-duration <seconds>] [--relay-data <bytes>]
                 [--dht-max-providers N] [--dht-max-providers-per-peer N]
                 [--no-turn] [--turn-port N] [--turn-host <address or name>...] [--turn-allow-private]
                 [--turn-tls-cert <pem> --turn-tls-key <pem>] [--turn-tls-port N]
                 [--turn-max-bps <bytes/s>] [--turn-bps-capacity <bytes/s>] [--turn-user-quota N]
                 [--turn-total-quota N] [--turn-credential-ttl <seconds>] [--turn-relay-ports <min-max>]`

/** Most --turn-host values: each adds 3 or 4 URLs, and a response carries at most 16. */
const MAX_TURN_HOSTS = 4

/** host:port, IPv6 in brackets; with a defaultHost, a bare port binds there. */
function parseHostPort (text: string, flag: string, defaultHost?: string): { host: string, port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text) ?? (defaultHost != null ? /^()(\d+)$/.exec(text) : null)
  if (m == null) { throw new UsageError(`${flag} expects ${defaultHost != null ? '[host:]port' : 'host:port'}, got '${text}'`) }
  const port = Number(m[2])
  if (port > 65535) { throw new UsageError(`${flag} port ${port} is out of range`) }
  return { host: m[1] !== '' ? m[1] : (defaultHost ?? m[1]), port }
}

/** An origin that may embed the app: `self`, or a scheme, host (a leading `*.` allowed) and optional port. */
function frameAncestor (text: string): string {
  if (text === 'self' || text === "'self'") { return "'self'" }
  if (!/^https?:\/\/(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/.test(text)) {
    throw new UsageError(`--frame-ancestors takes origins such as https://example.org or self, got '${text}'`)
  }
  return text
}

function httpArgs (values: Record<string, unknown>): RelayInit['http'] {
  const ancestors = ((values['frame-ancestors'] as string[] | undefined) ?? []).flatMap(v => v.split(/[\s,]+/)).filter(v => v !== '')
  const maxConnections = positiveInt(values['http-max-connections'], '--http-max-connections')
  if (values.http == null) {
    if (ancestors.length > 0 || values['serve-source-maps'] === true || maxConnections != null) {
      throw new UsageError('--frame-ancestors, --serve-source-maps and --http-max-connections go with --http')
    }
    return undefined
  }
  return {
    ...parseHostPort(String(values.http), '--http'),
    frameAncestors: ancestors.map(frameAncestor),
    sourceMaps: values['serve-source-maps'] === true,
    maxConnections: maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS
  }
}

function wholeNumber (value: unknown, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value == null) { return undefined }
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) { throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`) }
  return n
}

async function readable (file: string, flag: string): Promise<string> {
  try {
    await access(file, constants.R_OK)
  } catch {
    throw new InputError(`${flag}: cannot read ${file}`)
  }
  return file
}

async function turnArgs (values: Record<string, unknown>): Promise<Partial<TurnOptions> | false> {
  if (values['no-turn'] === true) { return false }
  const cert = values['turn-tls-cert'] as string | undefined
  const key = values['turn-tls-key'] as string | undefined
  if ((cert == null) !== (key == null)) { throw new UsageError('--turn-tls-cert and --turn-tls-key go together') }
  const hosts = (values['turn-host'] as string[] | undefined) ?? []
  if (hosts.length > MAX_TURN_HOSTS) { throw new UsageError(`at most ${MAX_TURN_HOSTS} --turn-host`) }
  if (hosts.some(h => !/^[0-9A-Za-z.:-]+$/.test(h))) { throw new UsageError('--turn-host takes an IP address or a DNS name') }
  let relayPorts: [number, number] | undefined
  if (values['turn-relay-ports'] != null) {
    const m = /^(\d+)-(\d+)$/.exec(String(values['turn-relay-ports']))
    const [lo, hi] = m == null ? [0, 0] : [Number(m[1]), Number(m[2])]
    if (m == null || lo < 1024 || hi > 65535 || lo >= hi) { throw new UsageError('--turn-relay-ports takes <min>-<max>, within 1024-65535') }
    relayPorts = [lo, hi]
  }
  const options: Partial<TurnOptions> = {
    port: wholeNumber(values['turn-port'], '--turn-port', 0, 65535),
    tlsPort: wholeNumber(values['turn-tls-port'], '--turn-tls-port', 0, 65535),
    tlsCert: cert != null ? await readable(cert, '--turn-tls-cert') : undefined,
    tlsKey: key != null ? await readable(key, '--turn-tls-key') : undefined,
    hosts,
    allowPrivate: values['turn-allow-private'] === true,
    maxBps: positiveInt(values['turn-max-bps'], '--turn-max-bps'),
    bpsCapacity: wholeNumber(values['turn-bps-capacity'], '--turn-bps-capacity', 0),
    userQuota: positiveInt(values['turn-user-quota'], '--turn-user-quota'),
    totalQuota: positiveInt(values['turn-total-quota'], '--turn-total-quota'),
    credentialTtl: wholeNumber(values['turn-credential-ttl'], '--turn-credential-ttl', 60, 7 * 86_400),
    relayPorts
  }
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v != null))
}

function limitsArgs (values: Record<string, unknown>): RelayLimits {
  const duration = positiveInt(values['relay-duration'], '--relay-duration')
  const data = positiveInt(values['relay-data'], '--relay-data')
  return {
    maxReservations: positiveInt(values['max-reservations'], '--max-reservations') ?? DEFAULT_LIMITS.maxReservations,
    maxReservationsPerIp: positiveInt(values['max-reservations-per-ip'], '--max-reservations-per-ip') ?? DEFAULT_LIMITS.maxReservationsPerIp,
    maxConnections: positiveInt(values['max-connections'], '--max-connections') ?? DEFAULT_LIMITS.maxConnections,
    maxConnectionsPerIp: positiveInt(values['max-connections-per-ip'], '--max-connections-per-ip') ?? DEFAULT_LIMITS.maxConnectionsPerIp,
    relayDuration: duration != null ? duration * 1000 : DEFAULT_LIMITS.relayDuration,
    relayData: data != null ? BigInt(data) : DEFAULT_LIMITS.relayData,
    dhtMaxProviders: positiveInt(values['dht-max-providers'], '--dht-max-providers') ?? DEFAULT_LIMITS.dhtMaxProviders,
    dhtMaxProvidersPerPeer: positiveInt(values['dht-max-providers-per-peer'], '--dht-max-providers-per-peer') ?? DEFAULT_LIMITS.dhtMaxProvidersPerPeer
  }
}

/** Print TURN's status now and at each change. */
function reportTurn (turn: RelayTurn, out: Out): void {
  const print = (s: TurnStatus): void => {
    if (s.status === 'up') {
      out({ event: 'turn', status: 'up', pid: s.pid, urls: s.urls }, `TURN up (coturn pid ${String(s.pid)}): ${s.urls.join(' ')}`)
    } else if (s.status === 'down') {
      out({ event: 'turn', status: 'down', reason: s.reason }, `TURN down: ${s.reason ?? 'unknown'}; restarting`)
    } else {
      out({ event: 'turn', status: 'off', reason: s.reason }, `TURN off: ${s.reason ?? 'not configured'}`)
    }
  }
  print(turn.status())
  turn.addEventListener('status', ({ detail }) => { print(detail) })
}

async function relayCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    listen: { type: 'string', multiple: true },
    announce: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    http: { type: 'string' },
    metrics: { type: 'string' },
    'frame-ancestors': { type: 'string', multiple: true },
    'serve-source-maps': { type: 'boolean', default: false },
    'http-max-connections': { type: 'string' },
    json: { type: 'boolean', default: false },
    'print-link': { type: 'boolean', default: false },
    bootstrap: { type: 'string', multiple: true },
    'max-reservations': { type: 'string' },
    'max-reservations-per-ip': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-connections-per-ip': { type: 'string' },
    'trusted-proxy': { type: 'string', multiple: true },
    'relay-duration': { type: 'string' },
    'relay-data': { type: 'string' },
    'dht-max-providers': { type: 'string' },
    'dht-max-providers-per-peer': { type: 'string' },
    'no-turn': { type: 'boolean', default: false },
    'turn-port': { type: 'string' },
    'turn-tls-port': { type: 'string' },
    'turn-tls-cert': { type: 'string' },
    'turn-tls-key': { type: 'string' },
    'turn-host': { type: 'string', multiple: true },
    'turn-allow-private': { type: 'boolean', default: false },
    'turn-max-bps': { type: 'string' },
    'turn-bps-capacity': { type: 'string' },
    'turn-user-quota': { type: 'string' },
    'turn-total-quota': { type: 'string' },
    'turn-credential-ttl': { type: 'string' },
    'turn-relay-ports': { type: 'string' }
  })
  if (positionals.length > 0) { throw new UsageError(`unexpected argument '${positionals[0]}'`) }
  const bootstrap = bootstrapArg(values.bootstrap, false)
  const http = httpArgs(values)
  // loopback unless a host is named: Prometheus text tells strangers too much about the relay
  const metrics = values.metrics != null ? parseHostPort(String(values.metrics), '--metrics', '127.0.0.1') : undefined
  const limits = limitsArgs(values)
  const turn = await turnArgs(values)
  let trustedProxies: Set<string>
  try {
    trustedProxies = parseTrustedProxies((values['trusted-proxy'] as string[] | undefined) ?? [])
  } catch (err: any) {
    throw new UsageError(err.message)
  }
  const out = printer(values.json === true)
  const dataDir = String(values['data-dir'] ?? defaultDataDir('relay'))
  const privateKey = await loadIdentity(dataDir)
  const appDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'browser', 'app')
  let relay
  try {
    // relays that know each other make one DHT: members who bootstrapped from different relays still meet
    relay = await createRelay({ privateKey, listen: values.listen as string[] | undefined, announce: values.announce as string[] | undefined, http, metrics, appDir, limits, bootstrap, dataDir, trustedProxies, turn: turn === false ? false : { ...DEFAULT_TURN, ...turn } })
  } catch (err: any) {
    throw new Error(`the relay could not start: ${err.message}`)
  }
  const addrs = relay.node.getMultiaddrs().map(a => a.toString())
  out({ event: 'listening', peerId: relay.node.peerId.toString(), addrs, http: relay.http?.url ?? null, metrics: relay.metrics?.url ?? null, turnUrls: relay.turn.status().urls },
    `relay ${relay.node.peerId.toString()} listening on\n${addrs.map(a => '  ' + a).join('\n')}` +
    `${relay.http != null ? `\nhealth at ${relay.http.url}/healthz` : ''}${relay.metrics != null ? `\nmetrics at ${relay.metrics.url}/metrics` : ''}`)
  if (values['print-link'] === true) {
    const key = await generateRoomKey()
    const tcpAddr = addrs.find(a => a.includes('/tcp/') && !a.includes('/ws')) ?? addrs[0]
    const webApp = relay.http != null && existsSync(join(appDir, 'index.html'))
    const lines = [
      '',
      `A fresh room key: ${key}`,
      webApp ? `Open in a browser:  ${relay.http?.url ?? ''}/#room=${key}` : undefined,
      `Join from a terminal: npx freeflow join ${key} --name <your name> --bootstrap ${tcpAddr}`,
      ''
    ].filter(l => l != null)
    out({ event: 'link', roomKey: key, url: webApp ? `${relay.http?.url ?? ''}/#room=${key}` : null, bootstrap: tcpAddr }, lines.join('\n'))
  }
  reportTurn(relay.turn, out)
  reportBootstrap(relay.node.services.bootstrap, out, 'relay ')
  const running = relay
  onSignals(async () => {
    await running.stop()
  })
}

/** `freeflow relay …`; -1: it runs until a signal. */
export async function main (argv: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    await relayCommand(argv)
    return -1
  })
}
