/**
 * Recording this call in this browser, as the page knows it: off, starting, on (for how long), stopping, and what
 * came of the last recording (a file to download, or what went wrong). The recorder itself is
 * `recording/recorder.ts`; this part tells the room first (consent), then starts it, and keeps what it made.
 */
import { TypedEventEmitter } from 'main-event'
import { RecordingStore, SessionRecorder, StorageUnavailableError, RecordingUnsupportedError, durationOf, recordingError, supportedMimeType } from './recording/recorder.ts'
import type { RecordingMeta, TileView } from './recording/recorder.ts'
import type { Room } from '../../protocols/room/index.ts'

export type RecordPhase = 'off' | 'starting' | 'on' | 'stopping'

export interface RecordingResult {
  meta: RecordingMeta
  blob: Blob
}

/** The card the page shows after a recording (or a failure to record). */
export interface RecordingNotice {
  text: string
  error: boolean
  /** The finished file, when there is one to download. */
  result?: RecordingResult
}

/** A recording this browser kept but that was never downloaded. */
export interface KeptRecording extends RecordingResult {
  /** "Room 1a2b3c4d, 3 Jan 2025, 14:02 · 0:42 · 3.1 MB · unfinished" */
  text: string
}

export interface RecordingEvents {
  /** The phase, the elapsed time (every second while recording) or the notice changed. */
  change: CustomEvent<void>
}

/** What the recording shows and hears, asked on every frame. */
export interface RecordingSources {
  tiles(): TileView[]
  audio(): MediaStreamTrack[]
}

/** m:ss, or h:mm:ss from an hour. */
export function clock (ms: number): string {
  const s = Math.floor(ms / 1000)
  const hh = Math.floor(s / 3600)
  const mm = String(Math.floor(s / 60) % 60)
  const ss = String(s % 60).padStart(2, '0')
  return hh > 0 ? `${hh}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

function describe (meta: RecordingMeta, size: number): string {
  const mb = size / 1024 / 1024
  return `${clock(durationOf(meta))} · ${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`
}

export class RecordingControl extends TypedEventEmitter<RecordingEvents> {
  phase: RecordPhase = 'off'
  notice: RecordingNotice | undefined
  /** The last finished recording, until it is discarded. */
  private last: RecordingResult | undefined
  private recorder: SessionRecorder | undefined
  private ticker?: ReturnType<typeof setInterval>

  /**
   * @param say - a line for the chat ("You started recording.")
   */
  constructor (private readonly say: (text: string) => void) {
    super()
  }

  /** The recorder running now, for its drawing statistics. */
  get running (): SessionRecorder | undefined { return this.recorder }
  /** Milliseconds recorded so far. */
  get elapsed (): number { return this.recorder?.elapsed ?? 0 }
  /** A finished recording is kept in the browser (not discarded). */
  get pending (): boolean { return this.last != null }

  async toggle (room: Room, sources: RecordingSources): Promise<void> {
    if (this.phase === 'on') { await this.stop(room) } else if (this.phase === 'off') { await this.start(room, sources) }
  }

  async start (room: Room, sources: RecordingSources): Promise<void> {
    if (this.phase !== 'off') { return }
    // the cheap checks first, so nobody is told about a recording that cannot happen
    if (supportedMimeType() == null) { this.show(recordingError(new RecordingUnsupportedError('')), true); return }
    if (navigator.storage?.getDirectory == null) { this.show(recordingError(new StorageUnavailableError('')), true); return }
    this.phase = 'starting'
    this.notice = undefined
    this.changed()
    const recorder = new SessionRecorder({
      room: room.shortName,
      tiles: sources.tiles,
      audio: sources.audio,
      onFailure: (err) => { void this.ended(room, recorder, err) }
    })
    try {
      // consent: everyone is told before the first frame is recorded
      await room.setRecording(true)
      this.changed()
      await recorder.start()
      this.recorder = recorder
      this.phase = 'on'
      this.ticker = setInterval(() => { this.changed() }, 1_000)
      this.say('You started recording. Everyone in the room sees it.')
    } catch (err: any) {
      this.phase = 'off'
      await room.setRecording(false).catch(() => {})
      this.show(recordingError(err), true)
    }
    this.changed()
  }

  async stop (room: Room): Promise<void> {
    const recorder = this.recorder
    if (recorder == null || this.phase !== 'on') { return }
    await this.ended(room, recorder)
  }

  /** The person downloaded the file: the browser may forget it on the next visit. */
  async markSaved (result: RecordingResult): Promise<void> {
    const store = await RecordingStore.open()
    await store.mark(result.meta, 'saved')
  }

  /** Remove a finished recording from the browser. */
  async discard (result: RecordingResult): Promise<void> {
    if (this.last === result) { this.last = undefined }
    if (this.notice?.result === result) { this.dismiss() }
    const store = await RecordingStore.open()
    await store.discard(result.meta.id)
  }

  dismiss (): void {
    this.notice = undefined
    this.changed()
  }

  /**
   * Recordings this browser kept but that were never downloaded (the tab closed or crashed while recording, or
   * nobody clicked Download). Recordings downloaded on an earlier visit, and empty ones, are removed.
   */
  async kept (): Promise<KeptRecording[]> {
    let store: RecordingStore
    try { store = await RecordingStore.open() } catch { return [] }
    const kept: KeptRecording[] = []
    for (const meta of await store.list()) {
      if (meta.live) { continue } // another tab is recording it right now
      if (meta.status === 'saved') { await store.discard(meta.id).catch(() => {}); continue }
      const blob = await store.assemble(meta)
      if (blob.size === 0) { await store.discard(meta.id).catch(() => {}); continue }
      const started = new Date(meta.startedAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
      kept.push({ meta, blob, text: `Room ${meta.room}, ${started} · ${describe(meta, blob.size)}${meta.status === 'recording' ? ' · unfinished' : ''}` })
    }
    return kept
  }

  /** Stopped by the person, or by a failure: stop at once, tell the room, then finish the file on disk. */
  private async ended (room: Room, recorder: SessionRecorder, failure?: Error): Promise<void> {
    if (this.recorder !== recorder) { return }
    this.phase = 'stopping'
    clearInterval(this.ticker)
    this.changed()
    // the recording ends now, not when the room has been told (a publish can take a while on a busy machine)
    const stopped = recorder.stop()
    await room.setRecording(false).catch(() => {})
    this.changed()
    try {
      const result = await stopped
      const line = describe(result.meta, result.blob.size)
      this.show(failure != null ? `${recordingError(failure)} (${line})` : `Recording saved in this browser · ${line}`, failure != null, result)
      this.say('You stopped recording.')
    } catch (err: any) {
      this.show(recordingError(err), true)
    } finally {
      this.recorder = undefined
      this.phase = 'off'
      this.changed()
    }
  }

  private show (text: string, error: boolean, result?: RecordingResult): void {
    const file = result != null && result.blob.size > 0 ? result : undefined
    if (file != null) { this.last = file }
    this.notice = { text, error, result: file }
    this.changed()
  }

  private changed (): void {
    this.safeDispatchEvent('change')
  }
}
