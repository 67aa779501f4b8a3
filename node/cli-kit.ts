/**
 * What every `freeflow` command shares: argument parsing that fails with one sentence, output for people or JSON
 * lines, clean shutdown on SIGINT/SIGTERM, and the exit codes (2: bad input, 1: failure at run time, -1: a
 * long-running command that exits on a signal). Used by node/cli.ts (room, join, record) and relay/command.ts.
 */
import { parseArgs } from 'node:util'
import { InvalidBootstrapAddressError, parseBootstrap } from '../protocols/bootstrap/index.ts'
import { InvalidRoomKeyError } from '../protocols/room-key/index.ts'
import type { BootstrapStatus } from '../protocols/bootstrap/index.ts'
import type { ParseArgsConfig } from 'node:util'

export class UsageError extends Error {
  static readonly name = 'UsageError'
  readonly name = 'UsageError'
}

/** Bad input named by the person (a folder that cannot be written, say): one sentence and exit code 2. */
export class InputError extends Error {
  static readonly name: string = 'InputError'
  readonly name: string = 'InputError'
}

export type Out = (event: Record<string, unknown>, human: string) => void

export function printer (json: boolean): Out {
  return (event, human) => {
    process.stdout.write(json ? JSON.stringify(event) + '\n' : human + '\n')
  }
}

export function parse (args: string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err: any) {
    throw new UsageError(err.message)
  }
}

export function positiveInt (value: unknown, flag: string): number | undefined {
  if (value == null) { return undefined }
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) { throw new UsageError(`${flag} must be a positive whole number`) }
  return n
}

/** Bootstrap addresses from a flag; each must end in /p2p/<id>. `required`: at least one. */
export function bootstrapArg (value: unknown, required: boolean): string[] {
  const bootstrap = (value as string[] | undefined) ?? []
  if (required && bootstrap.length === 0) { throw new UsageError('at least one --bootstrap <multiaddr> is needed to find the room') }
  bootstrap.forEach(parseBootstrap)
  return bootstrap
}

/** A STUN/TURN URL as RFC 7064/7065 write it: scheme, host (IPv6 in brackets), optional port and transport. */
const ICE_URL = /^(stun|stuns|turn|turns):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/

/**
 * Extra ICE servers named on the command line: `--ice-server <url>` (repeatable), and for turn:/turns: URLs one
 * `--ice-username` and `--ice-credential` that go with all of them. Used after the relays' own servers, never instead.
 */
export function iceServersArg (values: Record<string, unknown>): RTCIceServer[] {
  const urls = (values['ice-server'] as string[] | undefined) ?? []
  const username = values['ice-username'] as string | undefined
  const credential = values['ice-credential'] as string | undefined
  for (const url of urls) {
    const m = ICE_URL.exec(url)
    if (m == null) { throw new UsageError(`--ice-server ${url} is not a STUN or TURN URL (stun:host[:port], turn:host[:port][?transport=udp|tcp], turns:…)`) }
    if (m[3] != null && (Number(m[3].slice(1)) < 1 || Number(m[3].slice(1)) > 65535)) { throw new UsageError(`--ice-server ${url}: the port must be 1-65535`) }
    if (m[1].startsWith('stun') && m[4] != null) { throw new UsageError(`--ice-server ${url}: a STUN URL takes no transport`) }
  }
  const stun = urls.filter(u => u.startsWith('stun'))
  const turn = urls.filter(u => u.startsWith('turn'))
  if (turn.length > 0 && (username == null || username === '' || credential == null || credential === '')) {
    throw new UsageError('a turn: or turns: --ice-server needs --ice-username and --ice-credential')
  }
  if (turn.length === 0 && (username != null || credential != null)) {
    throw new UsageError('--ice-username and --ice-credential go with a turn: or turns: --ice-server')
  }
  const servers: RTCIceServer[] = []
  if (stun.length > 0) { servers.push({ urls: stun }) }
  if (turn.length > 0) { servers.push({ urls: turn, username, credential }) }
  return servers
}

/**
 * --listen with --relay-media-only: only addresses that do not reveal this host's (a relay's circuit, WebRTC through
 * TURN). Undefined keeps the hidden default.
 */
export function hiddenListenArg (listen: string[] | undefined): string[] | undefined {
  for (const addr of listen ?? []) {
    if (addr !== '/p2p-circuit' && addr !== '/webrtc') {
      throw new UsageError(`--relay-media-only hides this host's address: --listen ${addr} would publish it (only /p2p-circuit and /webrtc go with it)`)
    }
  }
  return listen
}

/** The ICE options of `join` and `record`, for parse(). */
export const ICE_OPTIONS = {
  'relay-media-only': { type: 'boolean', default: false },
  'ice-server': { type: 'string', multiple: true },
  'ice-username': { type: 'string' },
  'ice-credential': { type: 'string' }
} as const

/** Print each relay's status as the bootstrap service reports it, the ones reported before this call included. */
export function reportBootstrap (service: { statuses(): BootstrapStatus[], addEventListener(type: 'status', fn: (evt: CustomEvent<BootstrapStatus>) => void): void } | undefined, out: Out, what = ''): void {
  if (service == null) { return }
  const print = (s: BootstrapStatus): void => {
    if (s.connected) { out({ event: 'bootstrap', addr: s.addr, connected: true }, `connected to ${what}${s.addr}`) } else { out({ event: 'bootstrap', addr: s.addr, connected: false, error: s.error }, `cannot reach ${what}${s.addr} (${s.error ?? 'unknown error'}); retrying`) }
  }
  service.statuses().forEach(print)
  service.addEventListener('status', ({ detail }) => { print(detail) })
}

/** Run `handler` once on the first SIGINT or SIGTERM, then exit 0 (1 if stopping failed). */
export function onSignals (handler: (signal: string) => Promise<void>): void {
  let stopping = false
  const stop = (sig: string): void => {
    if (stopping) { return }
    stopping = true
    handler(sig).then(() => process.exit(0), (err) => {
      process.stderr.write(`freeflow: error while stopping: ${err.message}\n`)
      process.exit(1)
    })
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

/** Run a command and turn what it throws into one line on stderr and an exit code. */
export async function runCommand (usage: string, command: () => Promise<number>): Promise<number> {
  try {
    return await command()
  } catch (err: any) {
    if (err instanceof UsageError) {
      process.stderr.write(`freeflow: ${err.message}\n${usage}\n`)
      return 2
    }
    if (err instanceof InvalidRoomKeyError || err instanceof InvalidBootstrapAddressError || err instanceof InputError) {
      process.stderr.write(`freeflow: ${err.message}\n`)
      return 2
    }
    process.stderr.write(`freeflow: ${err.message ?? err}\n`)
    return 1
  }
}
