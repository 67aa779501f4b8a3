/**
 * Finishing a WebM file werift wrote, in place: the Segment's and every Cluster's true size, and the picture size.
 * What to overwrite is decided by protocols/webm/finish.ts (pure, through the one EBML reader); this file only reads
 * the file through a window and writes the patches.
 */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { WebmFormatError } from '../protocols/webm/ebml.ts'
import { planFinish } from '../protocols/webm/finish.ts'
import type { ByteSource } from '../protocols/webm/finish.ts'
import type { FileHandle } from 'node:fs/promises'

/** What is not a WebM file this can finish (the same error the web app's WebM code throws). */
export { WebmFormatError as InvalidWebmError }

/** How much of the file one read brings in: walking a long recording's element headers then costs few reads. */
const WINDOW = 1 << 20

/** A file read through a window. */
class FileSource implements ByteSource {
  private buf = Buffer.alloc(0)
  private start = 0
  constructor (private readonly fh: FileHandle, readonly size: number) {}

  async read (pos: number, length: number): Promise<Uint8Array> {
    if (pos < this.start || pos + length > this.start + this.buf.length) {
      const buf = Buffer.alloc(Math.min(Math.max(length, WINDOW), Math.max(0, this.size - pos)))
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, pos)
      this.buf = buf.subarray(0, bytesRead)
      this.start = pos
    }
    return this.buf.subarray(pos - this.start, pos - this.start + length)
  }
}

/**
 * Give the Segment and every unknown-sized Cluster their true sizes, and video tracks their picture size if given.
 * Returns how many Clusters were fixed. Throws InvalidWebmError (nothing written) for what is not such a file.
 */
export async function finishWebm (path: string, size?: { width: number, height: number }): Promise<number> {
  // never through a symlink: the file is the one the recorder created
  const fh = await open(path, constants.O_RDWR | constants.O_NOFOLLOW)
  try {
    const plan = await planFinish(new FileSource(fh, (await fh.stat()).size), size)
    for (const p of plan.patches) { await fh.write(p.bytes, 0, p.bytes.length, p.at) }
    return plan.clusters
  } finally {
    await fh.close()
  }
}
