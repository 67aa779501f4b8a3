/**
 * A WebM stream read as it is written, in pieces of any size (MediaRecorder's chunks): where each Cluster and each
 * block starts, at what media time, of which track. Only element headers, the Info, the Tracks and the first bytes
 * of each block are looked at; block payloads are skipped without being copied. Pure, no I/O.
 *
 * The recorder in the browser uses it to know how far the encoded media has got (to stop only when everything up
 * to the stop has come out of the encoder) and where to cut the stream at the stop; the recording store uses it to
 * find the last whole block of a recording cut off by a crash.
 */
import { children, concat, elementEnd, ID_BLOCK, ID_BLOCK_GROUP, ID_CLUSTER, ID_EBML, ID_INFO, ID_SEGMENT, ID_SIMPLE_BLOCK, ID_TIMECODE, ID_TIMECODE_SCALE, ID_TRACK_ENTRY, ID_TRACK_NUMBER, ID_TRACK_TYPE, ID_TRACKS, peekHeader, readSize, readUint, WebmFormatError } from './ebml.ts'
import type { ElementHeader } from './ebml.ts'

export interface WebmMark {
  /** 'cluster': a Cluster starts here (`ms` is its Timecode); 'block': a SimpleBlock or a BlockGroup starts here. */
  kind: 'cluster' | 'block'
  /** Offset of the element's first byte in the whole stream. */
  offset: number
  /** Offset just after it (for a Cluster: after its Timecode). */
  end: number
  /** Media time in ms. */
  ms: number
  /** Track number, for blocks. */
  track?: number
  /** The stream may end just before this element and still be well formed (it sits in an unknown-sized parent). */
  cuttable: boolean
}

export interface WebmScannerInit {
  /** Start inside a live Segment's body, at a Cluster (the tail of a file), instead of at the EBML header. */
  fromCluster?: boolean
  /**
   * Largest element read whole (Info, Tracks, a Timecode), in bytes.
   *
   * @default 1 MiB
   */
  maxElement?: number
}

/** Track number to TrackType (1 video, 2 audio) from the data of a Tracks element, `[start, end)` of `buf`. */
export function parseTracks (buf: Uint8Array, start: number, end: number): Map<number, number> {
  const tracks = new Map<number, number>()
  for (const entry of children(buf, start, end)) {
    if (entry.id !== ID_TRACK_ENTRY) { continue }
    let number: number | undefined
    let type: number | undefined
    for (const c of children(buf, entry.dataStart, entry.end)) {
      if (c.id === ID_TRACK_NUMBER) { number = readUint(buf, c.dataStart, c.end - c.dataStart) }
      if (c.id === ID_TRACK_TYPE) { type = readUint(buf, c.dataStart, c.end - c.dataStart) }
    }
    if (number != null && type != null) { tracks.set(number, type) }
  }
  return tracks
}

/** Wait for more bytes. */
const MORE = -1

export class WebmScanner {
  /** Track number to TrackType, once the Tracks element has been read. */
  readonly tracks = new Map<number, number>()
  /** Nanoseconds per Timecode tick (the Info's TimecodeScale). */
  scale = 1_000_000
  /** Bytes pushed so far. */
  length = 0
  private buf: Uint8Array = new Uint8Array(0)
  /** Offset of buf[0] in the stream (after a skip: of the first byte not yet skipped). */
  private at = 0
  private skip = 0
  private state: 'ebml' | 'segment' | 'body'
  private live: boolean
  private cluster: { offset: number, end?: number, time?: number } | undefined
  private group: { offset: number, end: number } | undefined
  private readonly maxElement: number

  constructor (init: WebmScannerInit = {}) {
    this.state = init.fromCluster === true ? 'body' : 'ebml'
    this.live = init.fromCluster === true
    this.maxElement = init.maxElement ?? 1024 * 1024
  }

  /**
   * Read the next piece of the stream; the marks it completes are appended to `marks` (also when this throws) and
   * returned. Throws WebmFormatError when the stream is not WebM this can follow; the scanner is then unusable.
   */
  push (bytes: Uint8Array, marks: WebmMark[] = []): WebmMark[] {
    this.length += bytes.length
    if (this.skip > 0) {
      const n = Math.min(this.skip, bytes.length)
      this.skip -= n
      this.at += n
      bytes = bytes.subarray(n)
    }
    this.buf = this.buf.length === 0 ? bytes : concat([this.buf, bytes])
    while (this.skip === 0) {
      const header = peekHeader(this.buf, 0)
      if (header == null) { break }
      const step = this.element(header, marks)
      if (step === MORE) { break }
      if (step <= this.buf.length) {
        this.buf = this.buf.subarray(step)
        this.at += step
      } else {
        this.skip = step - this.buf.length
        this.at += this.buf.length
        this.buf = new Uint8Array(0)
      }
    }
    return marks
  }

  /** How many bytes the element at buf[0] takes from the stream (its header only, to descend into it), or MORE. */
  private element (h: ElementHeader, marks: WebmMark[]): number {
    if (this.state === 'ebml') {
      if (h.id !== ID_EBML) { throw new WebmFormatError('not a WebM stream (no EBML header)') }
      this.state = 'segment'
      return this.sized(h)
    }
    if (this.state === 'segment') {
      if (h.id !== ID_SEGMENT) { throw new WebmFormatError('no Segment after the EBML header') }
      this.state = 'body'
      this.live = h.size == null
      return h.dataStart
    }
    switch (h.id) {
      case ID_CLUSTER:
        this.cluster = { offset: this.at, end: h.size != null ? this.at + h.dataStart + h.size : undefined }
        this.group = undefined
        return h.dataStart
      case ID_TIMECODE: {
        if (this.cluster == null) { throw new WebmFormatError('a Timecode outside a Cluster') }
        const end = this.whole(h)
        if (end === MORE) { return MORE }
        this.cluster.time = readUint(this.buf, h.dataStart, end - h.dataStart)
        marks.push({ kind: 'cluster', offset: this.cluster.offset, end: this.at + end, ms: this.ms(this.cluster.time), cuttable: this.live })
        return end
      }
      case ID_BLOCK_GROUP:
        this.group = { offset: this.at, end: this.at + this.sized(h) }
        return h.dataStart
      case ID_SIMPLE_BLOCK:
      case ID_BLOCK:
        return this.block(h, marks)
      case ID_INFO:
      case ID_TRACKS:
        return this.header(h)
      default:
        return this.sized(h)
    }
  }

  /** Info (for the TimecodeScale) and Tracks (for the track types), read whole. */
  private header (h: ElementHeader): number {
    const end = this.whole(h)
    if (end === MORE) { return MORE }
    if (h.id === ID_TRACKS) {
      for (const [n, type] of parseTracks(this.buf, h.dataStart, end)) { this.tracks.set(n, type) }
      return end
    }
    for (const c of children(this.buf, h.dataStart, end)) {
      if (c.id === ID_TIMECODE_SCALE) { this.scale = readUint(this.buf, c.dataStart, c.end - c.dataStart) }
    }
    if (this.scale <= 0) { throw new WebmFormatError('TimecodeScale is 0') }
    return end
  }

  private block (h: ElementHeader, marks: WebmMark[]): number {
    const time = this.cluster?.time
    if (time == null) { throw new WebmFormatError('a block before its Cluster\'s Timecode') }
    const size = this.sized(h) - h.dataStart
    // the track number (a vint) and the 16-bit relative time are all that is read of a block
    const need = h.dataStart + Math.min(size, 10)
    if (this.buf.length < need) { return MORE }
    const data = this.buf.subarray(h.dataStart, need)
    const track = readSize(data, 0)
    if (track.length + 2 > data.length) { throw new WebmFormatError(`a block of ${size} bytes at ${this.at}`) }
    const rel = ((data[track.length] << 8) | data[track.length + 1]) << 16 >> 16
    const inGroup = h.id === ID_BLOCK && this.group != null && this.at < this.group.end
    const offset = inGroup ? this.group!.offset : this.at
    const end = inGroup ? this.group!.end : this.at + h.dataStart + size
    marks.push({ kind: 'block', offset, end, ms: this.ms(time + rel), track: track.value, cuttable: this.live && this.cluster?.end == null })
    return h.dataStart + size
  }

  /** The element's whole length, for one of known size. */
  private sized (h: ElementHeader): number {
    if (h.size == null) { throw new WebmFormatError(`unknown-sized element ${h.id.toString(16)} at ${this.at}`) }
    return h.dataStart + h.size
  }

  /** The element's end in buf once all of it is there, or MORE. */
  private whole (h: ElementHeader): number {
    const length = this.sized(h)
    if (length - h.dataStart > this.maxElement) { throw new WebmFormatError(`element ${h.id.toString(16)} of ${h.size} bytes is too large`) }
    if (this.buf.length < length) { return MORE }
    return elementEnd(h, this.buf.length)
  }

  private ms (ticks: number): number {
    return ticks * this.scale / 1_000_000
  }
}

export interface WebmCut {
  /** Keep the stream's bytes before this offset. */
  offset: number
  /** Time of the last block kept, in ms (-Infinity if none of `marks` is kept). */
  lastMs: number
}

/**
 * Where to end a live WebM stream so that it stops at `stopMs`: just before the first block or Cluster that is later,
 * except that the first video frame less than `slackMs` after the stop is kept (a canvas captures what is drawn at
 * the stop at its next paint, a moment later). `marks` are a scanner's, in stream order; only those at or after
 * offset `from` may be cut. Undefined when nothing in `marks` is later than that, or the stream cannot be cut there
 * (a Segment or Cluster of known size).
 */
export function cutAfter (marks: WebmMark[], stopMs: number, options: { videoTrack?: number, slackMs?: number, from?: number } = {}): WebmCut | undefined {
  const { videoTrack, slackMs = 500, from = 0 } = options
  let limit = stopMs
  const frame = marks.find(m => m.kind === 'block' && m.track === videoTrack && m.ms > stopMs)
  if (videoTrack != null && frame != null && frame.ms < stopMs + slackMs) { limit = frame.ms }
  let i = marks.findIndex(m => m.offset >= from && m.ms > limit)
  while (i >= 0 && i < marks.length && !marks[i].cuttable) { i++ }
  if (i < 0 || i >= marks.length) { return undefined }
  // a Cluster whose blocks are all cut goes too
  if (i > 0 && marks[i - 1].kind === 'cluster' && marks[i - 1].cuttable && marks[i - 1].offset >= from) { i-- }
  const kept = marks.slice(0, i).filter(m => m.kind === 'block')
  return { offset: marks[i].offset, lastMs: kept.reduce((n, m) => Math.max(n, m.ms), -Infinity) }
}

/**
 * The last whole block in `tail` (which starts at a Cluster of a live stream and may be cut off anywhere): its media
 * time (of `track`, or of any track), and where the last whole block of any track ends. Undefined when there is none.
 */
export function lastBlock (tail: Uint8Array, track?: number): { ms: number, end: number } | undefined {
  const marks: WebmMark[] = []
  try {
    new WebmScanner({ fromCluster: true }).push(tail, marks)
  } catch (err) {
    // what was read before the damage still counts
    if (!(err instanceof WebmFormatError)) { throw err }
  }
  const whole = marks.filter(m => m.kind === 'block' && m.end <= tail.length)
  const ofTrack = whole.filter(m => track == null || m.track === track)
  if (ofTrack.length === 0) { return undefined }
  return { ms: ofTrack.reduce((n, m) => Math.max(n, m.ms), -Infinity), end: whole.reduce((n, m) => Math.max(n, m.end), 0) }
}
