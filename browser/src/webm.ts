/**
 * MediaRecorder writes WebM as a live stream: the Segment and its Clusters have unknown sizes and the Segment
 * Info has no Duration, so players show no length and cannot seek well. `setWebmDuration` rewrites the Info of
 * the first bytes of such a file (the head MediaRecorder hands out first) with a Duration element. Pure: no DOM,
 * no I/O, so it runs in Node too.
 */

import { encodeId, encodeSize8, ID_CLUSTER, ID_DURATION, ID_EBML, ID_INFO, ID_SEEK_HEAD, ID_SEGMENT, ID_TIMECODE_SCALE, readId, readSize, WebmFormatError, type Vint } from '../../protocols/webm/ebml.js'

export { WebmFormatError }

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

function readUint (buf: Uint8Array, pos: number, size: number): number {
  let v = 0
  for (let i = 0; i < size; i++) v = v * 256 + buf[pos + i]
  return v
}

/**
 * Return a copy of `head` (the beginning of a WebM file, at least up to the end of its Segment Info) whose
 * Segment Info carries `durationMs` as its Duration, replacing one that is there. Throws WebmFormatError if the
 * bytes are not such a file, or if a SeekHead would need its offsets moved (MediaRecorder writes none).
 */
export function setWebmDuration (head: Uint8Array, durationMs: number): Uint8Array {
  let pos = 0
  const ebml = readId(head, pos)
  if (ebml.value !== ID_EBML) throw new WebmFormatError('not a WebM file (no EBML header)')
  const ebmlSize = readSize(head, pos + ebml.length)
  pos += ebml.length + ebmlSize.length + ebmlSize.value
  const segment = readId(head, pos)
  if (segment.value !== ID_SEGMENT) throw new WebmFormatError('no Segment after the EBML header')
  const segmentSize = readSize(head, pos + segment.length)
  const segmentSizeAt = pos + segment.length
  pos += segment.length + segmentSize.length
  while (pos < head.length) {
    const id = readId(head, pos)
    const size = readSize(head, pos + id.length)
    const dataAt = pos + id.length + size.length
    if (id.value === ID_SEEK_HEAD) throw new WebmFormatError('a SeekHead would point to moved elements')
    if (id.value === ID_CLUSTER) break // Info always comes before the first Cluster
    if (id.value === ID_INFO) {
      if (size.unknown || dataAt + size.value > head.length) throw new WebmFormatError('Segment Info is cut off')
      let scale = 1_000_000
      const kept: Uint8Array[] = []
      let c = dataAt
      while (c < dataAt + size.value) {
        const cid = readId(head, c)
        const csize = readSize(head, c + cid.length)
        const end = c + cid.length + csize.length + csize.value
        if (cid.value === ID_TIMECODE_SCALE) scale = readUint(head, c + cid.length + csize.length, csize.value)
        if (cid.value !== ID_DURATION) kept.push(head.subarray(c, end))
        c = end
      }
      // Duration is a float in TimecodeScale units (ns per unit; 1 ms by default)
      const duration = new Uint8Array(11)
      duration.set(encodeId(ID_DURATION), 0)
      duration[2] = 0x88
      new DataView(duration.buffer).setFloat64(3, durationMs * 1_000_000 / scale)
      const body = concat([...kept, duration])
      const info = concat([encodeId(ID_INFO), encodeSize8(body.length), body])
      const out = concat([head.subarray(0, pos), info, head.subarray(dataAt + size.value)])
      if (!segmentSize.unknown) {
        // a Segment of known size grows by what the Info grew
        const grown = segmentSize.value + info.length - (dataAt + size.value - pos)
        if (segmentSize.length !== 8) throw new WebmFormatError('Segment size cannot grow in place')
        out.set(encodeSize8(grown), segmentSizeAt)
      }
      return out
    }
    if (size.unknown) break
    pos = dataAt + size.value
  }
  throw new WebmFormatError('no Segment Info in the first bytes')
}

/** The Duration in a WebM head, in ms, or undefined when it has none (for tests and diagnostics). */
export function webmDuration (head: Uint8Array): number | undefined {
  const info = findChild(head, ID_INFO)
  if (info == null) return undefined
  let scale = 1_000_000
  let duration: number | undefined
  for (let c = info.start; c < info.end;) {
    const cid = readId(head, c)
    const csize = readSize(head, c + cid.length)
    const at = c + cid.length + csize.length
    if (cid.value === ID_TIMECODE_SCALE) scale = readUint(head, at, csize.value)
    if (cid.value === ID_DURATION) {
      const view = new DataView(head.buffer, head.byteOffset + at, csize.value)
      duration = csize.value === 4 ? view.getFloat32(0) : view.getFloat64(0)
    }
    c = at + csize.value
  }
  return duration == null ? undefined : duration * scale / 1_000_000
}

const ID_TIMECODE = 0xE7
const ID_SIMPLE_BLOCK = 0xA3
const ID_BLOCK_GROUP = 0xA0
const ID_BLOCK = 0xA1

/** Offset of the last Cluster header in `buf` (its ID followed by a size and a Timecode), or -1. */
export function lastClusterOffset (buf: Uint8Array): number {
  for (let i = buf.length - 4; i >= 0; i--) {
    if (buf[i] !== 0x1F || buf[i + 1] !== 0x43 || buf[i + 2] !== 0xB6 || buf[i + 3] !== 0x75) continue
    try {
      const size = readSize(buf, i + 4)
      if (readId(buf, i + 4 + size.length).value === ID_TIMECODE) return i
    } catch {}
  }
  return -1
}

/**
 * The timestamp of the last block in `tail`, in ms (TimecodeScale 1 ms, as MediaRecorder writes), and where the
 * last complete element ends: `tail` starts at a Cluster header and runs to the end of the file, possibly cut in
 * the middle of its last element (a tab that died while recording). Undefined when no block could be read.
 */
export function lastBlock (tail: Uint8Array, track?: number): { ms: number, end: number } | undefined {
  let pos = 0
  let clusterTime: number | undefined
  let last: number | undefined
  let end = 0
  while (pos < tail.length) {
    let id: Vint, size: Vint
    try {
      id = readId(tail, pos)
      size = readSize(tail, pos + id.length)
    } catch { break }
    const dataAt = pos + id.length + size.length
    if (id.value === ID_CLUSTER) { pos = dataAt; continue } // descend: its children follow
    if (size.unknown || dataAt + size.value > tail.length) break // cut off at the end
    if (id.value === ID_TIMECODE) clusterTime = readUint(tail, dataAt, size.value)
    let block = id.value === ID_SIMPLE_BLOCK ? dataAt : -1
    if (id.value === ID_BLOCK_GROUP) {
      for (let c = dataAt; c < dataAt + size.value;) {
        const cid = readId(tail, c)
        const csize = readSize(tail, c + cid.length)
        if (cid.value === ID_BLOCK) block = c + cid.length + csize.length
        c += cid.length + csize.length + csize.value
      }
    }
    if (block >= 0 && clusterTime != null) {
      const number = readSize(tail, block) // the track number is a vint
      const rel = new DataView(tail.buffer, tail.byteOffset + block + number.length, 2).getInt16(0)
      if (track == null || number.value === track) last = Math.max(last ?? 0, clusterTime + rel)
    }
    pos = dataAt + size.value
    end = pos
  }
  return last == null ? undefined : { ms: last, end }
}

const ID_TRACKS = 0x1654AE6B
const ID_TRACK_ENTRY = 0xAE
const ID_TRACK_NUMBER = 0xD7
const ID_TRACK_TYPE = 0x83

/** The number of the first video track in a WebM head, or undefined. */
export function videoTrack (head: Uint8Array): number | undefined {
  const at = findChild(head, ID_TRACKS)
  if (at == null) return undefined
  for (let c = at.start; c < at.end;) {
    const id = readId(head, c)
    const size = readSize(head, c + id.length)
    const dataAt = c + id.length + size.length
    if (id.value === ID_TRACK_ENTRY) {
      let number: number | undefined
      let type: number | undefined
      for (let e = dataAt; e < dataAt + size.value;) {
        const eid = readId(head, e)
        const esize = readSize(head, e + eid.length)
        const v = e + eid.length + esize.length
        if (eid.value === ID_TRACK_NUMBER) number = readUint(head, v, esize.value)
        if (eid.value === ID_TRACK_TYPE) type = readUint(head, v, esize.value)
        e = v + esize.value
      }
      if (type === 1) return number
    }
    c = dataAt + size.value
  }
  return undefined
}

/** Where a top-level child of the Segment starts and ends, if it is complete in `head`. */
function findChild (head: Uint8Array, wanted: number): { start: number, end: number } | undefined {
  try {
    let pos = 0
    const ebml = readId(head, pos)
    if (ebml.value !== ID_EBML) return undefined
    const ebmlSize = readSize(head, pos + ebml.length)
    pos += ebml.length + ebmlSize.length + ebmlSize.value
    const segment = readId(head, pos)
    if (segment.value !== ID_SEGMENT) return undefined
    pos += segment.length + readSize(head, pos + segment.length).length
    while (pos < head.length) {
      const id = readId(head, pos)
      const size = readSize(head, pos + id.length)
      const dataAt = pos + id.length + size.length
      if (id.value === wanted) return size.unknown || dataAt + size.value > head.length ? undefined : { start: dataAt, end: dataAt + size.value }
      if (size.unknown || id.value === ID_CLUSTER) return undefined
      pos = dataAt + size.value
    }
  } catch {}
  return undefined
}
