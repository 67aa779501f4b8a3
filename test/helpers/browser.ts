/**
 * Real browsers for tests: Debian's chromium driven by playwright-core, with a fake camera and microphone,
 * allowed to use loopback for WebRTC (the tests run in a namespace that has nothing else).
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { existsSync } from 'node:fs'

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
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`)
  return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] })
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
  if (options.camera !== false) await context.grantPermissions(['camera', 'microphone'], { origin })
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
  return await page.locator(selector).first().evaluate((v: HTMLVideoElement) => ({
    frames: v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0,
    width: v.videoWidth,
    height: v.videoHeight,
    playing: !v.paused && v.readyState >= 2
  }))
}

/** The page's libp2p PeerId (the app exposes its objects as `globalThis.freeflow` for debugging). */
export async function pagePeerId (page: Page): Promise<string> {
  return await page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString())
}

/** Wait until the camera video in the tile of `peerId` decodes frames that keep advancing. */
export async function waitForVideo (page: Page, peerId: string, timeoutMs = 30_000): Promise<void> {
  const sel = `[data-testid=tile][data-peer-id="${peerId}"] video.camera`
  const deadline = Date.now() + timeoutMs
  let last = { frames: 0, width: 0, height: 0, playing: false }
  while (Date.now() < deadline) {
    last = await videoProgress(page, sel).catch(() => last)
    if (last.frames > 0 && last.width > 0) {
      await new Promise(resolve => setTimeout(resolve, 1_000))
      const later = await videoProgress(page, sel)
      if (later.frames > last.frames) return
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  const tile = await page.locator(`[data-testid=tile][data-peer-id="${peerId}"]`).evaluate(e => ({ ...(e as HTMLElement).dataset }), undefined, { timeout: 1_000 }).catch(() => 'no tile')
  throw new Error(`video of ${peerId} not playing: ${JSON.stringify(last)}; tile ${JSON.stringify(tile)}`)
}
