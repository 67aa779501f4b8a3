/**
 * Where a recording lives while it is made: the origin-private file system (OPFS), one folder per recording
 * (`recordings/<id>/`), one file per MediaRecorder chunk (`000001.webm`, …) and a small `meta.json`.
 *
 * Why one file per chunk: data written with `createWritable()` reaches the file only on `close()`, and reopening
 * a file with `keepExistingData` copies the whole file each time. A chunk file is written once and closed, so
 * everything up to the last closed chunk survives a crash of the tab, and nothing is ever copied. The final file
 * is a Blob made of the chunk Files: the browser reads them from disk when it is saved, never all at once.
 */
import { lastClusterOffset, setWebmDuration } from '../../../protocols/webm/duration.ts'
import { lastBlock } from '../../../protocols/webm/stream.ts'

const ROOT = 'recordings'
const META = 'meta.json'
const CHUNK = /^\d{6}\.webm$/
/** How far back to look for the start of the last Cluster when measuring a recording, in bytes. */
const MAX_TAIL_BYTES = 64 * 1024 * 1024
/** How much of the start of a recording is read to rewrite its Segment Info, at least, in bytes. */
const HEAD_BYTES = 64 * 1024

export type RecordingStatus = 'recording' | 'stopped' | 'saved'

export interface RecordingMeta {
  version: 1
  /** Folder name: start time and a random suffix. */
  id: string
  /** The room's short name (never its key). */
  room: string
  /** Wall clock when MediaRecorder started, ms since the epoch. */
  startedAt: number
  /** Wall clock when the last chunk was closed on disk. */
  lastFlushAt: number
  chunks: number
  bytes: number
  mimeType: string
  /** 'recording' while it is made (or when the tab died), 'stopped' when finished, 'saved' once downloaded. */
  status: RecordingStatus
  /** Length in ms: the stop in media time (the recorder cut the file there); a recording that never stopped has lastFlushAt - startedAt until its last block is read. */
  durationMs?: number
}

/** The page may not keep files (no OPFS, or a private window that refuses it). */
export class StorageUnavailableError extends Error {
  static readonly name = 'StorageUnavailableError'
  readonly name = 'StorageUnavailableError'
}

/** The page's storage quota is used up. */
export class StorageFullError extends Error {
  static readonly name = 'StorageFullError'
  readonly name = 'StorageFullError'
}

function lockName (id: string): string {
  return `freeflow:recording:${id}`
}

async function writeFile (dir: FileSystemDirectoryHandle, name: string, data: Blob | string): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true })
  const w = await handle.createWritable()
  try {
    await w.write(data)
    await w.close()
  } catch (err: any) {
    await w.abort().catch(() => {})
    if (err?.name === 'QuotaExceededError') { throw new StorageFullError('storage is full') }
    throw err
  }
}

/** Local time as it goes into a file name: 2026-11-25T02-10-00. */
export function fileStamp (ms: number): string {
  const d = new Date(ms)
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`
}

export function fileName (meta: Pick<RecordingMeta, 'room' | 'startedAt'>): string {
  return `freeflow-${meta.room}-${fileStamp(meta.startedAt)}.webm`
}

/** The length to write into the file: measured at stop, or up to the last chunk on disk. */
export function durationOf (meta: RecordingMeta): number {
  return meta.durationMs ?? Math.max(0, meta.lastFlushAt - meta.startedAt)
}

/** One recording being written: chunks are appended in order, each closed on disk before the next. */
export class RecordingWriter {
  private queue: Promise<void> = Promise.resolve()
  private failed: Error | undefined
  private releaseLock: (() => void) | undefined

  constructor (private readonly dir: FileSystemDirectoryHandle, readonly meta: RecordingMeta) {}

  /** Hold a Web Lock for as long as this tab writes, so another tab does not offer it as unfinished. */
  async lock (): Promise<void> {
    if (navigator.locks == null) { return }
    await new Promise<void>(resolve => {
      void navigator.locks.request(lockName(this.meta.id), async () => {
        resolve()
        await new Promise<void>(resolve => { this.releaseLock = resolve })
      })
    })
  }

  /** Queue a chunk; the returned promise settles when it (and the metadata after it) is on disk. */
  async append (chunk: Blob): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.failed != null) { throw this.failed }
      if (chunk.size === 0) { return }
      const n = this.meta.chunks + 1
      try {
        await writeFile(this.dir, `${String(n).padStart(6, '0')}.webm`, chunk)
        this.meta.chunks = n
        this.meta.bytes += chunk.size
        this.meta.lastFlushAt = Date.now()
        await writeFile(this.dir, META, JSON.stringify(this.meta))
      } catch (err: any) {
        this.failed = err
        throw err
      }
    }
    const next = this.queue.then(run)
    this.queue = next.catch(() => {})
    await next
  }

  /** Wait for queued chunks, then mark the recording finished with its measured length. */
  async finish (durationMs: number): Promise<RecordingMeta> {
    await this.queue
    this.meta.status = 'stopped'
    this.meta.durationMs = durationMs
    // if the disk was full, the length is what reached it
    if (this.failed != null) { this.meta.durationMs = Math.min(durationMs, this.meta.lastFlushAt - this.meta.startedAt) }
    await writeFile(this.dir, META, JSON.stringify(this.meta)).catch(() => {})
    this.releaseLock?.()
    return this.meta
  }
}

/**
 * For a recording that never stopped (the tab died): the time of its last whole block, in ms, and how many bytes at
 * the end belong to an element that was cut off mid-write. Read from the last chunks back to the start of the last
 * Cluster (MediaRecorder starts one at least every few seconds), never the whole file. Any track counts: on a busy
 * machine video frames are seconds apart, while audio runs on to the end.
 */
async function mediaEnd (files: File[]): Promise<{ ms: number, cut: number } | undefined> {
  let tail = new Uint8Array(0)
  let searchEnd = 0 // [0, searchEnd) of tail may still hold a Cluster header not looked at
  let next = files.length
  while (true) {
    const at = lastClusterOffset(tail.subarray(0, searchEnd))
    if (at >= 0) {
      const found = lastBlock(tail.subarray(at))
      if (found != null) { return { ms: found.ms, cut: tail.length - at - found.end } }
      searchEnd = at
      continue
    }
    if (next === 0 || tail.length > MAX_TAIL_BYTES) { return undefined }
    const prev = new Uint8Array(await files[--next].arrayBuffer())
    const grown = new Uint8Array(prev.length + tail.length)
    grown.set(prev, 0)
    grown.set(tail, prev.length)
    tail = grown
    searchEnd = Math.min(tail.length, prev.length + searchEnd + 3) // a header may straddle two chunks
  }
}

/** The files without their last `cut` bytes, as disk-backed slices. */
function trim (files: Blob[], cut: number): Blob[] {
  const out = [...files]
  while (cut > 0 && out.length > 0) {
    const last = out.pop()!
    if (last.size > cut) { out.push(last.slice(0, last.size - cut)) }
    cut -= Math.min(cut, last.size)
  }
  return out
}

export class RecordingStore {
  private constructor (private readonly root: FileSystemDirectoryHandle) {}

  /** Open the page's recordings folder; throws StorageUnavailableError where the browser has no OPFS for us. */
  static async open (): Promise<RecordingStore> {
    if (navigator.storage?.getDirectory == null || typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype)) {
      throw new StorageUnavailableError('no origin-private file system with createWritable()')
    }
    try {
      const opfs = await navigator.storage.getDirectory()
      return new RecordingStore(await opfs.getDirectoryHandle(ROOT, { create: true }))
    } catch (err: any) {
      throw new StorageUnavailableError(err?.message ?? String(err))
    }
  }

  /** Bytes the page may still write, when the browser says. */
  async free (): Promise<number | undefined> {
    const e = await navigator.storage.estimate?.().catch(() => undefined)
    return e?.quota != null ? e.quota - (e.usage ?? 0) : undefined
  }

  async create (room: string, mimeType: string, startedAt: number): Promise<RecordingWriter> {
    const id = `${fileStamp(startedAt)}-${Math.random().toString(36).slice(2, 8)}`
    const dir = await this.root.getDirectoryHandle(id, { create: true })
    const meta: RecordingMeta = { version: 1, id, room, startedAt, lastFlushAt: startedAt, chunks: 0, bytes: 0, mimeType, status: 'recording' }
    await writeFile(dir, META, JSON.stringify(meta))
    const writer = new RecordingWriter(dir, meta)
    await writer.lock()
    return writer
  }

  /** Every recording kept in this browser, oldest first, with whether a live tab is still writing it. */
  async list (): Promise<Array<RecordingMeta & { live: boolean }>> {
    const held = new Set((await navigator.locks?.query().catch(() => undefined))?.held?.map(l => l.name) ?? [])
    const out: Array<RecordingMeta & { live: boolean }> = []
    for await (const [name, handle] of (this.root as any).entries() as AsyncIterable<[string, FileSystemHandle]>) {
      if (handle.kind !== 'directory') { continue }
      try {
        const file = await (await (handle as FileSystemDirectoryHandle).getFileHandle(META)).getFile()
        const meta = JSON.parse(await file.text()) as RecordingMeta
        if (meta.version !== 1 || meta.id !== name) { continue }
        out.push({ ...meta, live: held.has(lockName(meta.id)) })
      } catch {
        // a folder without readable metadata was never started; it holds nothing to recover
        await this.root.removeEntry(name, { recursive: true }).catch(() => {})
      }
    }
    return out.sort((a, b) => a.startedAt - b.startedAt)
  }

  /**
   * The recording as one WebM Blob: its first chunks with the Duration set (a few hundred KB, held in memory),
   * then the other chunk Files as they are on disk.
   */
  async assemble (meta: RecordingMeta): Promise<Blob> {
    const dir = await this.root.getDirectoryHandle(meta.id)
    const names: string[] = []
    for await (const name of (dir as any).keys() as AsyncIterable<string>) { if (CHUNK.test(name)) { names.push(name) } }
    names.sort()
    const files: File[] = []
    for (const name of names) {
      const file = await (await dir.getFileHandle(name)).getFile()
      if (file.size > 0) { files.push(file) } // a chunk whose write never closed is empty
    }
    if (files.length === 0) { return new Blob([], { type: 'video/webm' }) }
    // a stopped recording has its length from the recorder (the stop, in media time; it was cut there). One that
    // never stopped is as long as its last whole block says (or up to its last chunk, if that cannot be read), and a
    // last element cut off by the crash is dropped, so that the file ends cleanly
    const end = meta.status === 'recording' || meta.durationMs == null ? await mediaEnd(files).catch(() => undefined) : undefined
    if (end != null) { meta.durationMs = end.ms }
    const parts: Blob[] = end != null && end.cut > 0 && end.cut < files.reduce((n, f) => n + f.size, 0) - files[0].size ? trim(files, end.cut) : files
    // the head to patch: whole leading chunks up to HEAD_BYTES (the first chunk alone can end inside the Info)
    let used = 0
    const headParts: Uint8Array[] = []
    while (used < parts.length && (used === 0 || headParts.reduce((n, p) => n + p.length, 0) < HEAD_BYTES)) {
      headParts.push(new Uint8Array(await parts[used].arrayBuffer()))
      used++
    }
    const head = new Uint8Array(headParts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of headParts) { head.set(p, at); at += p.length }
    let first: Uint8Array<ArrayBuffer> = head
    try {
      first = setWebmDuration(head, durationOf(meta)) as Uint8Array<ArrayBuffer>
    } catch {
      // leave the file as MediaRecorder wrote it: it plays, only without a length
    }
    return new Blob([first, ...parts.slice(used)], { type: 'video/webm' })
  }

  async mark (meta: RecordingMeta, status: RecordingStatus): Promise<void> {
    meta.status = status
    const dir = await this.root.getDirectoryHandle(meta.id)
    await writeFile(dir, META, JSON.stringify({ ...meta, live: undefined }))
  }

  async discard (id: string): Promise<void> {
    await this.root.removeEntry(id, { recursive: true })
  }
}
