/**
 * Recording a session in the browser: the tile grid drawn on a canvas (compositor.ts), everyone's audio mixed with
 * WebAudio, both encoded by MediaRecorder as WebM, and each chunk of a few seconds written to the origin-private
 * file system (store.ts) as it comes, through intake.ts, which reads the chunks' media times.
 *
 * The UI hands in two functions, `tiles()` and `audio()`, that say what the call looks and sounds like right
 * now; the recorder asks them on every frame, so people who join, leave, mute or share a screen appear in the
 * recording as they do on screen.
 *
 * The file covers the time between the person's two clicks: MediaRecorder starts as soon as start() is called
 * (storage is opened while the room is told, and the folder is created while it records), and at the stop the
 * recorder draws the picture of that moment and keeps asking for data until the encoded media has reached it,
 * then stops and cuts what came after (see intake.ts for why MediaRecorder.stop() alone loses the end).
 */
import { sleep } from '../../../protocols/util/backoff.ts'
import { Compositor } from './compositor.ts'
import { InsufficientSpaceError, RecordingUnsupportedError } from './errors.ts'
import { ChunkIntake } from './intake.ts'
import { RecordingStore, StorageFullError, StorageUnavailableError } from './store.ts'
import type { TileView } from './compositor.ts'
import type { RecordingMeta, RecordingWriter } from './store.ts'

export { RecordingStore, StorageFullError, StorageUnavailableError, fileName, durationOf } from './store.ts'
export { RecordingUnsupportedError } from './errors.ts'
export type { RecordingMeta } from './store.ts'
export type { TileView } from './compositor.ts'

export interface SessionRecorderInit {
  /** The room's short name, for the file name and the recording's header. */
  room: string
  tiles(): TileView[]
  /** Audio tracks to mix right now: remote participants' and the recorder's own microphone (unless muted). */
  audio(): MediaStreamTrack[]
  /**
   * MediaRecorder timeslice: the most a crashed tab can lose, in ms.
   *
   * @default 2_000
   */
  timeslice?: number
  /** @default 1280 */ width?: number
  /** @default 720 */ height?: number
  /** @default 15 */ frameRate?: number
  /** @default 2_500_000 */ videoBitsPerSecond?: number
  /**
   * After Stop, how long to wait at most for the encoder to hand over the media up to the stop, in ms; past it the
   * recording ends where the media got to.
   *
   * @default 10_000
   */
  drainTimeout?: number
  /** Called once if the recording stops by itself (storage full, a write failed, the encoder failed). */
  onFailure?(err: Error, meta: RecordingMeta): void
}

/** Less space left than a short recording needs. */
const MIN_FREE_BYTES = 64 * 1024 * 1024
/** How often the audio sources are matched against who is in the call, in frames. */
const AUDIO_SYNC_FRAMES = 6
/** While stopping, how often MediaRecorder is asked for what it has, in ms. */
const DRAIN_POLL_MS = 200

const MIME_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm']

export function supportedMimeType (): string | undefined {
  if (typeof MediaRecorder === 'undefined') { return undefined }
  return MIME_TYPES.find(t => MediaRecorder.isTypeSupported(t))
}

/** One sentence for a person, for every way starting or keeping a recording can fail. */
export function recordingError (err: any): string {
  if (err instanceof RecordingUnsupportedError) { return 'This browser cannot record a call (it has no WebM MediaRecorder); try a recent Chrome, Edge or Firefox.' }
  if (err instanceof StorageUnavailableError) { return 'This browser does not let the page keep a recording on disk (a private window?), so recording is not possible here.' }
  if (err instanceof StorageFullError) { return 'The browser\'s storage for this page is full, so the recording stopped; everything recorded until then is kept and ready to download.' }
  if (err instanceof InsufficientSpaceError) { return String(err.message) }
  return `The recording stopped because of an error (${String(err?.message ?? err)}); everything recorded until then is kept and ready to download.`
}

/** When the person did what is being handled right now (a click), if this runs in the handler of one. */
function userEventTime (): number | undefined {
  const event: Event | undefined = (globalThis as any).event
  return event?.isTrusted === true && event.timeStamp > 0 ? event.timeStamp : undefined
}

/** The page's recordings folder, with enough space left for a recording. */
async function openStore (): Promise<RecordingStore> {
  const store = await RecordingStore.open()
  const free = await store.free()
  if (free != null && free < MIN_FREE_BYTES) {
    throw new InsufficientSpaceError(`Only ${Math.round(free / 1024 / 1024)} MB of storage is left for this page, too little to record; free some disk space and try again.`)
  }
  return store
}

/** Mixes audio tracks into one, adding and removing sources as the set of tracks changes. */
class Mixer {
  readonly context = new AudioContext()
  readonly destination = this.context.createMediaStreamDestination()
  /** Several people talking at once add up past full scale: a limiter keeps the mix from clipping. */
  private readonly limiter = new DynamicsCompressorNode(this.context, { threshold: -6, knee: 0, ratio: 20, attack: 0.003, release: 0.25 })
  private readonly sources = new Map<string, MediaStreamAudioSourceNode>()

  constructor () {
    this.limiter.connect(this.destination)
  }

  sync (tracks: MediaStreamTrack[]): void {
    const wanted = new Map(tracks.filter(t => t.readyState === 'live').map(t => [t.id, t]))
    for (const [id, node] of this.sources) {
      if (!wanted.has(id)) {
        node.disconnect()
        this.sources.delete(id)
      }
    }
    for (const [id, track] of wanted) {
      if (this.sources.has(id)) { continue }
      const node = this.context.createMediaStreamSource(new MediaStream([track]))
      node.connect(this.limiter)
      this.sources.set(id, node)
    }
  }

  get size (): number { return this.sources.size }

  async close (): Promise<void> {
    for (const node of this.sources.values()) { node.disconnect() }
    this.sources.clear()
    await this.context.close().catch(() => {})
  }
}

/** A recording under way. `start()` resolves once MediaRecorder runs and its folder exists on disk. */
export class SessionRecorder {
  private compositor: Compositor | undefined
  private mixer: Mixer | undefined
  private recorder: MediaRecorder | undefined
  private intake: ChunkIntake | undefined
  private writer: RecordingWriter | undefined
  private store: RecordingStore | undefined
  /** performance.now() when MediaRecorder was started: media time 0. */
  private startedPerf = 0
  private running = false
  private stopping: Promise<{ meta: RecordingMeta, blob: Blob }> | undefined
  private failure: Error | undefined
  /** Storage is opened and checked as soon as a recording is asked for, while the room is being told. */
  private readonly storage: Promise<RecordingStore>

  constructor (private readonly init: SessionRecorderInit) {
    this.storage = openStore()
    this.storage.catch(() => {}) // start() reports it
  }

  get meta (): RecordingMeta | undefined { return this.writer?.meta }
  /** Milliseconds recorded so far. */
  get elapsed (): number { return this.recorder != null ? performance.now() - this.startedPerf : 0 }
  /** Frames drawn so far and ms spent drawing them. */
  get stats (): { frames: number, drawMs: number } { return this.compositor?.stats ?? { frames: 0, drawMs: 0 } }

  async start (): Promise<void> {
    const mimeType = supportedMimeType()
    if (mimeType == null || typeof AudioContext === 'undefined') { throw new RecordingUnsupportedError('no MediaRecorder for WebM') }
    const { width = 1280, height = 720, frameRate = 15, timeslice = 2_000, videoBitsPerSecond = 2_500_000 } = this.init
    const compositor = this.compositor = new Compositor(this.init.room, this.init.tiles, width, height)
    const mixer = this.mixer = new Mixer()
    // not awaited: until the context runs, MediaRecorder holds the video back and starts the file at its first frame
    mixer.context.resume().catch(() => {})
    mixer.sync(this.init.audio())
    const video = compositor.canvas.captureStream(frameRate).getVideoTracks()
    const stream = new MediaStream([...video, ...mixer.destination.stream.getAudioTracks()])
    const recorder = this.recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond, audioBitsPerSecond: 128_000 })
    const intake = this.intake = new ChunkIntake(err => { this.fail(err) })
    recorder.ondataavailable = (e) => { intake.add(e.data) }
    recorder.onerror = (e: any) => { this.fail(e.error ?? new Error('the encoder failed')) }
    try {
      // the recording starts here, before anything else that takes a turn of a busy page: opening storage, making
      // the folder, even drawing the first frame (seconds, on a saturated machine); chunks wait in the intake
      recorder.start(timeslice)
    } catch (err) {
      this.release()
      throw err
    }
    this.startedPerf = performance.now()
    const startedAt = Date.now()
    let frames = 0
    compositor.start(frameRate, () => {
      if (++frames % AUDIO_SYNC_FRAMES === 0) { mixer.sync(this.init.audio()) }
    })
    try {
      // the folder exists before start() returns: a storage failure (no OPFS, too little space) stops us here, and
      // what was recorded meanwhile is dropped
      const store = this.store = await this.storage
      this.writer = await store.create(this.init.room, mimeType, startedAt)
      intake.setWriter(this.writer)
      if (this.failure != null) { throw this.failure }
    } catch (err) {
      if (recorder.state !== 'inactive') { recorder.stop() }
      this.release()
      if (this.writer != null) {
        await this.writer.finish(0)
        await this.store?.discard(this.writer.meta.id).catch(() => {})
      }
      throw err
    }
    this.running = true
  }

  private fail (err: Error): void {
    if (this.failure != null) { return }
    this.failure = err
    // while starting, start() throws it; while stopping, stop() ends at once
    if (!this.running || this.stopping != null) { return }
    this.stop().then(({ meta }) => { this.init.onFailure?.(err, meta) }, () => {})
  }

  /**
   * Stop, wait until the media up to the stop is out of the encoder and on disk, and hand back the finished file
   * (disk-backed). The recording ends at `options.at` (a performance.now() time: the click's `event.timeStamp`),
   * by default at the click being handled right now, if stop() is called from its handler, else now. A busy page
   * handles a click late, a second and more on a saturated machine: the recording still ends where the person
   * clicked.
   */
  async stop (options: { at?: number } = {}): Promise<{ meta: RecordingMeta, blob: Blob }> {
    const stoppedAt = options.at ?? userEventTime() ?? performance.now()
    this.stopping ??= (async () => {
      const { recorder, writer, store, intake } = this
      if (!this.running || recorder == null || writer == null || store == null || intake == null) { throw new Error('not recording') }
      const stopMs = Math.max(0, Math.min(stoppedAt, performance.now()) - this.startedPerf)
      intake.hold()
      if (recorder.state === 'recording' && this.failure == null && intake.readable) {
        // no more grid frames (on a saturated machine each costs the page a second or more), but a cheap frame of
        // this moment, again on every poll until one comes out: the encoder hands over the audio only up to its
        // latest video frame, so the media up to the stop comes out behind that frame
        this.compositor?.stop()
        const deadline = performance.now() + (this.init.drainTimeout ?? 10_000)
        while (recorder.state === 'recording' && this.failure == null && !intake.reached(stopMs) && performance.now() < deadline) {
          this.compositor?.touch()
          recorder.requestData()
          await sleep(DRAIN_POLL_MS)
          await intake.settled()
        }
      }
      if (recorder.state !== 'inactive') {
        const stopped = new Promise<void>(resolve => { recorder.addEventListener('stop', () => { resolve() }, { once: true }) })
        recorder.stop() // fires the last dataavailable, then stop
        await stopped
      }
      this.release()
      const durationMs = await intake.finish(stopMs)
      const meta = await writer.finish(durationMs)
      return { meta, blob: await store.assemble(meta) }
    })()
    return this.stopping
  }

  private release (): void {
    this.compositor?.stop()
    this.recorder?.stream.getTracks().forEach(t => { t.stop() })
    void this.mixer?.close()
  }
}
