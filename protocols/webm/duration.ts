/**
 * MediaRecorder writes WebM as a live stream: the Segment and its Clusters have unknown sizes and the Segment
 * Info has no Duration, so players show no length and cannot seek well. `setWebmDuration` rewrites the Info of
 * the first bytes of such a file (the head MediaRecorder hands out first) with a Duration element. Pure: no DOM,
 * no I/O, so it runs in Node too. Everything here reads through ebml.ts and fails only with WebmFormatError.
 */
import { children, concat, elementEnd, encodeElement, encodeFloat64, ID_CLUSTER, ID_DURATION, ID_EBML, ID_INFO, ID_SEEK_HEAD, ID_SEGMENT, ID_TIMECODE, ID_TIMECODE_SCALE, encodeSize8, peekHeader, readFloat, readHeader, readUint, WebmFormatError } from './ebml.ts'

export { WebmFormatError }
export { lastBlock } from './stream.ts'

/** Where the Segment's size is and where its first child starts, after a complete EBML header. */
function segmentOf (head: Uint8Array): { sizeAt: number, size: number | undefined, sizeLength: number, body: number } {
  const ebml = readHeader(head, 0)
  if (ebml.id !== ID_EBML) { throw new WebmFormatError('not a WebM file (no EBML header)') }
  const segment = readHeader(head, elementEnd(ebml, head.length))
  if (segment.id !== ID_SEGMENT) { throw new WebmFormatError('no Segment after the EBML header') }
  return { sizeAt: segment.dataStart - segment.sizeLength, size: segment.size, sizeLength: segment.sizeLength, body: segment.dataStart }
}

/**
 * Return a copy of `head` (the beginning of a WebM file, at least up to the end of its Segment Info) whose
 * Segment Info carries `durationMs` as its Duration, replacing one that is there. Throws WebmFormatError if the
 * bytes are not such a file, or if a SeekHead would need its offsets moved (MediaRecorder writes none).
 */
export function setWebmDuration (head: Uint8Array, durationMs: number): Uint8Array {
  const segment = segmentOf(head)
  for (let pos = segment.body; pos < head.length;) {
    const h = readHeader(head, pos)
    if (h.id === ID_SEEK_HEAD) { throw new WebmFormatError('a SeekHead would point to moved elements') }
    if (h.id === ID_CLUSTER) { break } // Info always comes before the first Cluster
    if (h.id === ID_INFO) {
      if (h.size == null || h.dataStart + h.size > head.length) { throw new WebmFormatError('Segment Info is cut off') }
      const end = h.dataStart + h.size
      let scale = 1_000_000
      const kept: Uint8Array[] = []
      for (const c of children(head, h.dataStart, end)) {
        if (c.id === ID_TIMECODE_SCALE) { scale = readUint(head, c.dataStart, c.end - c.dataStart) }
        if (c.id !== ID_DURATION) { kept.push(head.subarray(c.start, c.end)) }
      }
      if (scale === 0) { throw new WebmFormatError('TimecodeScale is 0') }
      // Duration is a float in TimecodeScale units (ns per unit; 1 ms by default)
      const info = encodeElement(ID_INFO, [...kept, encodeElement(ID_DURATION, encodeFloat64(durationMs * 1_000_000 / scale))], 'eight')
      const out = concat([head.subarray(0, pos), info, head.subarray(end)])
      if (segment.size != null) {
        // a Segment of known size grows by what the Info grew
        if (segment.sizeLength !== 8) { throw new WebmFormatError('Segment size cannot grow in place') }
        out.set(encodeSize8(segment.size + info.length - (end - pos)), segment.sizeAt)
      }
      return out
    }
    if (h.size == null) { break }
    pos = h.dataStart + h.size
  }
  throw new WebmFormatError('no Segment Info in the first bytes')
}

/** The Duration in a WebM head, in ms, or undefined when it has none (for tests and diagnostics). */
export function webmDuration (head: Uint8Array): number | undefined {
  const info = findChild(head, ID_INFO)
  if (info == null) { return undefined }
  let scale = 1_000_000
  let duration: number | undefined
  for (const c of children(head, info.start, info.end)) {
    if (c.id === ID_TIMECODE_SCALE) { scale = readUint(head, c.dataStart, c.end - c.dataStart) }
    if (c.id === ID_DURATION) { duration = readFloat(head, c.dataStart, c.end - c.dataStart) }
  }
  return duration == null ? undefined : duration * scale / 1_000_000
}

/** Offset of the last Cluster header in `buf` (its ID followed by a size and a Timecode), or -1. */
export function lastClusterOffset (buf: Uint8Array): number {
  for (let i = buf.length - 4; i >= 0; i--) {
    if (buf[i] !== 0x1F || buf[i + 1] !== 0x43 || buf[i + 2] !== 0xB6 || buf[i + 3] !== 0x75) { continue }
    try {
      const cluster = peekHeader(buf, i)
      if (cluster != null && peekHeader(buf, cluster.dataStart)?.id === ID_TIMECODE) { return i }
    } catch (err) {
      if (!(err instanceof WebmFormatError)) { throw err }
    }
  }
  return -1
}

/** Where the data of a top-level child of the Segment starts and ends, if it is complete in `head`. */
function findChild (head: Uint8Array, wanted: number): { start: number, end: number } | undefined {
  try {
    for (let pos = segmentOf(head).body; pos < head.length;) {
      const h = readHeader(head, pos)
      if (h.id === wanted) { return h.size == null || h.dataStart + h.size > head.length ? undefined : { start: h.dataStart, end: h.dataStart + h.size } }
      if (h.size == null || h.id === ID_CLUSTER) { return undefined }
      pos = h.dataStart + h.size
    }
  } catch (err) {
    if (!(err instanceof WebmFormatError)) { throw err }
  }
  return undefined
}
