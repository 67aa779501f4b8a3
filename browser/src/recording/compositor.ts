/**
 * The picture of a recording: the tile grid drawn on a canvas (every participant's video, names, muted and
 * camera-off tiles, a shared screen large), as the UI describes it in `TileView`s on every frame.
 */
import { RecordingUnsupportedError } from './errors.ts'

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

/**
 * Draws the grid on a canvas at a fixed rate. Ticks come from a worker: timers in a page that is in a background
 * tab are slowed to once a second (and less), a worker's are not.
 */
export class Compositor {
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
    if (ctx == null) { throw new RecordingUnsupportedError('no 2d canvas') }
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

  /**
   * Redraw only the header (room and clock): a new frame that costs next to nothing, with the grid as last drawn.
   * The recorder asks for one at the stop, to push a frame of that moment through the encoder.
   */
  touch (): void {
    this.drawHeader()
  }

  private drawHeader (): number {
    const { ctx, canvas } = this
    const W = canvas.width
    const header = Math.round(canvas.height * 0.05)
    ctx.fillStyle = '#0f1513'
    ctx.fillRect(0, 0, W, header)
    // header: room and wall clock, so a recording says where and when it was made
    ctx.font = `500 ${Math.round(header * 0.5)}px system-ui, sans-serif`
    ctx.textBaseline = 'middle'
    ctx.fillStyle = '#9fb1aa'
    ctx.textAlign = 'left'
    ctx.fillText(`FreeFlow Connect · Room ${this.room}`, 14, header / 2 + 2)
    ctx.textAlign = 'right'
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.clock.second) { this.clock = { second, text: new Date().toLocaleString([], { dateStyle: 'medium', timeStyle: 'medium' }) } }
    ctx.fillText(this.clock.text, W - 14, header / 2 + 2)
    ctx.textAlign = 'left'
    return header
  }

  draw (): void {
    const { ctx, canvas } = this
    const W = canvas.width
    const H = canvas.height
    ctx.fillStyle = '#0f1513'
    ctx.fillRect(0, 0, W, H)
    const header = this.drawHeader()

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
      if (tw <= 16) { break }
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
    if (tw > best.tw) { best = { cols, tw, th } }
  }
  return best
}
