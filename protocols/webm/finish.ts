/**
 * The last touch on a WebM file written live by werift (the command-line recorder). werift's writer starts every
 * Cluster with an unknown size (it cannot know it yet) and at the end patches Duration and the Segment's size, so the
 * file ends up with unknown-sized Clusters inside a Segment of known size: players cope, but ffmpeg warns
 * ("Unknown-sized element ... inside parent with finite size") and strict parsers may not. `planFinish` says which
 * bytes to overwrite, in place, to give each Cluster its real size and the Segment its true size: no byte moves, so
 * Cues stay right. Pure: it reads through a ByteSource and ebml.ts; node/webm-finish.ts applies the patches to a file.
 */
import { encodeSize8, ID_ATTACHMENTS, ID_CHAPTERS, ID_CLUSTER, ID_CUES, ID_EBML, ID_INFO, ID_PIXEL_HEIGHT, ID_PIXEL_WIDTH, ID_SEEK_HEAD, ID_SEGMENT, ID_TAGS, ID_TRACK_ENTRY, ID_TRACKS, ID_VIDEO, ID_VOID, readHeader, WebmFormatError } from './ebml.ts'
import type { ElementHeader } from './ebml.ts'

/** Random access to the bytes of a file. */
export interface ByteSource {
  readonly size: number
  /** Up to `length` bytes from `pos` (fewer at the end). */
  read(pos: number, length: number): Promise<Uint8Array>
}

/** Overwrite `bytes.length` bytes at `at`. */
export interface Patch { at: number, bytes: Uint8Array }

export interface FinishPlan {
  patches: Patch[]
  /** How many Clusters get their size. */
  clusters: number
}

/** Elements that live directly in a Segment: one of these ends an unknown-sized Cluster. */
const TOP_LEVEL = new Set([ID_CLUSTER, ID_CUES, ID_SEEK_HEAD, ID_INFO, ID_TRACKS, ID_TAGS, ID_CHAPTERS, ID_ATTACHMENTS])
/** The longest element header: a 4-byte ID and an 8-byte size. */
const MAX_HEADER = 12

export function memorySource (bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (pos, length) => bytes.subarray(pos, pos + length) }
}

/** The header at `pos`, with offsets in the file; undefined at the end. Throws WebmFormatError if cut off or bad. */
async function header (src: ByteSource, pos: number): Promise<ElementHeader | undefined> {
  if (pos >= src.size) { return undefined }
  const h = readHeader(await src.read(pos, Math.min(MAX_HEADER, src.size - pos)), 0)
  return { ...h, start: pos, dataStart: pos + h.dataStart }
}

/** Children of a master element of known size, as far as they are of known size and end inside it. */
async function * childrenOf (src: ByteSource, el: ElementHeader): AsyncGenerator<ElementHeader> {
  const end = el.dataStart + (el.size ?? 0)
  for (let pos = el.dataStart; pos < end;) {
    const c = await header(src, pos)
    // a child that claims to run past its parent (and so maybe past the file) is not read: a patch in it could land
    // outside the file (found by `npm run fuzz`, target webm-finish)
    if (c?.size == null || c.dataStart + c.size > end) { return }
    yield c
    pos = c.dataStart + c.size
  }
}

/** The patch that sets an unsigned integer element to `value`, if it fits the element's length. */
function setUint (el: ElementHeader, value: number): Patch | undefined {
  if (el.size == null || el.size < 1 || el.size > 6 || value >= 2 ** (8 * el.size)) { return undefined }
  const bytes = new Uint8Array(el.size)
  let v = value
  for (let i = el.size - 1; i >= 0; i--) { bytes[i] = v & 0xFF; v = Math.floor(v / 256) }
  return { at: el.dataStart, bytes }
}

/** Patches for the picture size of every video track, where the new numbers fit in place. */
async function pictureSize (src: ByteSource, tracks: ElementHeader, size: { width: number, height: number }): Promise<Patch[]> {
  if (tracks.dataStart + (tracks.size ?? 0) > src.size) { return [] } // cut off: leave it
  const patches: Patch[] = []
  for await (const entry of childrenOf(src, tracks)) {
    if (entry.id !== ID_TRACK_ENTRY) { continue }
    for await (const video of childrenOf(src, entry)) {
      if (video.id !== ID_VIDEO) { continue }
      for await (const px of childrenOf(src, video)) {
        const value = px.id === ID_PIXEL_WIDTH ? size.width : size.height
        const patch = px.id === ID_PIXEL_WIDTH || px.id === ID_PIXEL_HEIGHT ? setUint(px, value) : undefined
        if (patch != null) { patches.push(patch) }
      }
    }
  }
  return patches
}

/** Where a Cluster of unknown size ends: at the next top-level element, or at the end of the file. */
async function unknownClusterEnd (src: ByteSource, cluster: ElementHeader): Promise<number> {
  let child = cluster.dataStart
  while (child < src.size) {
    const c = await header(src, child)
    if (c == null || TOP_LEVEL.has(c.id) || c.size == null) { break }
    child = c.dataStart + c.size
  }
  return Math.min(child, src.size)
}

/**
 * What to overwrite so that the Segment and every unknown-sized Cluster have their true sizes, and video tracks
 * their picture size if given. Throws WebmFormatError for what is not a file werift wrote.
 */
export async function planFinish (src: ByteSource, picture?: { width: number, height: number }): Promise<FinishPlan> {
  const ebml = await header(src, 0)
  if (ebml?.id !== ID_EBML || ebml.size == null) { throw new WebmFormatError('no EBML header') }
  const segmentAt = ebml.dataStart + ebml.size
  const segment = await header(src, segmentAt)
  if (segment?.id !== ID_SEGMENT) { throw new WebmFormatError('no Segment') }
  // the writer reserved 8 bytes for the size: children start after them, behind a Void if the size was shortened
  const body = segmentAt + 4 + 8
  if (body > src.size) { throw new WebmFormatError('the file ends in its Segment header') }
  if (segment.dataStart !== body) {
    const pad = await header(src, segment.dataStart)
    if (pad?.id !== ID_VOID || pad.size == null || pad.dataStart + pad.size !== body) { throw new WebmFormatError('unexpected Segment header') }
  }
  const patches: Patch[] = [{ at: segmentAt + 4, bytes: encodeSize8(src.size - body) }]
  const end = src.size
  let clusters = 0
  for (let pos = body; pos < end;) {
    const el = await header(src, pos)
    if (el == null) { break }
    if (el.size != null) {
      if (el.id === ID_TRACKS && picture != null) { patches.push(...await pictureSize(src, el, picture)) }
      pos = el.dataStart + el.size
      continue
    }
    if (el.id !== ID_CLUSTER) { throw new WebmFormatError(`unknown-sized element ${el.id.toString(16)} at ${pos}`) }
    if (el.sizeLength !== 8) { throw new WebmFormatError(`unknown size of ${el.sizeLength} bytes at ${pos}`) }
    const clusterEnd = await unknownClusterEnd(src, el)
    patches.push({ at: el.dataStart - 8, bytes: encodeSize8(clusterEnd - el.dataStart) })
    clusters++
    pos = clusterEnd
  }
  return { patches, clusters }
}
