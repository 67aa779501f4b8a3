/**
 * Real browsers for tests: Debian's chromium driven by playwright-core, with a fake camera and microphone,
 * allowed to use loopback for WebRTC (the tests run in a namespace that has nothing else).
 */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

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
  '--use-fake-device-for-media-stream',
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
  throw new Error(`video of ${peerId} not playing: ${JSON.stringify(last)}; tile ${JSON.stringify(tile)}`)
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
