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
