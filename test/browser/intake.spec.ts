/**
 * The browser recorder's chunk intake (browser/src/recording/intake.ts): what reaches the disk, and the Duration it
 * reports, when Stop is pressed while MediaRecorder's chunks are still queued. Streams are built in memory as
 * MediaRecorder lays them out; the disk is a list of the chunks written.
 */
import { expect } from 'aegir/chai'
import { ChunkIntake } from '../../browser/src/recording/intake.ts'
import { concat } from '../../protocols/webm/ebml.ts'
import { WebmScanner } from '../../protocols/webm/stream.ts'
import { call, stream } from '../helpers/webm.ts'
import type { RecordingWriter } from '../../browser/src/recording/store.ts'
import type { WebmMark } from '../../protocols/webm/stream.ts'

/** A writer that keeps what it is given, in order. */
function disk (): { writer: RecordingWriter, bytes(): Promise<Uint8Array> } {
  const chunks: Blob[] = []
  const writer = { append: async (chunk: Blob) => { chunks.push(chunk) } } as unknown as RecordingWriter
  return { writer, bytes: async () => concat(await Promise.all(chunks.map(async c => new Uint8Array(await c.arrayBuffer())))) }
}

/** The latest block's media time in a whole stream, in ms. */
function lastMs (bytes: Uint8Array): number {
  const marks: WebmMark[] = []
  new WebmScanner().push(bytes, marks)
  return marks.filter(m => m.kind === 'block').reduce((n, m) => Math.max(n, m.ms), -Infinity)
}

/** `bytes` as chunks ending at the first mark at or after each of `atMs`, and the rest. */
function chunksAt (bytes: Uint8Array, marks: WebmMark[], atMs: number[]): Blob[] {
  const cuts = atMs.map(ms => marks.find(m => m.kind === 'cluster' && m.ms >= ms)?.offset ?? bytes.length)
  const out: Blob[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from) { out.push(new Blob([bytes.subarray(from, cut) as Uint8Array<ArrayBuffer>])) }
    from = Math.max(from, cut)
  }
  return out
}

/**
 * Six seconds of a call recorded, the page's main thread handing the intake its chunks up to `queuedMs` before it
 * got to the Stop click at `stopMs`; the rest arrives after the click. What reached the disk, and the Duration.
 */
async function stopAt (stopMs: number, queuedMs: number): Promise<{ duration: number, writtenMs: number }> {
  const { bytes, marks } = stream(call(6_000))
  const d = disk()
  const intake = new ChunkIntake(err => { throw err })
  intake.setWriter(d.writer)
  const [before, after] = chunksAt(bytes, marks, [queuedMs])
  intake.add(before)
  intake.hold()
  intake.add(after)
  const duration = await intake.finish(stopMs)
  return { duration, writtenMs: lastMs(await d.bytes()) }
}

describe('the browser recorder\'s chunk intake', () => {
  it('cuts what came after Stop, and reports the stop as the Duration', async () => {
    const { duration, writtenMs } = await stopAt(4_000, 3_000)
    expect(duration).to.be.within(4_000, 4_500)
    expect(writtenMs).to.be.at.most(duration)
    expect(writtenMs).to.be.above(3_500)
  })

  it('a Duration never ends before media already on disk: chunks queued at Stop reach past it (a busy page)', async () => {
    const { duration, writtenMs } = await stopAt(4_000, 5_000)
    expect(writtenMs).to.be.above(4_500)
    expect(duration, 'the Duration covers every block written').to.be.at.least(writtenMs)
  })
})
