/**
 * The `freeflow` command. People read its output by default; programs pass --json and get one JSON object per
 * line with an `event` field. Bad input is one sentence on stderr and exit code 2; a failure at run time is one
 * sentence and exit code 1.
 */
import { createInterface } from 'node:readline'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { existsSync } from 'node:fs'
import { access, constants, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateRoomKey, InvalidRoomKeyError, parseRoomKey } from '../protocols/room-key/index.js'
import { InvalidBootstrapAddressError, keepBootstrapped, parseBootstrap } from '../protocols/bootstrap.js'
import { createPeer } from './peer.js'
import { OutputDirError, Recorder, recorderServices, sessionDir, type RecorderNode } from './record.js'
import { defaultDataDir, loadIdentity } from './identity.js'
import { createRelay, DEFAULT_LIMITS } from '../relay/relay.js'
import type { ChatMessage } from '../protocols/room/index.js'

export class UsageError extends Error {
  static readonly name = 'UsageError'
  readonly name = 'UsageError'
}

const USAGE = `usage:
  freeflow room new                      print a fresh room key
  freeflow join <roomKey> --name <name> --bootstrap <multiaddr>... [--listen <multiaddr>...] [--data-dir <dir>] [--json]
                 [--webrtc-bind <ip>]
  freeflow record <roomKey> --bootstrap <multiaddr>... --out <dir> [--name <name>] [--listen <multiaddr>...]
                 [--data-dir <dir>] [--json] [--webrtc-bind <ip>]
  freeflow relay [--listen <multiaddr>...] [--announce <multiaddr>...] [--bootstrap <multiaddr>...] [--data-dir <dir>]
                 [--http <host:port>] [--json] [--print-link]
                 [--max-reservations N] [--max-reservations-per-ip N] [--max-connections N]
                 [--relay-duration <seconds>] [--relay-data <bytes>]`

type Out = (event: Record<string, unknown>, human: string) => void

function printer (json: boolean): Out {
  return (event, human) => {
    process.stdout.write(json ? JSON.stringify(event) + '\n' : human + '\n')
  }
}

/** The one room key a member command takes; a malformed one is a usage error. */
async function roomKeyArg (positionals: string[]): Promise<string> {
  if (positionals.length !== 1) throw new UsageError('expected exactly one room key')
  await parseRoomKey(positionals[0])
  return positionals[0]
}

/** The relays a member finds the room through: at least one, each with its /p2p/ id. */
function bootstrapArg (value: unknown): string[] {
  const bootstrap = (value as string[] | undefined) ?? []
  if (bootstrap.length === 0) throw new UsageError('at least one --bootstrap <multiaddr> is needed to find the room')
  bootstrap.forEach(parseBootstrap)
  return bootstrap
}

/** A member's word on each bootstrap relay: reached, or not (and retried). */
function bootstrapReporter (out: Out): (s: { addr: string, connected: boolean, error?: string }) => void {
  return (s) => {
    if (s.connected) out({ event: 'bootstrap', addr: s.addr, connected: true }, `connected to ${s.addr}`)
    else out({ event: 'bootstrap', addr: s.addr, connected: false, error: s.error }, `cannot reach ${s.addr} (${s.error ?? 'unknown error'}); retrying`)
  }
}

function parse (args: string[], options: ParseArgsConfig['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err: any) {
    throw new UsageError(err.message)
  }
}

function positiveInt (value: unknown, flag: string): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number`)
  return n
}

function onSignals (handler: (signal: string) => Promise<void>): void {
  let stopping = false
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) return
      stopping = true
      handler(sig).then(() => process.exit(0), (err) => {
        process.stderr.write(`freeflow: error while stopping: ${err.message}\n`)
        process.exit(1)
      })
    })
  }
}

async function roomCommand (args: string[]): Promise<void> {
  if (args[0] !== 'new' || args.length !== 1) throw new UsageError('expected `freeflow room new`')
  process.stdout.write(await generateRoomKey() + '\n')
}

async function joinCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    listen: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    'webrtc-bind': { type: 'string' },
    json: { type: 'boolean', default: false }
  })
  const roomKey = await roomKeyArg(positionals)
  const name = String(values.name ?? '').trim()
  if (name === '') throw new UsageError('--name is required')
  const bootstrap = bootstrapArg(values.bootstrap)
  const out = printer(values.json === true)

  const privateKey = await loadIdentity(String(values['data-dir'] ?? defaultDataDir('peer')))
  const node = await createPeer({ privateKey, listen: values.listen as string[] | undefined, webrtcBind: values['webrtc-bind'] as string | undefined })
  const shutdown = new AbortController()
  keepBootstrapped(node, bootstrap, {
    signal: shutdown.signal,
    onStatus: bootstrapReporter(out)
  })
  const room = await node.services.room.join(roomKey, { name })
  room.addEventListener('peer:join', ({ detail }) => {
    // how we reach the member right now: direct, or through a relay (/p2p-circuit)
    const via = node.getConnections(detail.peerId).map(c => c.remoteAddr.toString())
    const relayed = via.length > 0 && via.every(a => a.includes('/p2p-circuit'))
    out({ event: 'peer:join', peerId: detail.peerId.toString(), name: detail.name, role: detail.role, recording: detail.recording ?? null, via, relayed },
      `* ${detail.name} joined${detail.role === 'recorder' ? ' as a recorder' : ''}${via.length > 0 ? (relayed ? ' (through a relay)' : ' (direct)') : ''}${detail.recording != null ? ' and is RECORDING this room' : ''}`)
  })
  // consent: whoever is in the room, in a browser or a terminal, is told when someone records it
  room.addEventListener('peer:update', ({ detail }) => {
    out({ event: 'peer:update', peerId: detail.peerId.toString(), name: detail.name, role: detail.role, recording: detail.recording ?? null },
      detail.recording != null ? `* ${detail.name} started RECORDING this room` : `* ${detail.name} stopped recording`)
  })
  room.addEventListener('peer:leave', ({ detail }) => {
    out({ event: 'peer:leave', peerId: detail.peerId.toString(), name: detail.name, reason: detail.reason },
      `* ${detail.name} ${detail.reason === 'left' ? 'left' : 'is gone (no word for a while)'}`)
  })
  room.addEventListener('chat', ({ detail }: CustomEvent<ChatMessage>) => {
    const time = new Date(detail.ts).toTimeString().slice(0, 8)
    out({ event: 'chat', id: detail.id, from: detail.from.toString(), name: detail.name, text: detail.text, ts: detail.ts, history: detail.history },
      `[${time}]${detail.history ? ' (history)' : ''} ${detail.name}: ${detail.text}`)
  })
  out({ event: 'ready', peerId: node.peerId.toString(), room: room.shortName, addrs: node.getMultiaddrs().map(a => a.toString()) },
    `you are ${name} (${node.peerId.toString()}) in room ${room.shortName}; type a line to chat, Ctrl-C to leave`)

  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const text = line.trim()
    if (text === '') return
    room.send(text).catch((err: any) => {
      out({ event: 'error', message: err.message }, `could not send: ${err.message}`)
    })
  })
  // the end of stdin is not a goodbye: a peer started with </dev/null stays in the room
  lines.on('close', () => {})

  onSignals(async () => {
    lines.close()
    await room.leave()
    shutdown.abort()
    await node.stop()
  })
}

/** Make sure --out exists and takes files, before anything joins the room. */
async function writableDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK | constants.X_OK)
  } catch (err: any) {
    throw new OutputDirError(`--out ${dir} is not a folder we can write to (${err.code ?? err.message})`)
  }
}

async function recordCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    name: { type: 'string', default: 'Recorder' },
    bootstrap: { type: 'string', multiple: true },
    out: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    'webrtc-bind': { type: 'string' },
    json: { type: 'boolean', default: false }
  })
  const roomKey = await roomKeyArg(positionals)
  const name = String(values.name).trim()
  if (name === '') throw new UsageError('--name must not be empty')
  const bootstrap = bootstrapArg(values.bootstrap)
  if (values.out == null) throw new UsageError('--out <dir> is required: where the recordings go')
  const outDir = String(values.out)
  await writableDir(outDir)
  const out = printer(values.json === true)

  const privateKey = await loadIdentity(String(values['data-dir'] ?? defaultDataDir('recorder')))
  const node = await createPeer({
    privateKey,
    listen: values.listen as string[] | undefined,
    webrtcBind: values['webrtc-bind'] as string | undefined,
    services: recorderServices()
  }) as RecorderNode
  const shutdown = new AbortController()
  keepBootstrapped(node, bootstrap, {
    signal: shutdown.signal,
    onStatus: bootstrapReporter(out)
  })
  const room = await node.services.room.join(roomKey, { name, role: 'recorder' })
  const dir = await sessionDir(outDir, room)
  // everyone is told before anything of theirs is written
  await room.setRecording(true)
  const recorder = new Recorder({ node, room, dir, name, onEvent: (e, human) => { out(e, human) } })
  room.addEventListener('peer:join', ({ detail }) => {
    out({ event: 'peer:join', peerId: detail.peerId.toString(), name: detail.name, role: detail.role },
      `* ${detail.name} joined${detail.role === 'recorder' ? ' (another recorder)' : ''}`)
  })
  room.addEventListener('peer:leave', ({ detail }) => {
    out({ event: 'peer:leave', peerId: detail.peerId.toString(), name: detail.name, reason: detail.reason }, `* ${detail.name} left`)
  })
  await recorder.start()
  out({ event: 'ready', peerId: node.peerId.toString(), room: room.shortName, dir, manifest: recorder.manifestPath },
    `recording room ${room.shortName} into ${dir} as ${name} (${node.peerId.toString()}); Ctrl-C to stop`)

  // a hostile or broken peer must not end a recording: whatever escapes is reported, the files stay open
  const survive = (err: any): void => {
    out({ event: 'warning', message: String(err?.message ?? err) }, `warning: ${String(err?.message ?? err)}`)
  }
  process.on('uncaughtException', survive)
  process.on('unhandledRejection', survive)

  onSignals(async () => {
    const manifest = await recorder.stop()
    out({ event: 'stopped', manifest: recorder.manifestPath, files: manifest.files.length },
      `stopped: ${manifest.files.length} file${manifest.files.length === 1 ? '' : 's'}, manifest ${recorder.manifestPath}`)
    await room.setRecording(false).catch(() => {})
    await room.leave()
    shutdown.abort()
    await node.stop()
  })
}

function parseHostPort (text: string): { host: string, port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text)
  if (m == null) throw new UsageError(`--http expects host:port, got '${text}'`)
  const port = Number(m[2])
  if (port > 65535) throw new UsageError(`--http port ${port} is out of range`)
  return { host: m[1], port }
}

async function relayCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    listen: { type: 'string', multiple: true },
    announce: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    http: { type: 'string' },
    json: { type: 'boolean', default: false },
    'print-link': { type: 'boolean', default: false },
    bootstrap: { type: 'string', multiple: true },
    'max-reservations': { type: 'string' },
    'max-reservations-per-ip': { type: 'string' },
    'max-connections': { type: 'string' },
    'relay-duration': { type: 'string' },
    'relay-data': { type: 'string' }
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`)
  const bootstrap = (values.bootstrap as string[] | undefined) ?? []
  bootstrap.forEach(parseBootstrap)
  const http = values.http != null ? parseHostPort(String(values.http)) : undefined
  const duration = positiveInt(values['relay-duration'], '--relay-duration')
  const data = positiveInt(values['relay-data'], '--relay-data')
  const limits = {
    maxReservations: positiveInt(values['max-reservations'], '--max-reservations') ?? DEFAULT_LIMITS.maxReservations,
    maxReservationsPerIp: positiveInt(values['max-reservations-per-ip'], '--max-reservations-per-ip') ?? DEFAULT_LIMITS.maxReservationsPerIp,
    maxConnections: positiveInt(values['max-connections'], '--max-connections') ?? DEFAULT_LIMITS.maxConnections,
    relayDuration: duration != null ? duration * 1000 : DEFAULT_LIMITS.relayDuration,
    relayData: data != null ? BigInt(data) : DEFAULT_LIMITS.relayData
  }
  const out = printer(values.json === true)
  const privateKey = await loadIdentity(String(values['data-dir'] ?? defaultDataDir('relay')))
  const appDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'browser', 'app')
  let relay
  try {
    relay = await createRelay({ privateKey, listen: values.listen as string[] | undefined, announce: values.announce as string[] | undefined, http, appDir, limits })
  } catch (err: any) {
    throw new Error(`the relay could not start: ${err.message}`)
  }
  const addrs = relay.node.getMultiaddrs().map(a => a.toString())
  out({ event: 'listening', peerId: relay.node.peerId.toString(), addrs, http: relay.http?.url ?? null },
    `relay ${relay.node.peerId.toString()} listening on\n${addrs.map(a => '  ' + a).join('\n')}${relay.http != null ? `\nhealth and metrics at ${relay.http.url}/healthz and ${relay.http.url}/metrics` : ''}`)
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
  // relays that know each other make one DHT: members who bootstrapped from different relays still meet
  const shutdown = new AbortController()
  keepBootstrapped(relay.node, bootstrap, {
    signal: shutdown.signal,
    onStatus: (s) => {
      out({ event: 'bootstrap', addr: s.addr, connected: s.connected, error: s.error },
        s.connected ? `connected to relay ${s.addr}` : `cannot reach relay ${s.addr} (${s.error ?? 'unknown error'}); retrying`)
    }
  })
  onSignals(async () => {
    shutdown.abort()
    await relay.stop()
  })
}

export async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'room': await roomCommand(rest); return 0
      case 'join': await joinCommand(rest); return -1
      case 'relay': await relayCommand(rest); return -1
      case 'record': await recordCommand(rest); return -1
      case '--help': case '-h': case 'help': process.stdout.write(USAGE + '\n'); return 0
      case undefined: process.stderr.write(USAGE + '\n'); return 2
      default: throw new UsageError(`unknown command '${command}'`)
    }
  } catch (err: any) {
    if (err instanceof UsageError) {
      process.stderr.write(`freeflow: ${err.message}\n${USAGE}\n`)
      return 2
    }
    if (err instanceof InvalidRoomKeyError || err instanceof InvalidBootstrapAddressError || err instanceof OutputDirError) {
      process.stderr.write(`freeflow: ${err.message}\n`)
      return 2
    }
    process.stderr.write(`freeflow: ${err.message ?? err}\n`)
    return 1
  }
}
