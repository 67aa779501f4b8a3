/**
 * People in real browsers for the benches: a fresh browser profile (a new identity) per person on a page of the web
 * app, its freeflow:* debug lines and errors, and the renderer's CPU and memory from Chrome DevTools Protocol.
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'

export interface Person {
  context: BrowserContext
  page: Page
  /** freeflow:* debug lines with the time Node saw them (epoch ms) */
  trace: Array<{ at: number, text: string }>
  errors: string[]
}

export interface PersonOptions {
  /** Turn the pages' freeflow:* debug logs on (collected in `trace`). */
  trace?: boolean
  /** Open the camera at this size instead of what the app asks for (an experiment, not the app). */
  camera?: { width: number, height: number }
  /**
   * The camera preview must play within this long, ms.
   *
   * @default 15_000
   */
  previewTimeoutMs?: number
}

/** A person with a fresh browser profile (a new identity), camera allowed, on a page of the web app. */
export async function person (browser: Browser, url: string, options: PersonOptions = {}): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(url).origin })
  if (options.trace === true) { await context.addInitScript(() => { localStorage.setItem('debug', 'freeflow:*,freeflow:call:trace') }) }
  if (options.camera != null) {
    await context.addInitScript((size: { width: number, height: number }) => {
      const md = navigator.mediaDevices
      const gum = md.getUserMedia.bind(md)
      md.getUserMedia = async (c?: MediaStreamConstraints) => gum(c?.video != null && c.video !== false ? { ...c, video: { ...(c.video === true ? {} : c.video), width: { exact: size.width }, height: { exact: size.height } } } : c)
    }, options.camera)
  }
  const page = await context.newPage()
  const p: Person = { context, page, trace: [], errors: [] }
  page.on('console', m => {
    const text = m.text()
    if (text.includes('freeflow:')) { p.trace.push({ at: Date.now(), text: text.replace(/%c/g, '').replace(/color: \S+/g, '').trim().slice(0, 300) }) }
  })
  page.on('pageerror', e => { p.errors.push(e.message) })
  await page.goto(url)
  // the camera preview plays: getUserMedia is done, as it is for a person before they press Join
  await page.waitForFunction(() => (document.querySelector('[data-testid=local-video]') as HTMLVideoElement | null)?.videoWidth !== 0, undefined, { timeout: options.previewTimeoutMs ?? 15_000 })
  return p
}

export async function closePeople (people: Person[]): Promise<void> {
  await Promise.all(people.map(async p => p.context.close().catch(() => {})))
}

/** A DevTools session on a page with its performance metrics on. */
export async function metricsSession (p: Person): Promise<CDPSession> {
  const cdp = await p.context.newCDPSession(p.page)
  await cdp.send('Performance.enable')
  return cdp
}

export interface PageMetrics {
  /** CPU time of the page's renderer process so far, ms (WebRTC encode and decode run there) */
  processMs: number
  /** of it, the renderer's main thread (JS: libp2p, the app; layout), ms */
  threadMs: number
  /** the main thread's time in script, ms */
  scriptMs: number
  /** JS heap in use, MiB */
  heapMiB: number
}

/** The page's renderer CPU and JS heap so far (CDP Performance.getMetrics). */
export async function pageMetrics (cdp: CDPSession): Promise<PageMetrics> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (name: string): number => metrics.find((m: { name: string, value: number }) => m.name === name)?.value ?? NaN
  return { processMs: 1_000 * get('ProcessTime'), threadMs: 1_000 * get('ThreadTime'), scriptMs: 1_000 * get('ScriptDuration'), heapMiB: get('JSHeapUsedSize') / 1024 / 1024 }
}
