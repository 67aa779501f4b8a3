/**
 * Recording a session in the browser: the tile grid drawn on a canvas (every participant's video, names, muted
 * and camera-off tiles), everyone's audio mixed with WebAudio, both encoded by MediaRecorder as WebM, and each
 * chunk of a few seconds written to the origin-private file system (recording-store.ts) as it comes.
 *
 * The UI hands in two functions, `tiles()` and `audio()`, that say what the call looks and sounds like right
 * now; the recorder asks them on every frame, so people who join, leave, mute or share a screen appear in the
 * recording as they do on screen.
 */
import { RecordingStore, StorageFullError, StorageUnavailableError, type RecordingMeta, type RecordingWriter } from './recording-store.js'

export { RecordingStore, StorageFullError, StorageUnavailableError, fileName, durationOf } from './recording-store.js'
export type { RecordingMeta } from './recording-store.js'

/** One tile as it is on screen. */
export interface TileView {
  name: string
  /** The camera video, when it shows one. */
  camera?: HTMLVideoElement
  /** A shared screen, shown large with the camera small in a corner. */
  screen?: HTMLVideoElement
  muted: boolean
  cameraOff: boolean
  /** A line under the name: 'recorder', 'terminal · chat only', 'Connecting…' */
  note?: string
  speaking?: boolean
  recording?: boolean
}

export interface SessionRecorderInit {
  /** The room's short name, for the file name and the recording's header. */
  room: string
  tiles: () => TileView[]
  /** Audio tracks to mix right now: remote participants' and the recorder's own microphone (unless muted). */
  audio: () => MediaStreamTrack[]
  /** MediaRecorder timeslice: the most a crashed tab can lose, in ms. @default 2_000 */
  timeslice?: number
  /** @default 1280 */ width?: number
  /** @default 720 */ height?: number
  /** @default 15 */ frameRate?: number
  /** @default 2_500_000 */ videoBitsPerSecond?: number
  /** Called once if the recording stops by itself (storage full, a write failed, the encoder failed). */
  onFailure?: (err: Error, meta: RecordingMeta) => void
}

/** This browser has no MediaRecorder that writes WebM. */
export class RecordingUnsupportedError extends Error {
  static readonly name = 'RecordingUnsupportedError'
  readonly name = 'RecordingUnsupportedError'
}

/** Less space left than a short recording needs. */
const MIN_FREE_BYTES = 64 * 1024 * 1024
/** How often the audio sources are matched against who is in the call, in frames. */
const AUDIO_SYNC_FRAMES = 6

const MIME_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm']

export function supportedMimeType (): string | undefined {
  if (typeof MediaRecorder === 'undefined') return undefined
  return MIME_TYPES.find(t => MediaRecorder.isTypeSupported(t))
}

/** One sentence for a person, for every way starting or keeping a recording can fail. */
export function recordingError (err: any): string {
  if (err instanceof RecordingUnsupportedError) return 'This browser cannot record a call (it has no WebM MediaRecorder); try a recent Chrome, Edge or Firefox.'
  if (err instanceof StorageUnavailableError) return 'This browser does not let the page keep a recording on disk (a private window?), so recording is not possible here.'
  if (err instanceof StorageFullError) return 'The browser\'s storage for this page is full, so the recording stopped; everything recorded until then is kept and ready to download.'
  if (err?.name === 'InsufficientSpaceError') return String(err.message)
  return `The recording stopped because of an error (${String(err?.message ?? err)}); everything recorded until then is kept and ready to download.`
}

class InsufficientSpaceError extends Error {
  readonly name = 'InsufficientSpaceError'
}

/**
 * Draws the grid on a canvas at a fixed rate. Ticks come from a worker: timers in a page that is in a background
 * tab are slowed to once a second (and less), a worker's are not.
 */
class Compositor {
  readonly canvas: HTMLCanvasElement
  private readonly ctx: CanvasRenderingContext2D
  private ticker: Worker | undefined
  /** Frames drawn and the time spent drawing them, for people looking at a slow machine. */
  readonly stats = { frames: 0, drawMs: 0 }
  private clock = { second: 0, text: '' }

  constructor (private readonly room: string, private readonly tiles: () => TileView[], width: number, height: number) {
    this.canvas = document.createElement('canvas')
    this.canvas.width = width
    this.canvas.height = height
    const ctx = this.canvas.getContext('2d', { alpha: false })
    if (ctx == null) throw new RecordingUnsupportedError('no 2d canvas')
    this.ctx = ctx
  }

  start (frameRate: number, onFrame: () => void): void {
    this.draw()
    // one tick at a time, asked for after each frame: when drawing takes longer than a frame (a busy machine),
    // ticks must not queue up and starve the rest of the page (the call itself runs on this thread)
    const src = 'onmessage = (e) => { setTimeout(() => { postMessage(0) }, e.data) }'
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }))
    const ticker = this.ticker = new Worker(url)
    URL.revokeObjectURL(url)
    const interval = 1000 / frameRate
    ticker.onmessage = () => {
      const t0 = performance.now()
      this.draw()
      onFrame()
      const cost = performance.now() - t0
      this.stats.frames++
      this.stats.drawMs += cost
      // drawing takes at most a quarter of the thread: the call runs on it too
      ticker.postMessage(Math.max(interval - cost, 3 * cost))
    }
    ticker.postMessage(interval)
  }

  stop (): void {
    this.ticker?.terminate()
    this.ticker = undefined
  }

  draw (): void {
    const { ctx, canvas } = this
    const W = canvas.width
    const H = canvas.height
    const header = Math.round(H * 0.05)
    ctx.fillStyle = '#0f1513'
    ctx.fillRect(0, 0, W, H)
    // header: room and wall clock, so a recording says where and when it was made
    ctx.font = `500 ${Math.round(header * 0.5)}px system-ui, sans-serif`
    ctx.textBaseline = 'middle'
    ctx.fillStyle = '#9fb1aa'
    ctx.textAlign = 'left'
    ctx.fillText(`FreeFlow Connect · Room ${this.room}`, 14, header / 2 + 2)
    ctx.textAlign = 'right'
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.clock.second) this.clock = { second, text: new Date().toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' }) }
    ctx.fillText(this.clock.text, W - 14, header / 2 + 2)
    ctx.textAlign = 'left'

    const tiles = this.tiles()
    const gap = Math.round(W / 128)
    const box = { x: gap, y: header, w: W - 2 * gap, h: H - header - gap }
    const { cols, tw, th } = layout(tiles.length, box.w, box.h, gap)
    const rows = Math.ceil(tiles.length / cols)
    const top = box.y + (box.h - (rows * th + (rows - 1) * gap)) / 2
    tiles.forEach((t, i) => {
      const row = Math.floor(i / cols)
      const inRow = row === rows - 1 ? tiles.length - row * cols : cols
      const left = box.x + (box.w - (inRow * tw + (inRow - 1) * gap)) / 2
      this.drawTile(t, left + (i % cols) * (tw + gap), top + row * (th + gap), tw, th)
    })
  }

  private drawTile (t: TileView, x: number, y: number, w: number, h: number): void {
    const { ctx } = this
    const r = Math.min(12, w / 20)
    ctx.save()
    ctx.beginPath()
    ctx.roundRect(x, y, w, h, r)
    ctx.clip()
    ctx.fillStyle = '#1d2824'
    ctx.fillRect(x, y, w, h)
    const screen = playable(t.screen)
    const camera = t.cameraOff ? undefined : playable(t.camera)
    if (screen != null) {
      ctx.fillStyle = '#000'
      ctx.fillRect(x, y, w, h)
      drawVideo(ctx, screen, x, y, w, h, 'contain')
      if (camera != null) {
        const pw = w * 0.28
        const ph = pw * 3 / 4
        ctx.save()
        ctx.beginPath()
        ctx.roundRect(x + w - pw - 8, y + h - ph - 40, pw, ph, 8)
        ctx.clip()
        drawVideo(ctx, camera, x + w - pw - 8, y + h - ph - 40, pw, ph, 'cover')
        ctx.restore()
      }
    } else if (camera != null) {
      drawVideo(ctx, camera, x, y, w, h, 'cover')
    } else {
      // camera off, or no video: the initial, as on screen
      ctx.fillStyle = '#9fb1aa'
      ctx.font = `600 ${Math.round(h * 0.22)}px system-ui, sans-serif`
      ctx.textAlign = 'center'
      ctx.textBaseline = 'middle'
      ctx.fillText((t.name.trim()[0] ?? '?').toUpperCase(), x + w / 2, y + h / 2)
      ctx.textAlign = 'left'
    }
    if (t.speaking === true) {
      ctx.strokeStyle = '#3fb68b'
      ctx.lineWidth = 4
      ctx.beginPath()
      ctx.roundRect(x + 2, y + 2, w - 4, h - 4, r)
      ctx.stroke()
    }
    // label: name, then what is off, then a note
    const fs = Math.max(12, Math.round(Math.min(h * 0.07, 18)))
    ctx.font = `500 ${fs}px system-ui, sans-serif`
    ctx.textBaseline = 'middle'
    const pills = [t.name, [t.muted ? 'muted' : '', t.cameraOff ? 'camera off' : '', t.note ?? ''].filter(s => s !== '').join(' · ')]
      .filter(s => s !== '')
    let px = x + 8
    const py = y + h - 8 - fs * 1.6
    for (const text of pills) {
      const tw = Math.min(ctx.measureText(text).width + 16, x + w - 8 - px)
      if (tw <= 16) break
      ctx.fillStyle = 'rgba(0,0,0,.6)'
      ctx.beginPath()
      ctx.roundRect(px, py, tw, fs * 1.6, 6)
      ctx.fill()
      ctx.fillStyle = text === t.name ? '#e8efec' : '#9fb1aa'
      ctx.fillText(text, px + 8, py + fs * 0.8, tw - 16)
      px += tw + 6
    }
    if (t.recording === true) {
      ctx.fillStyle = 'rgba(0,0,0,.6)'
      ctx.beginPath()
      // top right, as on screen
      const rw = ctx.measureText('● REC').width + 12
      ctx.roundRect(x + w - rw - 8, y + 8, rw, fs * 1.6, 6)
      ctx.fill()
      ctx.fillStyle = '#e0565b'
      ctx.fillText('● REC', x + w - rw - 2, y + 8 + fs * 0.8)
    }
    ctx.restore()
  }
}

function playable (v: HTMLVideoElement | undefined): HTMLVideoElement | undefined {
  return v != null && v.readyState >= 2 && v.videoWidth > 0 ? v : undefined
}

function drawVideo (ctx: CanvasRenderingContext2D, v: HTMLVideoElement, x: number, y: number, w: number, h: number, fit: 'cover' | 'contain'): void {
  const scale = fit === 'cover' ? Math.max(w / v.videoWidth, h / v.videoHeight) : Math.min(w / v.videoWidth, h / v.videoHeight)
  const dw = v.videoWidth * scale
  const dh = v.videoHeight * scale
  ctx.drawImage(v, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh)
}

/** The grid with the largest 16:9 tiles for n tiles in a box. */
function layout (n: number, w: number, h: number, gap: number): { cols: number, tw: number, th: number } {
  let best = { cols: 1, tw: 0, th: 0 }
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(Math.max(1, n) / cols)
    let tw = (w - (cols - 1) * gap) / cols
    let th = tw * 9 / 16
    if (th * rows + (rows - 1) * gap > h) {
      th = (h - (rows - 1) * gap) / rows
      tw = th * 16 / 9
    }
    if (tw > best.tw) best = { cols, tw, th }
  }
  return best
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
      if (this.sources.has(id)) continue
      const node = this.context.createMediaStreamSource(new MediaStream([track]))
      node.connect(this.limiter)
      this.sources.set(id, node)
    }
  }

  get size (): number { return this.sources.size }

  async close (): Promise<void> {
    for (const node of this.sources.values()) node.disconnect()
    this.sources.clear()
    await this.context.close().catch(() => {})
  }
}

/** A recording under way. `start()` resolves once MediaRecorder runs and its folder exists on disk. */
export class SessionRecorder {
  private compositor: Compositor | undefined
  private mixer: Mixer | undefined
  private recorder: MediaRecorder | undefined
  private writer: RecordingWriter | undefined
  private store: RecordingStore | undefined
  private startedPerf = 0
  private stopping: Promise<{ meta: RecordingMeta, blob: Blob }> | undefined
  private failure: Error | undefined

  constructor (private readonly init: SessionRecorderInit) {}

  get meta (): RecordingMeta | undefined { return this.writer?.meta }
  /** Milliseconds recorded so far. */
  get elapsed (): number { return this.recorder != null ? performance.now() - this.startedPerf : 0 }
  /** Frames drawn so far and ms spent drawing them. */
  get stats (): { frames: number, drawMs: number } { return this.compositor?.stats ?? { frames: 0, drawMs: 0 } }

  async start (): Promise<void> {
    const mimeType = supportedMimeType()
    if (mimeType == null || typeof AudioContext === 'undefined') throw new RecordingUnsupportedError('no MediaRecorder for WebM')
    const store = this.store = await RecordingStore.open()
    const free = await store.free()
    if (free != null && free < MIN_FREE_BYTES) {
      throw new InsufficientSpaceError(`Only ${Math.round(free / 1024 / 1024)} MB of storage is left for this page, too little to record; free some disk space and try again.`)
    }
    const { width = 1280, height = 720, frameRate = 15, timeslice = 2_000, videoBitsPerSecond = 2_500_000 } = this.init
    const compositor = this.compositor = new Compositor(this.init.room, this.init.tiles, width, height)
    const mixer = this.mixer = new Mixer()
    await mixer.context.resume().catch(() => {})
    mixer.sync(this.init.audio())
    const video = compositor.canvas.captureStream(frameRate).getVideoTracks()
    const stream = new MediaStream([...video, ...mixer.destination.stream.getAudioTracks()])
    const recorder = this.recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond, audioBitsPerSecond: 128_000 })
    // the folder exists before anything is recorded: a storage failure stops us here, with nothing lost
    const writer = this.writer = await store.create(this.init.room, mimeType, Date.now())
    recorder.ondataavailable = (e) => {
      writer.append(e.data).catch((err: Error) => { this.fail(err) })
    }
    let frames = 0
    compositor.start(frameRate, () => {
      if (++frames % AUDIO_SYNC_FRAMES === 0) mixer.sync(this.init.audio())
    })
    try {
      await new Promise<void>((resolve, reject) => {
        recorder.onstart = () => { resolve() }
        recorder.onerror = (e: any) => { reject(e.error ?? new Error('MediaRecorder failed to start')) }
        recorder.start(timeslice)
      })
    } catch (err) {
      this.release()
      await writer.finish(0)
      await store.discard(writer.meta.id).catch(() => {})
      throw err
    }
    this.startedPerf = performance.now()
    writer.meta.startedAt = writer.meta.lastFlushAt = Date.now()
    recorder.onerror = (e: any) => { this.fail(e.error ?? new Error('the encoder failed')) }
  }

  private fail (err: Error): void {
    if (this.failure != null || this.stopping != null) return
    this.failure = err
    void this.stop().then(({ meta }) => { this.init.onFailure?.(err, meta) })
  }

  /** Stop, wait until every chunk is on disk, and hand back the finished file (disk-backed). */
  async stop (): Promise<{ meta: RecordingMeta, blob: Blob }> {
    this.stopping ??= (async () => {
      const recorder = this.recorder
      const writer = this.writer
      const store = this.store
      if (recorder == null || writer == null || store == null) throw new Error('not recording')
      const durationMs = performance.now() - this.startedPerf
      if (recorder.state !== 'inactive') {
        const stopped = new Promise<void>(resolve => { recorder.addEventListener('stop', () => { resolve() }, { once: true }) })
        recorder.stop() // fires the last dataavailable, then stop
        await stopped
      }
      this.release()
      const meta = await writer.finish(durationMs)
      return { meta, blob: await store.assemble(meta) }
    })()
    return await this.stopping
  }

  private release (): void {
    this.compositor?.stop()
    this.recorder?.stream.getTracks().forEach(t => { t.stop() })
    void this.mixer?.close()
  }
}
