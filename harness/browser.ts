/**
 * Real browsers for tests: Debian's chromium driven by playwright-core, with a fake camera and microphone,
 * allowed to use loopback for WebRTC (the tests run in a namespace that has nothing else).
 */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import * as shared from './pages.ts'
import { clock } from './pages.ts'
import type { PageDriver, VideoProgress } from './pages.ts'
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
  page.on('console', m => { logs.push(`${clock()} [${m.type()}] ${m.text()}`) })
  page.on('pageerror', e => { logs.push(`${clock()} [pageerror] ${e.message}`) })
  // a renderer that died takes every later step on this page with it: say so where the failure is read
  page.on('crash', () => { logs.push(`${clock()} [pageerror] the page crashed`); process.stderr.write(`page ${url} crashed\n`) })
  await page.goto(url)
  return { context, page, logs }
}

/** A playwright page as the shared helpers (harness/pages.ts) drive it. */
export function driver (page: Page): PageDriver {
  return {
    // playwright's evaluate unboxes handles in its argument type; plain values pass as they are
    evaluate: async (fn, arg) => page.evaluate(fn as any, arg),
    fill: async (testid, text) => { await page.getByTestId(testid).fill(text) },
    click: async (testid) => { await page.getByTestId(testid).click() },
    waitFor: async (selector, options) => { await page.locator(selector).first().waitFor(options) }
  }
}

export async function joinAs (p: Participant, name: string): Promise<void> {
  await shared.join(driver(p.page), name)
}

/** Frames decoded so far by the video in a tile, and its size. */
export async function videoProgress (page: Page, selector: string): Promise<VideoProgress> {
  return shared.videoProgress(driver(page), selector)
}

/** The page's libp2p PeerId (the app exposes its objects as `globalThis.freeflow` for debugging). */
export async function pagePeerId (page: Page): Promise<string> {
  return shared.pagePeerId(driver(page))
}

/** What a page can tell about the media from `peerId` when a wait for it failed (harness/pages.ts). */
export async function mediaDiagnosis (page: Page, peerId: string): Promise<string> {
  return shared.mediaDiagnosis(driver(page), peerId)
}

/** Whether a page still works, for a failed test's message (harness/pages.ts). */
export async function pageHealth (page: Page): Promise<string> {
  return shared.pageHealth(driver(page))
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
  await shared.waitForVideo(driver(page), peerId, timeoutMs)
}

/** Audio bytes this page has received from `peerId` so far, over every inbound audio stream of their call. */
export async function inboundAudioBytes (page: Page, peerId: string): Promise<number> {
  return shared.inboundBytes(driver(page), peerId, 'audio')
}

/** Wait until the audio this page receives from `peerId` keeps growing (they are heard). */
export async function waitForAudio (page: Page, peerId: string, timeoutMs = 30_000): Promise<void> {
  await shared.waitForInbound(driver(page), peerId, 'audio', timeoutMs)
}
