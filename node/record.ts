/**
 * `freeflow record`: a member of the room, marked as a recorder for everyone, that receives every participant's
 * audio and video and writes each track as it came off the wire (no transcoding) to its own WebM file, with a
 * manifest.json that says whose track each file is. werift's RTCPeerConnection (node/werift-pc.ts) does the media;
 * werift's recording pieces (jitter buffer, depacketizer, Matroska muxer: node/webm-track.ts) write the files and,
 * when a file is closed, its Duration; node/webm-finish.ts then fixes what werift leaves off in the header.
 */
import { constants } from 'node:fs'
import { mkdir, rename, statfs, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { InputError } from './cli-kit.ts'
import { finishWebm } from './webm-finish.ts'
import { WebmTrackWriter } from './webm-track.ts'
import { RTCPeerConnectionForNode } from './werift-pc.ts'
import type { PeerNode } from './peer.ts'
import type { ByteBudget, ByteLimit, WebmTrackLimits } from './webm-track.ts'
import type { Call, CallServiceApi, IceConfigSource, RemoteTrackEvent, TrackKind } from '../protocols/call/index.ts'
import type { MemberInfo, Room } from '../protocols/room/index.ts'
import type { IceConfig } from '../protocols/turn/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { MediaStreamTrack as WeriftTrack, RtpPacket } from 'werift'

/** Ask for a keyframe this often until one arrives, in ms: a file must begin with one to be decodable. */
const KEYFRAME_RETRY = 500
/** Most files open at once for one participant: camera, microphone, screen, and one spare for a track being replaced. */
const MAX_OPEN_PER_PEER = 4
/** Longest part of a display name that goes into a file name. */
const MAX_NAME_IN_FILE = 32
/** How often the free space of the output folder's file system is read again, in ms (writes are counted between). */
const FREE_SPACE_CHECK = 1_000
/** Bytes a session must have left to open one more file: its header (about 300 bytes) and a few frames. */
const NEW_FILE_RESERVE = 4 * 1024
/** The session folder and the manifest: this user's only (recordings of people are private). */
const DIR_MODE = 0o700
const MANIFEST_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW
const FILE_MODE = 0o600

/** The limits of one recording session (the `record` command's flags). */
export interface RecorderLimits {
  /** Largest one file may grow, in bytes; the file is finished below it and that track is not recorded further. */
  maxFileBytes: number
  /** All files of the session together, in bytes; reaching it ends the recording. */
  maxSessionBytes: number
  /** Free space left on the output folder's file system, in bytes; reaching it ends the recording. 0: none kept. */
  minFreeBytes: number
  /** Files one participant (one PeerId) may have over the whole session, tracks that never sent included. */
  maxFilesPerParticipant: number
  /** Files in the whole session, all participants together (a member can make new identities). */
  maxFiles: number
}

const GiB = 1024 * 1024 * 1024
/**
 * 4 GiB a file: 3.5 hours of a 2.5 Mbit/s camera. 64 GiB a session. 1 GiB free: the rest of the machine still
 * works. 16 files a participant: camera, microphone and screen, each re-sent or reconnected five times. 1,000 files.
 */
export const DEFAULT_LIMITS: RecorderLimits = {
  maxFileBytes: 4 * GiB,
  maxSessionBytes: 64 * GiB,
  minFreeBytes: GiB,
  maxFilesPerParticipant: 16,
  maxFiles: 1_000
}

/** Which limit was reached: `file-bytes` ends one file, `session-bytes` and `free-space` the recording, the others new files. */
export type LimitName = 'file-bytes' | 'session-bytes' | 'free-space' | 'participant-files' | 'session-files'

/** --out is not a folder this process can write to. */
export class OutputDirError extends InputError {
  static readonly name = 'OutputDirError'
  readonly name = 'OutputDirError'
}

/** A peer node created with `call: true`. */
export type RecorderNode = PeerNode & { services: { call: CallServiceApi, ice: IceConfig } }

export interface ManifestFile {
  peerId: string
  name: string
  kind: TrackKind
  /** 'vp8', 'vp9' or 'opus': what the participant's browser sent, written as it came. */
  codec: string
  /** Path relative to the manifest. */
  file: string
  /** When the first frame written arrived (ISO 8601). */
  start: string
  /** When the last frame arrived; null while the file is open. */
  end: string | null
  /** Picture size in the first keyframe (video only). */
  width?: number
  height?: number
}

export interface Manifest {
  version: 1
  room: string
  recorder: { peerId: string, name: string }
  start: string
  stop: string | null
  files: ManifestFile[]
}

export type RecorderEvent =
  | { event: 'track:start', peer: string, name: string, kind: TrackKind, codec: string, file: string }
  | { event: 'waiting-relay', peer: string, name: string }
  | { event: 'track:end', peer: string, name: string, kind: TrackKind, file: string, durationMs: number }
  | { event: 'warning', peer?: string, message: string }
  | { event: 'limit', limit: LimitName, peer?: string, name?: string, file?: string, message: string }

export interface RecorderInit {
  node: RecorderNode
  room: Room
  /** The session folder; created by the caller. */
  dir: string
  name: string
  /** @default DEFAULT_LIMITS */
  limits?: Partial<RecorderLimits>
  onEvent(event: RecorderEvent, human: string): void
  /** A session-wide limit (bytes, free space) ended the recording: every file is closed and finished. */
  onEnd?(limit: LimitName): void
}

/**
 * The bytes a session may still write: under its cap, and above the free-space floor of the output folder's file
 * system (read again every FREE_SPACE_CHECK ms; what was written since is counted off).
 */
class SessionBudget implements ByteBudget {
  used = 0
  private disk = Infinity

  constructor (private readonly limits: RecorderLimits, private readonly dir: string) {}

  left (): number {
    return Math.max(0, Math.min(this.limits.maxSessionBytes - this.used, this.disk))
  }

  use (bytes: number): void {
    this.used += bytes
    this.disk -= bytes
  }

  /** The limit that leaves the least. */
  get tightest (): LimitName {
    return this.limits.maxSessionBytes - this.used <= this.disk ? 'session-bytes' : 'free-space'
  }

  /** Read the free space again; resolves with it (bytes) above the floor. */
  async refresh (): Promise<number> {
    const fs = await statfs(this.dir)
    this.disk = Number(fs.bavail) * Number(fs.bsize) - this.limits.minFreeBytes
    return this.disk
  }
}

/**
 * The node's ICE configuration as werift needs it. werift asks stun.l.google.com when it is given no STUN server, and
 * we never use a third-party server unasked: it gets the STUN server of the relays' TURN servers (coturn answers STUN
 * on its TURN ports), or, with none known yet, the discard port on loopback, which answers nothing.
 */
export function weriftIce (source: IceConfigSource): IceConfigSource {
  return {
    configuration: () => {
      const config = source.configuration()
      const servers = config.iceServers ?? []
      const urls = servers.flatMap(s => Array.isArray(s.urls) ? s.urls : [s.urls])
      if (urls.some(u => /^stuns?:/i.test(u))) { return config }
      const turn = urls.map(u => /^turns?:([^?]+)/i.exec(u)?.[1]).find(hostPort => hostPort != null)
      return { ...config, iceServers: [{ urls: turn != null ? `stun:${turn}` : 'stun:127.0.0.1:9' }, ...servers] }
    },
    addEventListener: (type, listener) => { source.addEventListener(type, listener) },
    removeEventListener: (type, listener) => { source.removeEventListener(type, listener) }
  }
}

/** Where a keyframe starts in a VP8 or VP9 RTP payload, and the picture size it carries when it says. */
export function keyframeInfo (codec: string, p: Uint8Array): { width?: number, height?: number } | undefined {
  if (p.length < 1) { return undefined }
  if (codec === 'vp8') {
    // RFC 7741: payload descriptor, then the VP8 payload header of a partition start
    const x = (p[0] & 0x80) !== 0
    const start = (p[0] & 0x10) !== 0 && (p[0] & 0x07) === 0
    let i = 1
    if (x) {
      if (p.length < 2) { return undefined }
      const ext = p[1]
      i = 2
      if ((ext & 0x80) !== 0) { i += (p[i] & 0x80) !== 0 ? 2 : 1 }
      if ((ext & 0x40) !== 0) { i++ }
      if ((ext & 0x30) !== 0) { i++ }
    }
    if (!start || i >= p.length || (p[i] & 0x01) !== 0) { return undefined }
    if (p.length >= i + 10 && p[i + 3] === 0x9d && p[i + 4] === 0x01 && p[i + 5] === 0x2a) {
      return { width: (p[i + 6] | (p[i + 7] << 8)) & 0x3fff, height: (p[i + 8] | (p[i + 9] << 8)) & 0x3fff }
    }
    return {}
  }
  if (codec === 'vp9') {
    // draft-ietf-payload-vp9: I P L F B E V Z; a keyframe is the start of a frame that is not inter-predicted
    const b = p[0]
    const inter = (b & 0x40) !== 0
    const begin = (b & 0x08) !== 0
    if (inter || !begin) { return undefined }
    let i = 1
    if ((b & 0x80) !== 0) { i += (p[i] & 0x80) !== 0 ? 2 : 1 }
    if ((b & 0x20) !== 0) { i += (b & 0x10) !== 0 ? 1 : 2 }
    if ((b & 0x02) !== 0 && i < p.length) {
      const ss = p[i]
      const layers = (ss >> 5) + 1
      if ((ss & 0x10) !== 0 && p.length >= i + 1 + layers * 4) {
        // the largest spatial layer is the picture size
        const at = i + 1 + (layers - 1) * 4
        return { width: (p[at] << 8) | p[at + 1], height: (p[at + 2] << 8) | p[at + 3] }
      }
    }
    return {}
  }
  return undefined
}

/** A name as it may appear in a file name: letters, digits, '-' and '_' only. */
export function safeName (name: string): string {
  const s = name.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, MAX_NAME_IN_FILE)
  return s === '' ? 'anonymous' : s
}

/** The last 8 characters of a PeerId: they differ between peers (the first ones are the key type). */
export function shortPeerId (peerId: PeerId | string): string {
  return peerId.toString().slice(-8)
}

/** One remote track going to one file. */
class TrackFile {
  state: 'waiting' | 'armed' | 'writing' | 'closed' = 'waiting'
  entry?: ManifestFile
  private recorder?: WebmTrackWriter
  private pliTimer?: ReturnType<typeof setInterval>
  private firstAt = 0
  private lastAt = 0
  private readonly unsubscribe: () => void
  private closing?: Promise<void>
  private abs?: string
  /** Picture size in the first keyframe; the writer's header says 640x360 until the file is finished. */
  private size?: { width: number, height: number }

  constructor (
    readonly peerId: string,
    readonly name: string,
    readonly kind: TrackKind,
    readonly track: WeriftTrack,
    private readonly receiver: { sendRtcpPLI(ssrc: number): Promise<void> } | undefined,
    private readonly path: (codec: string) => { abs: string, rel: string },
    private readonly onStart: (file: TrackFile) => void,
    private readonly onWarning: (message: string) => void,
    private readonly limits: WebmTrackLimits
  ) {
    const sub = track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      try {
        this.onRtp(rtp)
      } catch (err: any) {
        this.onWarning(`a packet from ${name} could not be handled: ${err.message}`)
      }
    })
    this.unsubscribe = () => { sub.unSubscribe() }
  }

  private get codec (): string {
    return (this.track.codec?.mimeType.split('/')[1] ?? '').toLowerCase()
  }

  private onRtp (rtp: RtpPacket): void {
    if (this.state === 'closed') { return }
    this.lastAt = Date.now()
    if (this.state === 'writing') { return }
    if (this.state === 'waiting') {
      const codec = this.codec
      if (codec !== 'vp8' && codec !== 'vp9' && codec !== 'opus') {
        this.onWarning(`${this.name}'s ${this.kind} uses ${codec === '' ? 'an unknown codec' : codec}, which a WebM file cannot hold; not recorded`)
        void this.close()
        return
      }
      // the writer takes every packet after this one; a video file starts at the first whole keyframe it gets, so ask
      // for one now and until it is written
      if (!this.open(codec)) { return }
      const key = this.track.kind === 'video' ? keyframeInfo(codec, rtp.payload) : undefined
      if (key?.width != null) { this.size = { width: key.width, height: key.height! } }
      if (this.track.kind === 'video') {
        this.requestKeyframe(rtp.header.ssrc)
        this.pliTimer = setInterval(() => { this.requestKeyframe(rtp.header.ssrc) }, KEYFRAME_RETRY)
      }
      return
    }
    // armed, video: the keyframes that come tell the picture size (VP9; VP8's is read from the first frame written)
    const key = keyframeInfo(this.entry!.codec, rtp.payload)
    if (key?.width != null) { this.size = { width: key.width, height: key.height! } }
  }

  private requestKeyframe (ssrc: number): void {
    this.receiver?.sendRtcpPLI(ssrc).catch(() => {})
  }

  /** Create the file and its writer; false when the session has no room for another file. */
  private open (codec: string): boolean {
    if (this.limits.budget.left() < NEW_FILE_RESERVE) {
      void this.close()
      this.limits.onLimit('session')
      return false
    }
    const { abs, rel } = this.path(codec)
    this.abs = abs
    // one track per file: no lip sync across tracks to wait for; RTP time needs no sender report to start
    this.recorder = new WebmTrackWriter(abs, this.track, codec as 'vp8' | 'vp9' | 'opus',
      (frame) => {
        // a VP8 keyframe says its size right after the start code
        if (codec === 'vp8' && frame.length >= 10 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a) {
          this.size = { width: frame.readUInt16LE(6) & 0x3fff, height: frame.readUInt16LE(8) & 0x3fff }
        }
        this.begin(Date.now())
      },
      (err) => { this.onWarning(`writing ${rel} failed: ${err.message}`) },
      this.limits)
    this.state = 'armed'
    this.entry = { peerId: this.peerId, name: this.name, kind: this.kind, codec, file: rel, start: '', end: null }
    return true
  }

  /** The first frame the file holds arrived. */
  private begin (now: number): void {
    if (this.state !== 'armed') { return }
    clearInterval(this.pliTimer)
    this.firstAt = now
    this.state = 'writing'
    this.entry!.start = new Date(now).toISOString()
    if (this.size != null) { Object.assign(this.entry!, this.size) }
    this.onStart(this)
  }

  /** Close the file: the writer flushes, writes Cues, and patches Duration and the segment size. */
  async close (): Promise<{ durationMs: number } | undefined> {
    this.closing ??= (async () => {
      this.state = 'closed'
      clearInterval(this.pliTimer)
      this.unsubscribe()
      if (this.recorder == null) { return }
      await this.recorder.stop()
      if (this.firstAt > 0) {
        this.entry!.end = new Date(this.lastAt).toISOString()
        await finishWebm(this.abs!, this.size).catch((err: any) => { this.onWarning(`finishing ${this.entry!.file} failed: ${err.message}`) })
      } else if (this.abs != null) {
        // opened, but no keyframe ever came: a file with nothing in it is no recording
        await unlink(this.abs).catch(() => {})
      }
    })()
    await this.closing
    return this.entry != null && this.firstAt > 0 ? { durationMs: this.lastAt - this.firstAt } : undefined
  }
}

export class Recorder {
  readonly manifest: Manifest
  private readonly init: RecorderInit
  private call?: Call
  private readonly files = new Set<TrackFile>()
  private readonly usedNames = new Set<string>()
  private manifestWrite: Promise<void> = Promise.resolve()
  readonly limits: RecorderLimits
  private readonly budget: SessionBudget
  /** Files made for each participant over the session, and in all. */
  private readonly perPeer = new Map<string, number>()
  private fileCount = 0
  /** Limits already reported, so that each is said once (per participant for the per-participant one). */
  private readonly reported = new Set<string>()
  /** The session-wide limit that ended the recording. */
  private ended?: LimitName
  private spaceTimer?: ReturnType<typeof setInterval>

  constructor (init: RecorderInit) {
    this.init = init
    this.limits = { ...DEFAULT_LIMITS, ...init.limits }
    this.budget = new SessionBudget(this.limits, init.dir)
    this.manifest = {
      version: 1,
      room: init.room.shortName,
      recorder: { peerId: init.node.peerId.toString(), name: init.name },
      start: new Date().toISOString(),
      stop: null,
      files: []
    }
  }

  get manifestPath (): string {
    return join(this.init.dir, 'manifest.json')
  }

  /** Bytes written (and promised to the Cues still to come) so far in this session. */
  get bytesUsed (): number {
    return this.budget.used
  }

  /** Join the call as a receiver: nothing is sent, everything received is written. */
  async start (): Promise<void> {
    const { node, room } = this.init
    await this.budget.refresh()
    await this.writeManifest()
    this.spaceTimer = setInterval(() => {
      this.budget.refresh().then(left => { if (left <= 0) { this.endSession('free-space') } }, (err: any) => {
        // said once; the last figure, less what was written since, keeps counting
        if (this.reported.has('statfs')) { return }
        this.reported.add('statfs')
        this.init.onEvent({ event: 'warning', message: `cannot read the free space of ${this.init.dir}: ${err.message}` }, `warning: cannot read the free space of ${this.init.dir}: ${err.message}`)
      })
    }, FREE_SPACE_CHECK)
    this.spaceTimer.unref()
    this.call = node.services.call.join(room, {
      RTCPeerConnection: RTCPeerConnectionForNode,
      ice: weriftIce(node.services.ice)
    })
    this.call.setMediaState({ mic: false, camera: false, screen: false })
    this.call.addEventListener('track', ({ detail }) => { this.onTrack(detail) })
    this.call.addEventListener('track:removed', ({ detail }) => {
      for (const f of this.files) { if (f.track === (detail.track as unknown)) { void this.closeFile(f) } }
    })
    this.call.addEventListener('peer-state', ({ detail }) => {
      if (detail.state === 'closed') { this.closePeer(detail.peerId.toString()) }
      if (detail.state === 'waiting-relay') {
        const name = this.memberName(detail.peerId)
        this.init.onEvent({ event: 'waiting-relay', peer: detail.peerId.toString(), name },
          `waiting for TURN credentials from a relay before calling ${name} (media only through TURN)`)
      }
    })
    room.addEventListener('peer:leave', ({ detail }) => { this.closePeer(detail.peerId.toString()) })
  }

  private memberName (peerId: PeerId): string {
    return this.init.room.members().find((m: MemberInfo) => m.peerId.equals(peerId))?.name ?? 'anonymous'
  }

  /** Say a limit once: one line (the CLI puts it on stderr, and in --json output). */
  private limit (key: string, event: Extract<RecorderEvent, { event: 'limit' }>): void {
    if (this.reported.has(key)) { return }
    this.reported.add(key)
    this.init.onEvent(event, `limit: ${event.message}`)
  }

  /** A session-wide limit: every file is closed and finished, no new one is opened, the owner is told. */
  private endSession (limit: LimitName): void {
    if (this.ended != null) { return }
    this.ended = limit
    clearInterval(this.spaceTimer)
    const message = limit === 'free-space'
      ? `the file system of ${this.init.dir} is down to its free-space floor (--min-free-bytes ${this.limits.minFreeBytes}); recording ends, every file is finished`
      : `the session reached its byte cap (--max-session-bytes ${this.limits.maxSessionBytes}); recording ends, every file is finished`
    this.limit(limit, { event: 'limit', limit, message })
    void Promise.all([...this.files].map(async f => { await this.closeFile(f) })).then(() => { this.init.onEnd?.(limit) })
  }

  private onTrack (detail: RemoteTrackEvent): void {
    const track = detail.track as unknown as WeriftTrack
    for (const f of this.files) { if (f.track === track && f.state !== 'closed') { return } }
    if (this.ended != null) { return }
    const peer = detail.peerId.toString()
    const name = this.memberName(detail.peerId)
    // over the whole session: a member that cycles tracks, leaves and comes back, or makes new identities gets no more files
    const mine = this.perPeer.get(peer) ?? 0
    if (mine >= this.limits.maxFilesPerParticipant) {
      this.limit(`participant-files ${peer}`, { event: 'limit', limit: 'participant-files', peer, name, message: `${name} (${shortPeerId(peer)}) has had ${mine} files, the most for one participant (--max-files-per-participant); nothing more of theirs is recorded` })
      return
    }
    if (this.fileCount >= this.limits.maxFiles) {
      this.limit('session-files', { event: 'limit', limit: 'session-files', message: `the session has had ${this.fileCount} files, its most (--max-files); no new file is opened` })
      return
    }
    // a participant sends a camera, a microphone and maybe a screen; one that sends dozens gets no more files
    if ([...this.files].filter(f => f.peerId === peer).length >= MAX_OPEN_PER_PEER) {
      this.init.onEvent({ event: 'warning', peer, message: `${name} sends more than ${MAX_OPEN_PER_PEER} tracks; the ${detail.kind} track is not recorded` },
        `warning: ${name} sends more than ${MAX_OPEN_PER_PEER} tracks; the ${detail.kind} track is not recorded`)
      return
    }
    const receiver = this.call?.peerConnection(detail.peerId)?.getReceivers().find(r => (r.track as unknown) === track) as any
    const file: TrackFile = new TrackFile(peer, name, detail.kind, track, receiver,
      (codec) => {
        const base = `${shortPeerId(peer)}-${safeName(name)}-${detail.kind}`
        let rel = `${base}.webm`
        for (let n = 2; this.usedNames.has(rel); n++) { rel = `${base}-${n}.webm` }
        this.usedNames.add(rel)
        return { abs: join(this.init.dir, rel), rel }
      },
      (f) => {
        this.manifest.files.push(f.entry!)
        void this.writeManifest()
        this.init.onEvent({ event: 'track:start', peer, name, kind: f.kind, codec: f.entry!.codec, file: f.entry!.file },
          `recording ${name}'s ${f.kind} (${f.entry!.codec}) to ${f.entry!.file}`)
      },
      (message) => { this.init.onEvent({ event: 'warning', peer, message }, `warning: ${message}`) },
      {
        maxFileBytes: this.limits.maxFileBytes,
        budget: this.budget,
        onLimit: (limit: ByteLimit) => {
          if (limit === 'session') {
            this.endSession(this.budget.tightest)
            return
          }
          const rel = file.entry?.file ?? ''
          this.limit(`file-bytes ${rel}`, { event: 'limit', limit: 'file-bytes', peer, name, file: rel, message: `${rel} reached the file cap (--max-file-bytes ${this.limits.maxFileBytes}); it is finished and ${name}'s ${detail.kind} is not recorded further` })
          void this.closeFile(file)
        }
      })
    this.perPeer.set(peer, mine + 1)
    this.fileCount++
    this.files.add(file)
  }

  private closePeer (peer: string): void {
    for (const f of this.files) { if (f.peerId === peer) { void this.closeFile(f) } }
  }

  private async closeFile (f: TrackFile): Promise<void> {
    if (f.state === 'closed' && !this.files.has(f)) { return }
    this.files.delete(f)
    const result = await f.close()
    if (result == null || f.entry == null) { return }
    await this.writeManifest()
    this.init.onEvent({ event: 'track:end', peer: f.peerId, name: f.name, kind: f.kind, file: f.entry.file, durationMs: result.durationMs },
      `closed ${f.entry.file} (${(result.durationMs / 1000).toFixed(1)} s)`)
  }

  /** The manifest on disk is always whole: written beside and renamed over, after every change. */
  private async writeManifest (): Promise<void> {
    this.manifestWrite = this.manifestWrite.then(async () => {
      const tmp = this.manifestPath + '.tmp'
      await writeFile(tmp, JSON.stringify(this.manifest, null, 2) + '\n', { flag: MANIFEST_FLAGS, mode: FILE_MODE })
      await rename(tmp, this.manifestPath)
    })
    await this.manifestWrite
  }

  /** Close every file, then hang up; the manifest is final when this resolves. */
  async stop (): Promise<Manifest> {
    clearInterval(this.spaceTimer)
    await Promise.all([...this.files].map(async f => { await this.closeFile(f) }))
    this.call?.hangUp()
    this.manifest.stop = new Date().toISOString()
    await this.writeManifest()
    return this.manifest
  }
}

/** The session folder for a recording started now: `<out>/<room>-<start, ISO 8601 without colons>`. */
export async function sessionDir (out: string, room: Room, start = new Date()): Promise<string> {
  const stamp = start.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')
  const dir = join(out, `${room.shortName}-${stamp}`)
  // made here, by this process: an existing folder, file or symlink of that name is an error, never followed
  try {
    await mkdir(dir, { mode: DIR_MODE })
  } catch (err: any) {
    throw new OutputDirError(`cannot make the session folder ${dir} (${String(err.code ?? err.message)}); nothing was written`)
  }
  return dir
}
