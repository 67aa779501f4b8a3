/**
 * Real browsers for tests: Debian's chromium driven by playwright-core, with a fake camera and microphone,
 * allowed to use loopback for WebRTC (the tests run in a namespace that has nothing else).
 */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * The specs' fake cameras send 10 frames a second (Chromium's fake camera runs at 20 unless told): a spec runs three
 * or four pages and a terminal peer on two cores, and capturing, encoding and decoding at half the rate leaves the
 * pages the time to do what is tested. Video checks count frames against this rate.
 */
export const FAKE_CAMERA_FPS = 10

/** Chromium's fake capture devices: `devices` cameras (device 1 is a depth camera) at FAKE_CAMERA_FPS. */
export function fakeCameras (devices = 1): string {
  return `--use-fake-device-for-media-stream=fps=${FAKE_CAMERA_FPS},device-count=${devices}`
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
  fakeCameras(),
  '--use-fake-ui-for-media-stream',
  '--auto-accept-this-tab-capture',
  '--autoplay-policy=no-user-gesture-required'
]

export async function launch (extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) { throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`) }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] })
}

export interface Participant {
  context: BrowserContext
  page: Page
  logs: string[]
}

/** A person with their own browser profile (own identity in IndexedDB), camera allowed unless told otherwise. */
export async function participant (browser: Browser, url: string, options: { camera?: boolean, viewport?: { width: number, height: number } } = {}): Promise<Participant> {
  const origin = new URL(url).origin
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } })
  if (options.camera !== false) { await context.grantPermissions(['camera', 'microphone'], { origin }) }
  // FREEFLOW_PAGE_DEBUG=freeflow:* turns on the pages' debug logs (they land in `logs`)
  const debug = process.env.FREEFLOW_PAGE_DEBUG
  if (debug != null && debug !== '') { await context.addInitScript((d) => { localStorage.setItem('debug', d) }, debug) }
  const page = await context.newPage()
  const logs: string[] = []
  page.on('console', m => { logs.push(`[${m.type()}] ${m.text()}`) })
  page.on('pageerror', e => { logs.push(`[pageerror] ${e.message}`) })
  // a renderer that died takes every later step on this page with it: say so where the failure is read
  page.on('crash', () => { logs.push('[pageerror] the page crashed'); process.stderr.write(`page ${url} crashed\n`) })
  await page.goto(url)
  return { context, page, logs }
}

export async function joinAs (p: Participant, name: string): Promise<void> {
  await p.page.getByTestId('display-name').fill(name)
  await p.page.getByTestId('join').click()
  await p.page.locator('#call').waitFor({ state: 'visible', timeout: 30_000 })
}

/** Frames decoded so far by the video in a tile, and its size. */
export async function videoProgress (page: Page, selector: string): Promise<{ frames: number, width: number, height: number, playing: boolean }> {
  return page.locator(selector).first().evaluate((v: HTMLVideoElement) => ({
    frames: v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
    width: v.videoWidth,
    height: v.videoHeight,
    playing: !v.paused && v.readyState >= 2
  }))
}

/** The page's libp2p PeerId (the app exposes its objects as `globalThis.freeflow` for debugging). */
export async function pagePeerId (page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString())
}

/**
 * What a page can tell about the media from `peerId` when a wait for it failed: the inbound video of that member's
 * call (received, decoded, dropped, freezes, PLIs) with the connection's state, and the tracks the tile's element
 * shows against those received, so a failure says whether the media stopped arriving, stopped decoding or stopped
 * being shown (whether the page still draws at all: `pageHealth`).
 */
export async function mediaDiagnosis (page: Page, peerId: string): Promise<string> {
  return answerWithin(page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    const video: Record<string, unknown> = {}
    if (pc != null) {
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          video[s.mid ?? s.id] = { rx: s.framesReceived, dec: s.framesDecoded, drop: s.framesDropped, freezes: s.freezeCount, pli: s.pliCount, lost: s.packetsLost, bytes: s.bytesReceived, size: `${String(s.frameWidth)}x${String(s.frameHeight)}` }
        }
      })
    }
    // what the tile's element shows, against what the connection receives
    const el = document.querySelector(`[data-testid=tile][data-peer-id="${id}"] video.camera`) as HTMLVideoElement | null
    const shown = el?.srcObject instanceof MediaStream ? el.srcObject.getVideoTracks().map(t => `${t.id.slice(0, 8)}:${t.readyState}${t.muted ? ':muted' : ''}`) : []
    const received = pc?.getReceivers().filter(r => r.track.kind === 'video').map(r => `${r.track.id.slice(0, 8)}:${r.track.readyState}${r.track.muted ? ':muted' : ''}`) ?? []
    const box = el?.getBoundingClientRect()
    const element = el == null ? 'none' : { shown, received, box: `${Math.round(box!.x)},${Math.round(box!.y)} ${Math.round(box!.width)}x${Math.round(box!.height)}`, paused: el.paused, ready: el.readyState, time: el.currentTime }
    return JSON.stringify({ member: member != null, pc: pc == null ? 'none' : `${pc.connectionState}/${pc.iceConnectionState}/${pc.signalingState}`, video, element })
  }, peerId))
}

/** What `probe` answers, or why it did not within 10 s (a page whose main thread is stuck never answers). */
async function answerWithin (probe: Promise<string>): Promise<string> {
  const answered = await Promise.race([probe, new Promise<undefined>(resolve => { setTimeout(resolve, 10_000) })]).catch((err: Error) => `probe failed: ${err.message}`)
  return answered ?? 'main thread did not answer within 10 s'
}

/**
 * Whether a page still works, for a failed test's message: does its main thread answer, does it still draw
 * (requestAnimationFrame round trip), and how long were its main thread's stalls over the last second.
 */
export async function pageHealth (page: Page): Promise<string> {
  return answerWithin(page.evaluate(async () => {
    const t0 = performance.now()
    const raf = await Promise.race([
      new Promise<number>(resolve => { requestAnimationFrame(() => { resolve(Math.round(performance.now() - t0)) }) }),
      new Promise<number>(resolve => { setTimeout(() => { resolve(-1) }, 3_000) })
    ])
    let worst = 0
    let prev = performance.now()
    const end = prev + 1_000
    while (performance.now() < end) {
      await new Promise(resolve => setTimeout(resolve, 20))
      const now = performance.now()
      worst = Math.max(worst, now - prev - 20)
      prev = now
    }
    return `visibility ${document.visibilityState}, frame in ${raf < 0 ? 'none within 3 s' : `${raf} ms`}, worst timer delay ${Math.round(worst)} ms`
  }))
}

/** Pages that came for one test: each leaves the call (if it can) and its browser profile is closed. */
export async function dismiss (pages: Participant[]): Promise<void> {
  for (const p of pages.splice(0)) {
    await p.page.getByTestId('leave').click({ timeout: 5_000 }).catch(() => {})
    await p.context.close().catch(() => {})
  }
}

/** Wait until the camera video in the tile of `peerId` decodes frames that keep advancing. */
export async function waitForVideo (page: Page, peerId: string, timeoutMs = 30_000): Promise<void> {
  const sel = `[data-testid=tile][data-peer-id="${peerId}"] video.camera`
  const deadline = Date.now() + timeoutMs
  let last = { frames: 0, width: 0, height: 0, playing: false }
  while (Date.now() < deadline) {
    last = await videoProgress(page, sel).catch(() => undefined) ?? last
    if (last.frames > 0 && last.width > 0) {
      await new Promise(resolve => setTimeout(resolve, 1_000))
      const later = await videoProgress(page, sel)
      if (later.frames > last.frames) { return }
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  const tile = await page.locator(`[data-testid=tile][data-peer-id="${peerId}"]`).evaluate(e => ({ ...(e as HTMLElement).dataset }), undefined, { timeout: 1_000 }).catch(() => 'no tile')
  throw new Error(`video of ${peerId} not playing: ${JSON.stringify(last)}; tile ${JSON.stringify(tile)}; ${await mediaDiagnosis(page, peerId)}; page: ${await pageHealth(page)}`)
}

/** Audio bytes this page has received from `peerId` so far, over every inbound audio stream of their call. */
export async function inboundAudioBytes (page: Page, peerId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    let bytes = 0
    if (pc == null) { return 0 }
    (await pc.getStats()).forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') { bytes += s.bytesReceived ?? 0 } })
    return bytes
  }, peerId)
}

/** Wait until the audio this page receives from `peerId` keeps growing (they are heard). */
export async function waitForAudio (page: Page, peerId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let before = 0
  let after = 0
  while (Date.now() < deadline) {
    before = await inboundAudioBytes(page, peerId)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    after = await inboundAudioBytes(page, peerId)
    if (before > 0 && after > before) { return }
  }
  throw new Error(`no audio from ${peerId}: ${before} then ${after} bytes`)
}
