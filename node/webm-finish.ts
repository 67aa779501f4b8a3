/**
 * The last touch on a WebM file written live. werift's writer starts every Cluster with an unknown size (it cannot
 * know it yet) and at the end patches Duration and the Segment's size, so the file ends up with unknown-sized
 * Clusters inside a Segment of known size: players cope, but ffmpeg warns ("Unknown-sized element ... inside
 * parent with finite size") and strict parsers may not. Here each Cluster's 8-byte unknown size is overwritten in
 * place with its real size: no byte moves, so Cues and the Segment size stay right.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { encodeSize8, ID_ATTACHMENTS, ID_CHAPTERS, ID_CLUSTER, ID_CUES, ID_EBML, ID_INFO, ID_PIXEL_HEIGHT, ID_PIXEL_WIDTH, ID_SEEK_HEAD, ID_SEGMENT, ID_TAGS, ID_TRACK_ENTRY, ID_TRACKS, ID_VIDEO, ID_VOID, readId, readSize, WebmFormatError } from '../protocols/webm/ebml.js'

/** Elements that live directly in a Segment: one of these ends an unknown-sized Cluster. */
const TOP_LEVEL = new Set([ID_CLUSTER, ID_CUES, ID_SEEK_HEAD, ID_INFO, ID_TRACKS, ID_TAGS, ID_CHAPTERS, ID_ATTACHMENTS])

/** What is not a WebM file this can finish (the same error the web app's WebM code throws). */
export { WebmFormatError as InvalidWebmError }

/** Reads a file through a window, so that walking a long recording's element headers costs few reads. */
class Reader {
  private buf = Buffer.alloc(0)
  private start = 0
  constructor (private readonly fh: FileHandle, readonly size: number) {}

  async bytes (pos: number, n: number): Promise<Buffer> {
    if (pos < this.start || pos + n > this.start + this.buf.length) {
      const want = Math.max(n, 1 << 20)
      const buf = Buffer.alloc(Math.min(want, Math.max(0, this.size - pos)))
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, pos)
      this.buf = buf.subarray(0, bytesRead)
      this.start = pos
    }
    return this.buf.subarray(pos - this.start, pos - this.start + n)
  }
}

interface Header { id: number, size: number | undefined, dataStart: number, sizeLength: number }

async function header (r: Reader, pos: number): Promise<Header | undefined> {
  if (pos >= r.size) return undefined
  const head = await r.bytes(pos, Math.min(12, r.size - pos))
  const id = readId(head, 0)
  const size = readSize(head, id.length)
  return { id: id.value, size: size.unknown ? undefined : size.value, dataStart: pos + id.length + size.length, sizeLength: size.length }
}

function vint8 (n: number): Buffer {
  return Buffer.from(encodeSize8(n))
}

/** Overwrite an unsigned integer element's value in place; false if the new value does not fit its length. */
async function setUint (fh: FileHandle, el: Header, value: number): Promise<boolean> {
  if (el.size == null || el.size < 1 || el.size > 6 || value >= 2 ** (8 * el.size)) return false
  const b = Buffer.alloc(el.size)
  b.writeUIntBE(value, 0, el.size)
  await fh.write(b, 0, el.size, el.dataStart)
  return true
}

/** Children of a master element of known size. */
async function * childrenOf (r: Reader, el: Header): AsyncGenerator<Header> {
  let pos = el.dataStart
  const end = el.dataStart + (el.size ?? 0)
  while (pos < end) {
    const c = await header(r, pos)
    if (c?.size == null) return
    yield c
    pos = c.dataStart + c.size
  }
}

/** Set the picture size of every video track, where the new numbers fit in place. */
async function setPictureSize (fh: FileHandle, r: Reader, tracks: Header, size: { width: number, height: number }): Promise<void> {
  for await (const entry of childrenOf(r, tracks)) {
    if (entry.id !== ID_TRACK_ENTRY) continue
    for await (const video of childrenOf(r, entry)) {
      if (video.id !== ID_VIDEO) continue
      for await (const px of childrenOf(r, video)) {
        if (px.id === ID_PIXEL_WIDTH) await setUint(fh, px, size.width)
        if (px.id === ID_PIXEL_HEIGHT) await setUint(fh, px, size.height)
      }
    }
  }
}

/**
 * Give the Segment and every unknown-sized Cluster their true sizes, and video tracks their picture size if given.
 * Returns how many Clusters were fixed.
 */
export async function finishWebm (path: string, size?: { width: number, height: number }): Promise<number> {
  const fh = await open(path, 'r+')
  try {
    const r = new Reader(fh, (await fh.stat()).size)
    const ebml = await header(r, 0)
    if (ebml?.id !== ID_EBML || ebml.size == null) throw new WebmFormatError('no EBML header')
    const segmentAt = ebml.dataStart + ebml.size
    const segment = await header(r, segmentAt)
    if (segment?.id !== ID_SEGMENT) throw new WebmFormatError('no Segment')
    // the writer reserved 8 bytes for the size: children start after them, behind a Void if the size was shortened
    const children = segmentAt + 4 + 8
    if (segment.dataStart !== children) {
      const pad = await header(r, segment.dataStart)
      if (pad?.id !== ID_VOID || pad.size == null || pad.dataStart + pad.size !== children) throw new WebmFormatError('unexpected Segment header')
    }
    await fh.write(vint8(r.size - children), 0, 8, segmentAt + 4)
    const end = r.size
    let fixed = 0
    let pos = children
    while (pos < end) {
      const el = await header(r, pos)
      if (el == null) break
      if (el.size != null) {
        if (el.id === ID_TRACKS && size != null) await setPictureSize(fh, r, el, size)
        pos = el.dataStart + el.size
        continue
      }
      if (el.id !== ID_CLUSTER) throw new WebmFormatError(`unknown-sized element ${el.id.toString(16)} at ${pos}`)
      // the Cluster runs until the next top-level element or the end of the file
      let child = el.dataStart
      while (child < end) {
        const c = await header(r, child)
        if (c == null || TOP_LEVEL.has(c.id) || c.size == null) break
        child = c.dataStart + c.size
      }
      child = Math.min(child, end)
      if (el.sizeLength !== 8) throw new WebmFormatError(`unknown size of ${el.sizeLength} bytes at ${pos}`)
      await fh.write(vint8(child - el.dataStart), 0, 8, el.dataStart - 8)
      fixed++
      pos = child
    }
    return fixed
  } finally {
    await fh.close()
  }
}
