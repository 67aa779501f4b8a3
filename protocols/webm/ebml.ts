/**
 * The one EBML reader (and the few encoders) that everything walking WebM uses: element IDs, reading an element's
 * ID, size and header, reading its unsigned and float values, and writing elements. Pure, no I/O and no `node:`
 * imports: the web app (protocols/webm/duration.ts, stream.ts: the Duration and the end of a MediaRecorder file)
 * and the command-line recorder (protocols/webm/finish.ts: sizes werift leaves open) share it.
 * Spec: RFC 8794 (EBML), the Matroska element list.
 *
 * Every reader here either returns a value or throws WebmFormatError; none reads outside the bytes it is given.
 */

export const ID_EBML = 0x1A45DFA3
export const ID_SEGMENT = 0x18538067
export const ID_SEEK_HEAD = 0x114D9B74
export const ID_INFO = 0x1549A966
export const ID_TIMECODE_SCALE = 0x2AD7B1
export const ID_DURATION = 0x4489
export const ID_CLUSTER = 0x1F43B675
export const ID_TIMECODE = 0xE7
export const ID_SIMPLE_BLOCK = 0xA3
export const ID_BLOCK_GROUP = 0xA0
export const ID_BLOCK = 0xA1
export const ID_VOID = 0xEC
export const ID_TRACKS = 0x1654AE6B
export const ID_TRACK_ENTRY = 0xAE
export const ID_TRACK_NUMBER = 0xD7
export const ID_TRACK_TYPE = 0x83
export const ID_VIDEO = 0xE0
export const ID_PIXEL_WIDTH = 0xB0
export const ID_PIXEL_HEIGHT = 0xBA
export const ID_CUES = 0x1C53BB6B
export const ID_TAGS = 0x1254C367
export const ID_CHAPTERS = 0x1043A770
export const ID_ATTACHMENTS = 0x1941A469

/** TrackType of a video track (Matroska). */
export const TRACK_TYPE_VIDEO = 1
/** TrackType of an audio track. */
export const TRACK_TYPE_AUDIO = 2

/** Bytes that are not the WebM they should be: malformed, cut off where a whole element was needed, or unsupported. */
export class WebmFormatError extends Error {
  static readonly name = 'WebmFormatError'
  readonly name = 'WebmFormatError'
}

export interface Vint { value: number, length: number, unknown: boolean }

/** An element's header: its ID, where its data starts and how long it is. */
export interface ElementHeader {
  id: number
  /** Offset of the element's first byte (its ID). */
  start: number
  /** Offset of its data, just after the size. */
  dataStart: number
  /** Length of its data in bytes, or undefined for "unknown" (all value bits set: a live stream). */
  size: number | undefined
  /** How many bytes the size takes (an 8-byte size can be rewritten in place). */
  sizeLength: number
}

/** Length of a variable-length integer from its first byte (the position of its first set bit), or 0 if none. */
function vintLength (first: number, max: number): number {
  for (let length = 1; length <= max; length++) {
    if ((first & (0x80 >> (length - 1))) !== 0) { return length }
  }
  return 0
}

/** An element ID: the length marker stays part of the value, as IDs are written in the spec. */
export function readId (buf: Uint8Array, pos: number): Vint {
  const first = buf[pos]
  if (first === undefined) { throw new WebmFormatError('truncated element id') }
  const length = vintLength(first, 4)
  if (length === 0) { throw new WebmFormatError(`bad element id at ${pos}`) }
  if (pos + length > buf.length) { throw new WebmFormatError('truncated element id') }
  let value = 0
  for (let i = 0; i < length; i++) { value = value * 256 + buf[pos + i] }
  return { value, length, unknown: false }
}

/** An element size; all ones in the value bits means "unknown" (a live stream). */
export function readSize (buf: Uint8Array, pos: number): Vint {
  const first = buf[pos]
  if (first === undefined) { throw new WebmFormatError('truncated element size') }
  const length = vintLength(first, 8)
  if (length === 0) { throw new WebmFormatError(`bad element size at ${pos}`) }
  if (pos + length > buf.length) { throw new WebmFormatError('truncated element size') }
  let value = first & (0xFF >> length)
  let allOnes = value === (0xFF >> length)
  for (let i = 1; i < length; i++) {
    value = value * 256 + buf[pos + i]
    if (buf[pos + i] !== 0xFF) { allOnes = false }
  }
  return { value, length, unknown: allOnes }
}

/**
 * The header of the element at `pos`, or undefined when `buf` ends before the header does (a stream read in pieces
 * waits for more). Throws WebmFormatError when the bytes cannot start an element.
 */
export function peekHeader (buf: Uint8Array, pos: number): ElementHeader | undefined {
  if (pos >= buf.length) { return undefined }
  const idLength = vintLength(buf[pos], 4)
  if (idLength === 0) { throw new WebmFormatError(`bad element id at ${pos}`) }
  if (pos + idLength >= buf.length) { return undefined }
  const sizeLength = vintLength(buf[pos + idLength], 8)
  if (sizeLength === 0) { throw new WebmFormatError(`bad element size at ${pos + idLength}`) }
  if (pos + idLength + sizeLength > buf.length) { return undefined }
  const id = readId(buf, pos)
  const size = readSize(buf, pos + idLength)
  return { id: id.value, start: pos, dataStart: pos + idLength + sizeLength, size: size.unknown ? undefined : size.value, sizeLength }
}

/** The header of the element at `pos`; throws WebmFormatError if it is not all in `buf`. */
export function readHeader (buf: Uint8Array, pos: number): ElementHeader {
  const header = peekHeader(buf, pos)
  if (header == null) { throw new WebmFormatError(`truncated element header at ${pos}`) }
  return header
}

/** The end of an element of known size whose data must lie within `limit` (its parent's end, or the buffer's). */
export function elementEnd (header: ElementHeader, limit: number): number {
  if (header.size == null) { throw new WebmFormatError(`unknown-sized element ${header.id.toString(16)} at ${header.start}`) }
  const end = header.dataStart + header.size
  if (end > limit) { throw new WebmFormatError(`element ${header.id.toString(16)} at ${header.start} runs past its end`) }
  return end
}

/** An unsigned integer element's value (0 to 8 bytes, big-endian; exact up to 2^53). */
export function readUint (buf: Uint8Array, pos: number, length: number): number {
  if (length > 8) { throw new WebmFormatError(`an unsigned integer of ${length} bytes`) }
  if (pos < 0 || pos + length > buf.length) { throw new WebmFormatError('truncated integer') }
  let v = 0
  for (let i = 0; i < length; i++) { v = v * 256 + buf[pos + i] }
  return v
}

/** A float element's value (0, 4 or 8 bytes). */
export function readFloat (buf: Uint8Array, pos: number, length: number): number {
  if (length !== 0 && length !== 4 && length !== 8) { throw new WebmFormatError(`a float of ${length} bytes`) }
  if (pos < 0 || pos + length > buf.length) { throw new WebmFormatError('truncated float') }
  if (length === 0) { return 0 }
  const view = new DataView(buf.buffer, buf.byteOffset + pos, length)
  return length === 4 ? view.getFloat32(0) : view.getFloat64(0)
}

/**
 * The children of the master element whose data is `[start, end)` of `buf`, each of known size and within it. Throws
 * WebmFormatError on a child of unknown size or one that runs past the end.
 */
export function * children (buf: Uint8Array, start: number, end: number): Generator<ElementHeader & { end: number }> {
  if (end > buf.length) { throw new WebmFormatError('master element runs past the bytes given') }
  for (let pos = start; pos < end;) {
    const header = readHeader(buf.subarray(0, end), pos)
    const childEnd = elementEnd(header, end)
    yield { ...header, end: childEnd }
    pos = childEnd
  }
}

export function encodeId (id: number): Uint8Array {
  const bytes: number[] = []
  for (let v = id; v > 0; v = Math.floor(v / 256)) { bytes.unshift(v & 0xFF) }
  return Uint8Array.from(bytes)
}

/** A size as an 8-byte vint, so that it can be rewritten in place later without moving anything. */
export function encodeSize8 (size: number): Uint8Array {
  const out = new Uint8Array(8)
  let v = size
  for (let i = 7; i >= 1; i--) { out[i] = v & 0xFF; v = Math.floor(v / 256) }
  out[0] = 0x01
  return out
}

/** The 8-byte "unknown" size of a live stream's Segment and Clusters. */
export const UNKNOWN_SIZE = Uint8Array.from([0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])

/** A size in the fewest bytes that hold it (never the all-ones pattern, which means unknown). */
export function encodeSize (size: number): Uint8Array {
  for (let length = 1; length <= 8; length++) {
    if (size < 2 ** (7 * length) - 1) {
      const out = new Uint8Array(length)
      let v = size
      for (let i = length - 1; i >= 0; i--) { out[i] = v & 0xFF; v = Math.floor(v / 256) }
      out[0] |= 0x80 >> (length - 1)
      return out
    }
  }
  throw new WebmFormatError(`size ${size} does not fit an EBML size`)
}

/** An unsigned integer in the fewest bytes (at least one). */
export function encodeUint (value: number): Uint8Array {
  const bytes: number[] = []
  for (let v = value; v > 0 || bytes.length === 0; v = Math.floor(v / 256)) { bytes.unshift(v & 0xFF) }
  return Uint8Array.from(bytes)
}

export function encodeFloat64 (value: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setFloat64(0, value)
  return out
}

export function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** A whole element: ID, size (fewest bytes, or `size` to choose: 8 bytes, or unknown), data. */
export function encodeElement (id: number, data: Uint8Array | Uint8Array[], size: 'min' | 'eight' | 'unknown' = 'min'): Uint8Array {
  const body = data instanceof Uint8Array ? data : concat(data)
  const sizes = { min: encodeSize, eight: encodeSize8, unknown: () => UNKNOWN_SIZE }
  return concat([encodeId(id), sizes[size](body.length), body])
}
