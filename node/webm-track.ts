/**
 * One received track into one WebM file, with werift's pieces: jitter buffer (video), RTP time, depacketizer,
 * Matroska muxer, file writer. This is werift's MediaRecorder pipeline (nonstandard/recorder/writer/webm.ts) for a
 * single track, with one addition: a frame whose time is not after the previous one is dropped. Under load
 * werift's depacketizer sometimes emits the remainder of a frame whose packets came late (NACK retransmissions) as
 * a second frame with the same timestamp; written as is, the file has two blocks at one time, which ffmpeg
 * reports ("non monotonically increasing dts") and players may show as a glitch.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { DepacketizeCallback, DurationPosition, JitterBufferCallback, replaceSegmentSize, RtpSourceCallback, RtpTimeCallback, SegmentSizePosition, WebmCallback } from 'werift/nonstandard'
import type { FileHandle } from 'node:fs/promises'
import type { MediaStreamTrack, RtpPacket } from 'werift'

/** How long closing waits for the writer to flush and patch the header, in ms. */
const CLOSE_TIMEOUT = 5_000
/** What the writer claims until the file is closed and the real Duration is written, in ms: a day, as werift. */
const OPEN_DURATION = 24 * 3600 * 1000

/**
 * Most bytes one frame adds besides its data, in the worst case: a SimpleBlock's header (ID, 8-byte size, track,
 * time, flags: 13), a new Cluster before it (ID, unknown size, Timecode: 29) and that Cluster's CuePoint at the end
 * (every number 8 bytes: 87).
 */
const FRAME_OVERHEAD = 16 + 32 + 96
/** What the Cues element takes besides its CuePoints (4-byte ID, 8-byte size), and one CuePoint at most. */
const CUES_HEAD = 16
const CUE_POINT = 96
/** A new file: open(2) without following a symlink, never over an existing file, readable by this user only. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
const FILE_MODE = 0o600

const CONTAINER_CODEC: Record<string, string> = { vp8: 'VP8', vp9: 'VP9', opus: 'OPUS' }

/** Which byte limit stopped a file: its own cap, or what the session (its cap, the disk's free-space floor) has left. */
export type ByteLimit = 'file' | 'session'

/** Bytes the files of one session may still take; shared by every writer of the session. */
export interface ByteBudget {
  /** Bytes left now (never negative). */
  left(): number
  /** Count bytes written (or promised: the Cues to come). */
  use(bytes: number): void
}

export interface WebmTrackLimits {
  /** Largest the file may grow, Cues included; the file is finished below it. */
  maxFileBytes: number
  budget: ByteBudget
  /** A limit was reached: the writer has finished the file (Cues, Duration) and takes nothing more. */
  onLimit(limit: ByteLimit): void
}

/** werift's muxer state the limits read: bytes it has handed out, the CuePoints it will write at the end. */
interface MuxerState { position: number, cuePoints: unknown[], stopped: boolean, stop(): void }

/**
 * werift's saveToFileSystem, with the file created exclusively (O_EXCL|O_NOFOLLOW: a file or symlink already there
 * is an error, nothing is written through it) and kept open until the end. werift's muxer hands over one output at
 * a time (its own queue), so writes never overlap.
 */
class FileSink {
  private fh?: Promise<FileHandle>
  private at = 0
  private closed = false

  constructor (private readonly path: string) {}

  /** Write one output of the muxer; true when it was the end (Duration and size written, file closed). */
  async write (o: any): Promise<boolean> {
    if (this.closed) { return false }
    this.fh ??= open(this.path, CREATE_FLAGS, FILE_MODE)
    const file = await this.fh
    if (o.saveToFile != null) {
      const { bytesWritten } = await file.write(o.saveToFile, 0, o.saveToFile.length, this.at)
      this.at += bytesWritten
      return false
    }
    if (o.eol == null) { return false }
    const { durationElement } = o.eol
    await file.write(durationElement, 0, durationElement.length, DurationPosition)
    // as werift writes it (3 bytes off): webm-finish.ts writes the right size over it
    const resize = replaceSegmentSize(this.at)
    await file.write(resize, 0, resize.length, SegmentSizePosition)
    await this.close()
    return true
  }

  async close (): Promise<void> {
    if (this.closed) { return }
    this.closed = true
    await (await this.fh?.catch(() => undefined))?.close()
  }
}

export class WebmTrackWriter {
  /** Frames dropped because their time did not advance. */
  dropped = 0
  private readonly source = new RtpSourceCallback()
  private readonly ended: Promise<void>
  private readonly unsubscribe: () => void
  private readonly sink: FileSink

  /**
   * `onFirstFrame` is called when the first frame goes into the file: for video the first whole keyframe (the muxer
   * drops what comes before one), for audio the first packet.
   */
  constructor (path: string, track: MediaStreamTrack, codec: 'vp8' | 'vp9' | 'opus', onFirstFrame: (data: Buffer) => void, onError: (err: Error) => void, limits: WebmTrackLimits) {
    const video = track.kind === 'video'
    const clockRate = video ? 90_000 : 48_000
    const name = CONTAINER_CODEC[codec]
    const webm = new WebmCallback([{
      kind: video ? 'video' : 'audio',
      codec: name,
      clockRate,
      trackNumber: 1,
      payloadType: track.codec?.payloadType,
      track,
      ...(video ? { width: 640, height: 360 } : {})
    } as any], { duration: OPEN_DURATION })
    const time = new RtpTimeCallback(clockRate)
    const depacketizer = new DepacketizeCallback(name as any, video ? { isFinalPacketInSequence: (h: { marker: boolean }) => h.marker } : {})
    if (video) {
      const jitter = new JitterBufferCallback(clockRate, {})
      this.source.pipe(jitter.input)
      jitter.pipe(time.input)
    } else {
      this.source.pipe(time.input)
    }
    time.pipe(depacketizer.input)
    const muxer = webm as unknown as MuxerState
    /** What this file has counted against the session: bytes handed to the file, and the Cues to come. */
    let counted = 0
    const promised = (): number => muxer.position + CUES_HEAD + CUE_POINT * muxer.cuePoints.length
    const count = (): void => {
      const now = promised()
      limits.budget.use(now - counted)
      counted = now
    }
    let last = -Infinity
    let started = false
    depacketizer.pipe((out: any) => {
      if (muxer.stopped) { return }
      if (out.frame != null) {
        if (out.frame.time <= last) {
          this.dropped++
          return
        }
        // a frame that could take the file or the session past its cap is not written: the file is finished here
        const need = out.frame.data.length + FRAME_OVERHEAD
        let limit: ByteLimit | undefined
        if (promised() + need > limits.maxFileBytes) { limit = 'file' } else if (need > limits.budget.left()) { limit = 'session' }
        if (limit != null) {
          muxer.stop()
          count()
          // told after this packet's handlers have run: the owner closes the file, which unsubscribes from the track
          setImmediate(() => { limits.onLimit(limit) })
          return
        }
        last = out.frame.time
        if (!started && (!video || out.frame.isKeyframe === true)) {
          started = true
          onFirstFrame(out.frame.data)
        }
      }
      if (video) { webm.inputVideo(out) } else { webm.inputAudio(out) }
      count()
    })
    this.sink = new FileSink(path)
    this.ended = new Promise(resolve => {
      webm.pipe(async (o: any) => {
        try {
          if (await this.sink.write(o)) { resolve() }
        } catch (err: any) {
          // one failed write ends the file: said once, nothing more is written
          void this.sink.close()
          muxer.stopped = true
          onError(err)
          resolve()
        }
      })
    })
    // the header went out when the muxer started
    count()
    const sub = track.onReceiveRtp.subscribe((rtp: RtpPacket) => { this.source.input(rtp.clone()) })
    this.unsubscribe = () => { sub.unSubscribe() }
  }

  /** Stop taking packets, flush, write Cues, Duration and the segment size. */
  async stop (): Promise<void> {
    this.unsubscribe()
    this.source.stop()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.ended, new Promise(resolve => { timer = setTimeout(resolve, CLOSE_TIMEOUT) })])
    clearTimeout(timer)
    await this.sink.close()
  }
}
