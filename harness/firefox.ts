/**
 * Firefox for tests: Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi (Playwright's Firefox needs
 * its own patched build), with a fake camera and microphone, allowed to use loopback for WebRTC, shaped like
 * harness/browser.ts. What a test reads from a page is shared with Chromium's harness (harness/pages.ts).
 */
import { existsSync } from 'node:fs'
import puppeteer from 'puppeteer-core'
import { clock } from './pages.ts'
import type { PageDriver } from './pages.ts'
import type { Browser, BrowserContext, Page } from 'puppeteer-core'

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'

/**
 * Preferences of the test profile: what Chromium's command-line flags do in harness/browser.ts.
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  // fake camera (a coloured frame that changes) and microphone (a tone), and no permission prompt
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // and the site may use them (Chromium's --use-fake-ui-for-media-stream): until a page holds a camera or microphone
  // permission, Firefox gathers ICE candidates only on the interface of the default route, and a fake device without a
  // prompt grants none; the tests' namespace has no default route, so no candidate at all would be gathered
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // the tests' namespace has only loopback: gather host candidates there too (Chromium's
  // --allow-loopback-in-peer-connection), and show them as addresses, not mDNS names (--disable-features=
  // WebRtcHideLocalIpsWithMdns)
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // videos play without a click (--autoplay-policy=no-user-gesture-required)
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // a headless page is never "in the background": timers and video keep their pace
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  // nothing reaches out to Mozilla's servers from the test namespace (it has no route anyway)
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false
}

export async function launchFirefox (extraPrefs: Record<string, unknown> = {}): Promise<Browser> {
  if (!existsSync(FIREFOX)) { throw new Error(`firefox not found at ${FIREFOX} (apt-get install -y firefox-esr)`) }
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    defaultViewport: { width: 1280, height: 800 },
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...extraPrefs },
    // the test's own handlers end the run; puppeteer's would close Firefox under a spec that is still in it
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false
  })
}

export interface FirefoxParticipant {
  context: BrowserContext
  page: Page
  /** The page as the shared helpers (harness/pages.ts) drive it. */
  driver: PageDriver
  logs: string[]
}

/** A puppeteer page as the shared helpers (harness/pages.ts) drive it. */
export function driver (page: Page): PageDriver {
  return {
    // puppeteer types its evaluate's arguments through handles; plain values pass as they are
    evaluate: async (fn, arg) => page.evaluate(fn as any, arg),
    fill: async (testid, text) => { await page.locator(`[data-testid="${testid}"]`).fill(text) },
    click: async (testid) => { await page.locator(`[data-testid="${testid}"]`).click() },
    waitFor: async (selector, options) => {
      const state = options.state ?? 'attached'
      await page.waitForSelector(selector, { timeout: options.timeout, visible: state === 'visible', hidden: state === 'detached' })
    }
  }
}

/** A person with their own Firefox profile (own identity in IndexedDB), on the page at `url`. */
export async function firefoxParticipant (browser: Browser, url: string): Promise<FirefoxParticipant> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  // FREEFLOW_PAGE_DEBUG=freeflow:* turns on the pages' debug logs (they land in `logs`)
  const debug = process.env.FREEFLOW_PAGE_DEBUG
  if (debug != null && debug !== '') { await page.evaluateOnNewDocument((d: string) => { localStorage.setItem('debug', d) }, debug) }
  const logs: string[] = []
  page.on('console', m => { logs.push(`${clock()} [${m.type()}] ${m.text()}`) })
  page.on('pageerror', e => { logs.push(`${clock()} [pageerror] ${e instanceof Error ? e.message : String(e)}`) })
  await page.goto(url)
  return { context, page, driver: driver(page), logs }
}

/** Pages that came for one test: each leaves the call (if it can) and its profile is closed. */
export async function dismissFirefox (pages: FirefoxParticipant[]): Promise<void> {
  for (const p of pages.splice(0)) {
    await p.page.locator('[data-testid="leave"]').setTimeout(5_000).click().catch(() => {})
    await p.context.close().catch(() => {})
  }
}
