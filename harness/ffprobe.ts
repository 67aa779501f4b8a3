/**
 * The one way tests and benchmarks look into a media file: ffprobe (and, for decoding and audio levels, ffmpeg),
 * run as a process, its JSON parsed into typed objects. When the tool is not installed, the error says so and how
 * to install it, instead of a bare ENOENT.
 */
import { execFile } from 'node:child_process'
import type { AbortOptions } from '@libp2p/interface'

/** ffprobe or ffmpeg is not on this machine. */
export class MediaToolMissingError extends Error {
  static readonly name = 'MediaToolMissingError'
  readonly name = 'MediaToolMissingError'
}

/** The tool ran and failed (a file it cannot read, bad arguments): its stderr is in the message. */
export class MediaToolError extends Error {
  static readonly name = 'MediaToolError'
  readonly name = 'MediaToolError'
}

export interface ProbeStream {
  index: number
  codec_type: 'video' | 'audio' | string
  codec_name: string
  width?: number
  height?: number
  /** Frames decoded, with `countFrames`. */
  nb_read_frames?: string
  start_time?: string
  duration?: string
}

export interface ProbePacket {
  stream_index: number
  pts_time: string
  duration_time?: string
}

export interface Probe {
  format: { format_name: string, duration?: string, size?: string }
  streams: ProbeStream[]
  /** With `packets`. */
  packets?: ProbePacket[]
}

export interface ProbeOptions extends AbortOptions {
  /** List every packet (its stream, time and duration). */
  packets?: boolean
  /** Decode every frame and count them (`nb_read_frames`): slow, and a check that the file decodes. */
  countFrames?: boolean
}

const MAX_OUTPUT = 256 * 1024 * 1024

/** Run ffprobe or ffmpeg; resolves with stdout and stderr when it exits 0. */
export async function runMediaTool (tool: 'ffprobe' | 'ffmpeg', args: string[], options: AbortOptions = {}): Promise<{ stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: MAX_OUTPUT, signal: options.signal }, (err, stdout, stderr) => {
      if (err == null) { resolve({ stdout, stderr }); return }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new MediaToolMissingError(`${tool} is not installed (apt-get install -y ffmpeg); the recording tests need it to read the files they make`))
        return
      }
      if (err.name === 'AbortError') { reject(err); return }
      reject(new MediaToolError(`${tool} ${args.join(' ')} failed: ${String(stderr).trim().slice(-2000) || err.message}`))
    })
  })
}

/** What ffprobe makes of a file: container, streams, and with options its packets and decoded frame counts. */
export async function ffprobe (file: string, options: ProbeOptions = {}): Promise<Probe> {
  const args = ['-v', 'error', '-show_format', '-show_streams', ...(options.packets === true ? ['-show_packets'] : []),
    ...(options.countFrames === true ? ['-count_frames'] : []), '-of', 'json', file]
  const { stdout } = await runMediaTool('ffprobe', args, options)
  const probe = JSON.parse(stdout) as Probe
  if (probe.format == null || !Array.isArray(probe.streams)) { throw new MediaToolError(`ffprobe gave no format or streams for ${file}`) }
  return probe
}

/**
 * Demux and decode every frame, and say what ffprobe warns about (nothing, for a good file). ffprobe rather than
 * `ffmpeg -f null`: ffmpeg's output muxer re-times frames to its own time base and reports its own collisions.
 */
export async function ffprobeWarnings (file: string, options: AbortOptions = {}): Promise<string> {
  const { stderr } = await runMediaTool('ffprobe', ['-v', 'warning', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv', file], options)
  return stderr.trim()
}

/** The container's duration in seconds (from the file's Duration element, for WebM). */
export function durationOf (probe: Probe): number {
  const d = Number(probe.format.duration)
  if (!Number.isFinite(d)) { throw new MediaToolError(`the file has no duration (format ${JSON.stringify(probe.format)})`) }
  return d
}

/**
 * Where the media of a file ends, in seconds: the latest packet end of the streams of a type, or of all streams.
 * An audio packet ends at its time plus its duration (the codec's frame length); a video frame of a live WebM states
 * no duration (it shows until the next one), and the one ffprobe reports is its guess from the frame rate (0.57 s
 * for the last frame of a page drawing 1.75 frames a second), so a video frame ends where it starts.
 * Needs a probe made with `packets`.
 */
export function mediaEnd (probe: Probe, type?: 'video' | 'audio'): number {
  if (probe.packets == null) { throw new Error('mediaEnd needs ffprobe(file, { packets: true })') }
  const kinds = new Map(probe.streams.filter(s => type == null || s.codec_type === type).map(s => [s.index, s.codec_type]))
  let end = -Infinity
  for (const p of probe.packets) {
    const kind = kinds.get(p.stream_index)
    if (kind == null) { continue }
    end = Math.max(end, Number(p.pts_time) + (kind === 'audio' ? Number(p.duration_time ?? 0) : 0))
  }
  return end
}

/** The time of the last packet of the streams of a type (or of all), in seconds; needs `packets`. */
export function lastPacket (probe: Probe, type?: 'video' | 'audio'): number {
  if (probe.packets == null) { throw new Error('lastPacket needs ffprobe(file, { packets: true })') }
  const streams = new Set(probe.streams.filter(s => type == null || s.codec_type === type).map(s => s.index))
  return probe.packets.filter(p => streams.has(p.stream_index)).reduce((n, p) => Math.max(n, Number(p.pts_time)), -Infinity)
}
