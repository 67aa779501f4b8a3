/**
 * The pieces of EBML (the container format under WebM) that both recorders need: element IDs, reading an element's
 * ID and size, writing a size in place. Pure, no I/O: the web app (browser/src/webm.ts: the Duration of a
 * MediaRecorder file) and the command-line recorder (node/webm-finish.ts: sizes werift leaves open) share it.
 * Spec: RFC 8794 (EBML), the Matroska element list.
 */

export const ID_EBML = 0x1A45DFA3
export const ID_SEGMENT = 0x18538067
export const ID_SEEK_HEAD = 0x114D9B74
export const ID_INFO = 0x1549A966
export const ID_TIMECODE_SCALE = 0x2AD7B1
export const ID_DURATION = 0x4489
export const ID_CLUSTER = 0x1F43B675
export const ID_VOID = 0xEC
export const ID_TRACKS = 0x1654AE6B
export const ID_TRACK_ENTRY = 0xAE
export const ID_VIDEO = 0xE0
export const ID_PIXEL_WIDTH = 0xB0
export const ID_PIXEL_HEIGHT = 0xBA
export const ID_CUES = 0x1C53BB6B
export const ID_TAGS = 0x1254C367
export const ID_CHAPTERS = 0x1043A770
export const ID_ATTACHMENTS = 0x1941A469

export class WebmFormatError extends Error {
  static readonly name = 'WebmFormatError'
  readonly name = 'WebmFormatError'
}

export interface Vint { value: number, length: number, unknown: boolean }

/** An element ID: the length marker stays part of the value, as IDs are written in the spec. */
export function readId (buf: Uint8Array, pos: number): Vint {
  const first = buf[pos]
  if (first === undefined) throw new WebmFormatError('truncated element id')
  let length = 1
  while (length <= 4 && (first & (0x80 >> (length - 1))) === 0) length++
  if (length > 4) throw new WebmFormatError(`bad element id at ${pos}`)
  if (pos + length > buf.length) throw new WebmFormatError('truncated element id')
  let value = 0
  for (let i = 0; i < length; i++) value = value * 256 + buf[pos + i]
  return { value, length, unknown: false }
}

/** An element size; all ones in the value bits means "unknown" (a live stream). */
export function readSize (buf: Uint8Array, pos: number): Vint {
  const first = buf[pos]
  if (first === undefined) throw new WebmFormatError('truncated element size')
  let length = 1
  while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++
  if (length > 8) throw new WebmFormatError(`bad element size at ${pos}`)
  if (pos + length > buf.length) throw new WebmFormatError('truncated element size')
  let value = first & (0xFF >> length)
  let allOnes = value === (0xFF >> length)
  for (let i = 1; i < length; i++) {
    value = value * 256 + buf[pos + i]
    if (buf[pos + i] !== 0xFF) allOnes = false
  }
  return { value, length, unknown: allOnes }
}

export function encodeId (id: number): Uint8Array {
  const bytes: number[] = []
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xFF)
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
