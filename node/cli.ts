/**
 * The member commands of `freeflow`: `room new`, `join` and `record` (the relay's command lives with the relay, in
 * relay/command.ts; bin/freeflow.js dispatches). People read the output by default; programs pass --json and get one
 * JSON object per line with an `event` field. Bad input is one sentence on stderr and exit code 2; a failure at run
 * time is one sentence and exit code 1.
 */
import { access, constants, lstat, mkdir, readFile, statfs } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { createInterface as createPrompt } from 'node:readline/promises'
import { tellApart } from '../protocols/room/text.ts'
import { generateRoomKey, parseRoomKey } from '../protocols/room-key/index.ts'
import { bootstrapArg, hiddenListenArg, ICE_OPTIONS, iceServersArg, InputError, onSignals, parse, positiveInt, printer, reportBootstrap, runCommand, UsageError } from './cli-kit.ts'
import { defaultDataDir, loadIdentity } from './identity.ts'
import { createPeer } from './peer.ts'
import { DEFAULT_LIMITS, OutputDirError, Recorder, sessionDir } from './record.ts'
import type { RecorderNode } from './record.ts'
import type { ChatMessage, Room } from '../protocols/room/index.ts'
import type { NamedMember } from '../protocols/room/text.ts'
import type { PeerId } from '@libp2p/interface'

export const USAGE = `usage:
  freeflow room new                      print a fresh room key
  freeflow join [<roomKey>] --name <name> --bootstrap <multiaddr>... [--listen <multiaddr>...] [--data-dir <dir>] [--json]
                 [--webrtc-bind <ip>] [--key-file <file>] [ICE options]
  freeflow record [<roomKey>] --bootstrap <multiaddr>... --out <dir> [--name <name>] [--listen <multiaddr>...]
                 [--data-dir <dir>] [--json] [--webrtc-bind <ip>] [--key-file <file>] [ICE options] [limits]
The room key: FREEFLOW_ROOM_KEY, --key-file <file> (its first line), or typed at the prompt; as an argument it works
  but other users of this machine can read it (ps).
ICE options (WebRTC uses the STUN/TURN servers of every relay it is connected to; nothing else unless named here):
  --relay-media-only           hide this host's address: media and WebRTC only through a relay's TURN server (which
                               sees the address and how much is sent, never what); no TCP listener, no hole punching;
                               calls wait for TURN credentials
  --ice-server <url>           one more STUN or TURN server, repeatable: stun:host[:port],
                               turn:host[:port][?transport=udp|tcp], turns:host[:port]
  --ice-username <name>        username for the turn:/turns: servers named (needed with one)
  --ice-credential <secret>    credential for them (needed with one)
Recording limits (sizes in bytes, or with k, M, G, T: powers of 1024; each limit reached is said in one line):
  --max-file-bytes <size>      largest one file may grow; it is finished there (default 4G)
  --max-session-bytes <size>   all files together; recording ends there (default 64G)
  --min-free-bytes <size>      free space kept on the file system of --out; recording ends there, 0: none (default 1G)
  --max-files-per-participant <n>  files one participant may have over the session (default 16)
  --max-files <n>              files in the session in all (default 1000)`

/**
 * How this terminal names members: by name, and with the end of the PeerId when someone else here (this person
 * included) has that name, so that two members with one name are told apart (`tellApart`, as the web app does). Names
 * arrive cleaned of control and invisible characters (protocols/room/text.ts).
 */
function namer (room: Room, self: NamedMember): (peerId: PeerId, name: string) => string {
  return (peerId, name) => tellApart([self, ...room.members()])({ peerId, name })
}

/** Where a member command may also find its room key, besides its argument. */
export const ROOM_KEY_ENV = 'FREEFLOW_ROOM_KEY'

/**
 * The one room key a member command takes: from its argument, `--key-file <file>` (the file's first line), the
 * FREEFLOW_ROOM_KEY environment variable, or a prompt when a person is at the terminal; in that order. A key on the
 * command line still works, but every user of the machine can read it (`ps`), so the command says so once. A
 * malformed key, none at all or an unreadable file is a usage error (exit code 2).
 */
async function roomKeyArg (positionals: string[], keyFile: unknown): Promise<{ roomKey: string, seenByOthers: boolean }> {
  if (positionals.length > 1) { throw new UsageError('expected one room key') }
  if (positionals.length === 1 && keyFile != null) { throw new UsageError('give the room key once: as an argument or with --key-file') }
  let key: string
  if (positionals.length === 1) {
    key = positionals[0]
  } else if (keyFile != null) {
    try {
      key = (await readFile(String(keyFile), 'utf8')).split('\n')[0].trim()
    } catch (err: any) {
      throw new InputError(`cannot read the room key from ${String(keyFile)}: ${String(err.code ?? err.message)}`)
    }
  } else if ((process.env[ROOM_KEY_ENV] ?? '').trim() !== '') {
    key = (process.env[ROOM_KEY_ENV] ?? '').trim()
  } else if (process.stdin.isTTY === true && process.stderr.isTTY === true) {
    const prompt = createPrompt({ input: process.stdin, output: process.stderr })
    try {
      key = (await prompt.question('room key: ')).trim()
    } finally {
      prompt.close()
    }
  } else {
    throw new InputError(`no room key: give it in ${ROOM_KEY_ENV}, with --key-file <file>, or as an argument`)
  }
  await parseRoomKey(key)
  return { roomKey: key, seenByOthers: positionals.length === 1 }
}

/** Said once, when the command starts (after every argument was found good, so bad input stays one line). */
function noteKeyOnCommandLine (seenByOthers: boolean): void {
  if (seenByOthers) {
    process.stderr.write(`freeflow: note: a room key on the command line can be read by other users of this machine (ps); use ${ROOM_KEY_ENV}, --key-file <file> or the prompt\n`)
  }
}

async function roomCommand (args: string[]): Promise<void> {
  if (args[0] !== 'new' || args.length !== 1) { throw new UsageError('expected `freeflow room new`') }
  process.stdout.write(await generateRoomKey() + '\n')
}

async function joinCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    bootstrap: { type: 'string', multiple: true },
    'key-file': { type: 'string' },
    listen: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    'webrtc-bind': { type: 'string' },
    json: { type: 'boolean', default: false },
    ...ICE_OPTIONS
  })
  const { roomKey, seenByOthers } = await roomKeyArg(positionals, values['key-file'])
  const name = String(values.name ?? '').trim()
  if (name === '') { throw new UsageError('--name is required') }
  const bootstrap = bootstrapArg(values.bootstrap, true)
  const iceServers = iceServersArg(values)
  const relayMediaOnly = values['relay-media-only'] === true
  const listen = relayMediaOnly ? hiddenListenArg(values.listen as string[] | undefined) : values.listen as string[] | undefined
  const out = printer(values.json === true)
  noteKeyOnCommandLine(seenByOthers)

  const privateKey = await loadIdentity(String(values['data-dir'] ?? defaultDataDir('peer')))
  const node = await createPeer({ privateKey, bootstrap, listen, webrtcBind: values['webrtc-bind'] as string | undefined, iceServers, relayMediaOnly })
  reportBootstrap(node.services.bootstrap, out)
  const room = await node.services.room.join(roomKey, { name })
  const who = namer(room, { peerId: node.peerId, name })
  room.addEventListener('peer:join', ({ detail }) => {
    // how we reach the member right now: direct, or through a relay (/p2p-circuit)
    const via = node.getConnections(detail.peerId).map(c => c.remoteAddr.toString())
    const relayed = via.length > 0 && via.every(a => a.includes('/p2p-circuit'))
    out({ event: 'peer:join', peerId: detail.peerId.toString(), name: detail.name, role: detail.role, recording: detail.recording ?? null, via, relayed },
      `* ${who(detail.peerId, detail.name)} joined${detail.role === 'recorder' ? ' as a recorder' : ''}${via.length > 0 ? (relayed ? ' (through a relay)' : ' (direct)') : ''}${detail.recording != null ? ' and is RECORDING this room' : ''}`)
  })
  // consent: whoever is in the room, in a browser or a terminal, is told when someone records it
  room.addEventListener('peer:update', ({ detail }) => {
    out({ event: 'peer:update', peerId: detail.peerId.toString(), name: detail.name, role: detail.role, recording: detail.recording ?? null },
      detail.recording != null ? `* ${who(detail.peerId, detail.name)} started RECORDING this room` : `* ${who(detail.peerId, detail.name)} stopped recording`)
  })
  room.addEventListener('peer:leave', ({ detail }) => {
    out({ event: 'peer:leave', peerId: detail.peerId.toString(), name: detail.name, reason: detail.reason },
      `* ${who(detail.peerId, detail.name)} ${detail.reason === 'left' ? 'left' : 'is gone (no word for a while)'}`)
  })
  room.addEventListener('chat', ({ detail }: CustomEvent<ChatMessage>) => {
    const time = new Date(detail.ts).toTimeString().slice(0, 8)
    out({ event: 'chat', id: detail.id, from: detail.from.toString(), name: detail.name, text: detail.text, ts: detail.ts, history: detail.history },
      // one line per message: a line break in the text cannot start a line of its own (a forged "* ... joined")
      `[${time}]${detail.history ? ' (history)' : ''} ${who(detail.from, detail.name)}: ${detail.text.replace(/\n/g, ' ↵ ')}`)
  })
  out({ event: 'ready', peerId: node.peerId.toString(), room: room.shortName, addrs: node.getMultiaddrs().map(a => a.toString()) },
    `you are ${name} (${node.peerId.toString()}) in room ${room.shortName}; type a line to chat, Ctrl-C to leave`)

  const lines = createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    const text = line.trim()
    if (text === '') { return }
    room.send(text).catch((err: any) => {
      out({ event: 'error', message: err.message }, `could not send: ${err.message}`)
    })
  })
  // the end of stdin is not a goodbye: a peer started with </dev/null stays in the room
  lines.on('close', () => {})

  onSignals(async () => {
    lines.close()
    await room.leave()
    await node.stop()
  })
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/** A size flag: bytes, or a number with k, M, G or T (powers of 1024, an optional `iB`/`B` after). */
export function byteSizeArg (value: unknown, flag: string, fallback: number, zero = false): number {
  if (value == null) { return fallback }
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(value).trim())
  const n = m == null ? NaN : Math.floor(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()])
  if (!Number.isSafeInteger(n) || n < 0 || (n === 0 && !zero)) {
    throw new UsageError(`${flag} must be a size in bytes${zero ? ' (0 or more)' : ''}, like 1048576, 512M or 4G`)
  }
  return n
}

/**
 * Make sure --out is a folder of this user's that takes files, before anything joins the room. A missing one is made
 * (with its parents); one that exists must be a real folder, not a symbolic link (a link planted where the recording
 * goes would take it elsewhere), and this user's. Its file system must have more than --min-free-bytes free.
 */
async function outputDir (dir: string, minFree: number): Promise<void> {
  try {
    let st = await lstat(dir).catch((err: any) => { if (err.code === 'ENOENT') { return undefined } throw err })
    if (st == null) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      st = await lstat(dir)
    }
    if (st.isSymbolicLink()) { throw new OutputDirError(`--out ${dir} is a symbolic link; give a real folder (nothing was written)`) }
    if (!st.isDirectory()) { throw new OutputDirError(`--out ${dir} is not a folder`) }
    if (process.getuid != null && st.uid !== process.getuid()) { throw new OutputDirError(`--out ${dir} belongs to another user (uid ${st.uid}); give a folder of your own`) }
    await access(dir, constants.W_OK | constants.X_OK)
    const fs = await statfs(dir)
    const free = Number(fs.bavail) * Number(fs.bsize)
    if (free <= minFree) { throw new OutputDirError(`--out ${dir} has ${free} bytes free, not more than --min-free-bytes ${minFree}`) }
  } catch (err: any) {
    if (err instanceof OutputDirError) { throw err }
    throw new OutputDirError(`--out ${dir} is not a folder we can write to (${err.code ?? err.message})`)
  }
}

async function recordCommand (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    name: { type: 'string', default: 'Recorder' },
    bootstrap: { type: 'string', multiple: true },
    'key-file': { type: 'string' },
    out: { type: 'string' },
    listen: { type: 'string', multiple: true },
    'data-dir': { type: 'string' },
    'webrtc-bind': { type: 'string' },
    json: { type: 'boolean', default: false },
    'max-file-bytes': { type: 'string' },
    'max-session-bytes': { type: 'string' },
    'min-free-bytes': { type: 'string' },
    'max-files-per-participant': { type: 'string' },
    'max-files': { type: 'string' },
    ...ICE_OPTIONS
  })
  const { roomKey, seenByOthers } = await roomKeyArg(positionals, values['key-file'])
  const limits = {
    maxFileBytes: byteSizeArg(values['max-file-bytes'], '--max-file-bytes', DEFAULT_LIMITS.maxFileBytes),
    maxSessionBytes: byteSizeArg(values['max-session-bytes'], '--max-session-bytes', DEFAULT_LIMITS.maxSessionBytes),
    minFreeBytes: byteSizeArg(values['min-free-bytes'], '--min-free-bytes', DEFAULT_LIMITS.minFreeBytes, true),
    maxFilesPerParticipant: positiveInt(values['max-files-per-participant'], '--max-files-per-participant') ?? DEFAULT_LIMITS.maxFilesPerParticipant,
    maxFiles: positiveInt(values['max-files'], '--max-files') ?? DEFAULT_LIMITS.maxFiles
  }
  const name = String(values.name).trim()
  if (name === '') { throw new UsageError('--name must not be empty') }
  const bootstrap = bootstrapArg(values.bootstrap, true)
  const iceServers = iceServersArg(values)
  const relayMediaOnly = values['relay-media-only'] === true
  const listen = relayMediaOnly ? hiddenListenArg(values.listen as string[] | undefined) : values.listen as string[] | undefined
  if (values.out == null) { throw new UsageError('--out <dir> is required: where the recordings go') }
  const outDir = String(values.out)
  await outputDir(outDir, limits.minFreeBytes)
  const out = printer(values.json === true)
  noteKeyOnCommandLine(seenByOthers)

  const privateKey = await loadIdentity(String(values['data-dir'] ?? defaultDataDir('recorder')))
  const node = await createPeer({
    privateKey,
    listen,
    webrtcBind: values['webrtc-bind'] as string | undefined,
    bootstrap,
    iceServers,
    relayMediaOnly,
    call: true
  }) as RecorderNode
  reportBootstrap(node.services.bootstrap, out)
  const room = await node.services.room.join(roomKey, { name, role: 'recorder' })
  const dir = await sessionDir(outDir, room)
  // everyone is told before anything of theirs is written
  await room.setRecording(true)
  const json = values.json === true
  let finishing: Promise<void> | undefined
  // a limit is one line on stderr for people, and an event in --json output
  const recorder: Recorder = new Recorder({
    node,
    room,
    dir,
    name,
    limits,
    onEvent: (e, human) => {
      if (e.event === 'limit') {
        process.stderr.write(`freeflow: ${human}\n`)
        if (json) { out(e, human) }
        return
      }
      out(e, human)
    },
    // the session's bytes or the disk's floor: the recording ends as with Ctrl-C, and the command exits 1
    onEnd: () => { void finish().then(() => process.exit(1), () => process.exit(1)) }
  })
  const who = namer(room, { peerId: node.peerId, name })
  room.addEventListener('peer:join', ({ detail }) => {
    out({ event: 'peer:join', peerId: detail.peerId.toString(), name: detail.name, role: detail.role },
      `* ${who(detail.peerId, detail.name)} joined${detail.role === 'recorder' ? ' (another recorder)' : ''}`)
  })
  room.addEventListener('peer:leave', ({ detail }) => {
    out({ event: 'peer:leave', peerId: detail.peerId.toString(), name: detail.name, reason: detail.reason }, `* ${who(detail.peerId, detail.name)} left`)
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

  const finish = async (): Promise<void> => {
    finishing ??= (async () => {
      const manifest = await recorder.stop()
      out({ event: 'stopped', manifest: recorder.manifestPath, files: manifest.files.length, bytes: recorder.bytesUsed },
        `stopped: ${manifest.files.length} file${manifest.files.length === 1 ? '' : 's'}, manifest ${recorder.manifestPath}`)
      await room.setRecording(false).catch(() => {})
      await room.leave()
      await node.stop()
    })()
    await finishing
  }
  onSignals(finish)
}

/** `freeflow room|join|record …`; the exit code, or -1 for a command that runs until a signal. */
export async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  return runCommand(USAGE, async () => {
    switch (command) {
      case 'room': await roomCommand(rest); return 0
      case 'join': await joinCommand(rest); return -1
      case 'record': await recordCommand(rest); return -1
      default: throw new UsageError(`unknown command '${command}'`)
    }
  })
}
