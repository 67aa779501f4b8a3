/**
 * What MediaRecorder hands over, chunk by chunk and in order: read for its media times (protocols/webm/stream.ts),
 * then written to disk. Before the folder on disk exists, chunks wait here; after the person pressed Stop, they are
 * held here and cut at the stop, so that nothing recorded after the click reaches the disk.
 *
 * Why the media times: Chrome's MediaRecorder.stop() throws away what is still in the encoder and what the encoder
 * has handed to the page's busy main thread (crbug.com/719023), up to seconds of a recording on a loaded machine. So
 * the recorder asks for data until the media in the chunks has reached the moment of the stop, and only then stops.
 */
import { concat, TRACK_TYPE_VIDEO, WebmFormatError } from '../../../protocols/webm/ebml.ts'
import { cutAfter, WebmScanner } from '../../../protocols/webm/stream.ts'
import type { RecordingWriter } from './store.ts'
import type { WebmMark } from '../../../protocols/webm/stream.ts'

/**
 * How long after the stop a video frame may be and still end the recording: the frame drawn at the stop is captured
 * at the canvas's next paint, later on a busy page.
 */
export const STOP_FRAME_SLACK_MS = 500

export class ChunkIntake {
  /** Media time of the latest block read, in ms. */
  lastMs = -Infinity
  /** Media time of the latest video frame read, in ms. */
  lastVideoMs = -Infinity
  /**
   * Media time of the latest block in what went to disk without being held, in ms: on a busy page the chunks still
   * queued when Stop is pressed can reach past the stop, and what is on disk cannot be cut, so the Duration covers it.
   */
  private writtenMs = -Infinity
  private queue: Promise<void> = Promise.resolve()
  /** Undefined once the stream could not be read (the recording goes on; it is then not cut). */
  private scanner: WebmScanner | undefined = new WebmScanner()
  private bytes = 0
  private writer: RecordingWriter | undefined
  private early: Blob[] = []
  private held: Uint8Array[] | undefined
  private heldFrom = 0
  private readonly marks: WebmMark[] = []

  constructor (private readonly onError: (err: Error) => void) {}

  /** Whether the media times can be read (else the recording stops at once and is not cut). */
  get readable (): boolean { return this.scanner != null }

  /** The next chunk from MediaRecorder. */
  add (chunk: Blob): void {
    this.then(async () => {
      const bytes = this.scanner != null || this.held != null ? new Uint8Array(await chunk.arrayBuffer()) : undefined
      this.bytes += chunk.size
      const lastMs = bytes != null ? this.scan(bytes) : -Infinity
      if (this.held == null) { this.writtenMs = Math.max(this.writtenMs, lastMs) }
      if (this.held != null) {
        this.held.push(bytes!)
      } else if (this.writer == null) {
        this.early.push(chunk)
      } else {
        this.write(chunk)
      }
    })
  }

  /** The folder on disk exists: write what waited, and everything after it. */
  setWriter (writer: RecordingWriter): void {
    this.then(async () => {
      this.writer = writer
      for (const chunk of this.early.splice(0)) { this.write(chunk) }
    })
  }

  /** Stop pressed: chunks from now on are held, to be cut at the stop by `finish`. */
  hold (): void {
    this.then(async () => {
      this.held = []
      this.heldFrom = this.bytes
    })
  }

  /** Whether the media read so far reaches `stopMs`: a video frame after it, or the audio well past it. */
  reached (stopMs: number): boolean {
    if (this.scanner == null) { return true }
    return this.lastVideoMs > stopMs || this.lastMs >= stopMs + STOP_FRAME_SLACK_MS
  }

  async settled (): Promise<void> {
    await this.queue
  }

  /**
   * After MediaRecorder stopped: write what was held, cut at the stop, and say how long the recording is, in ms
   * (the stop, in media time; or, when the media never got that far, where it ends).
   */
  async finish (stopMs: number): Promise<number> {
    await this.queue
    const held = concat(this.held ?? [])
    this.held = undefined
    if (this.scanner == null) {
      this.write(new Blob([held as Uint8Array<ArrayBuffer>]))
      return stopMs
    }
    const cut = cutAfter(this.marks, stopMs, { videoTrack: this.videoTrack(), slackMs: STOP_FRAME_SLACK_MS, from: this.heldFrom })
    const keep = cut == null ? held.length : Math.max(0, cut.offset - this.heldFrom)
    if (keep > 0) { this.write(new Blob([held.subarray(0, keep) as Uint8Array<ArrayBuffer>])) }
    if (cut != null) { return Math.max(stopMs, cut.lastMs, this.writtenMs) }
    return Number.isFinite(this.lastMs) ? this.lastMs : 0
  }

  private videoTrack (): number | undefined {
    for (const [n, type] of this.scanner?.tracks ?? []) { if (type === TRACK_TYPE_VIDEO) { return n } }
    return undefined
  }

  /** Read a chunk's media times; returns the latest block's, in ms (-Infinity: none). */
  private scan (bytes: Uint8Array): number {
    const marks: WebmMark[] = []
    try {
      this.scanner?.push(bytes, marks)
    } catch (err) {
      if (!(err instanceof WebmFormatError)) { throw err }
      this.scanner = undefined
    }
    const video = this.videoTrack()
    let latest = -Infinity
    for (const m of marks) {
      if (m.kind !== 'block') { continue }
      latest = Math.max(latest, m.ms)
      if (m.track === video) { this.lastVideoMs = Math.max(this.lastVideoMs, m.ms) }
    }
    this.lastMs = Math.max(this.lastMs, latest)
    if (this.held != null) { this.marks.push(...marks) }
    return latest
  }

  private write (chunk: Blob): void {
    if (chunk.size === 0 || this.writer == null) { return }
    this.writer.append(chunk).catch((err: Error) => { this.onError(err) })
  }

  /** Run `step` after everything queued before it; a failure is reported, and the queue goes on. */
  private then (step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: Error) => { this.onError(err) })
  }
}
