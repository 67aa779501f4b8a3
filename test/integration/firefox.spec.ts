import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { dismiss, driver, launch, participant } from '../../harness/browser.ts'
import { dismissFirefox, firefoxParticipant, launchFirefox } from '../../harness/firefox.ts'
import { join as joinAs, mediaDiagnosis, pageHealth, pagePeerId, say, tileSelector, waitForChat, waitForInbound, waitForVideo } from '../../harness/pages.ts'
import { cleanup, newRoomKey, startRelay } from '../../harness/procs.ts'
import type { Participant } from '../../harness/browser.ts'
import type { FirefoxParticipant } from '../../harness/firefox.ts'
import type { PageDriver } from '../../harness/pages.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { Browser } from 'playwright-core'
import type { Browser as FirefoxBrowser } from 'puppeteer-core'

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url))

/** One person in the call, whichever browser they use. */
interface Person { name: string, page: PageDriver, id: string, logs: string[] }

/** `a` sees and hears `b`: b's tile, its camera video playing with frames advancing, and b's audio and video bytes growing. */
async function seesAndHears (a: Person, b: Person): Promise<void> {
  await a.page.waitFor(tileSelector(b.id), { timeout: 45_000 })
  await waitForVideo(a.page, b.id, 45_000).catch(async (err: Error) => {
    // the sender's own view of the same call: does it send on the m-line the receiver listens to?
    throw new Error(`${err.message}; ${b.name}'s side: ${await mediaDiagnosis(b.page, a.id)}`)
  })
  await waitForInbound(a.page, b.id, 'video')
  await waitForInbound(a.page, b.id, 'audio')
}

describe('calls between Firefox and Chromium', function () {
  this.timeout(180_000)
  let relay: RelayProc
  let chromium: Browser
  let firefox: FirefoxBrowser
  const chromiumPages: Participant[] = []
  const firefoxPages: FirefoxParticipant[] = []
  /** Every page opened, for the logs written at the end. */
  const logs: Array<{ label: string, logs: string[] }> = []
  let people: Person[] = []

  async function openChromium (url: string, name: string): Promise<Person> {
    const p = await participant(chromium, url)
    chromiumPages.push(p)
    logs.push({ label: `chromium-${name}`, logs: p.logs })
    const page = driver(p.page)
    await joinAs(page, name)
    return { name, page, id: await pagePeerId(page), logs: p.logs }
  }

  async function openFirefox (url: string, name: string): Promise<Person> {
    const p = await firefoxParticipant(firefox, url)
    firefoxPages.push(p)
    logs.push({ label: `firefox-${name}`, logs: p.logs })
    await joinAs(p.driver, name)
    return { name, page: p.driver, id: await pagePeerId(p.driver), logs: p.logs }
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    relay = await startRelay()
    chromium = await launch()
    firefox = await launchFirefox()
  })

  after(async () => {
    for (const { label, logs: lines } of logs) {
      if (lines.some(l => l.includes('pageerror'))) { process.stderr.write(`${label}:\n${lines.filter(l => l.includes('pageerror')).join('\n')}\n`) }
      if (process.env.FREEFLOW_PAGE_DEBUG != null) { writeFileSync(join(ARTIFACTS, `firefox-spec-${label}.log`), lines.join('\n') + '\n') }
    }
    if (process.env.FREEFLOW_PAGE_DEBUG != null && relay != null) { writeFileSync(join(ARTIFACTS, 'firefox-spec-relay.log'), relay.proc.stderr) }
    await dismiss(chromiumPages)
    await dismissFirefox(firefoxPages)
    await chromium?.close()
    await firefox?.close()
    await cleanup()
  })

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') { return }
    for (const p of people) { process.stderr.write(`      ${p.name}'s page: ${await pageHealth(p.page)}\n`) }
  })

  it('Chromium joins, then Firefox: each sees and hears the other', async () => {
    const url = `${relay.http}/#room=${await newRoomKey()}`
    const ada = await openChromium(url, 'Ada')
    const fox = await openFirefox(url, 'Fox')
    people = [ada, fox]
    await seesAndHears(fox, ada)
    await seesAndHears(ada, fox)
    expect(await fox.page.evaluate((sel) => document.querySelector(sel)?.getAttribute('data-name'), tileSelector(ada.id))).to.equal('Ada')
    expect(await ada.page.evaluate((sel) => document.querySelector(sel)?.getAttribute('data-name'), tileSelector(fox.id))).to.equal('Fox')
  })

  it('chat goes both ways', async () => {
    const [ada, fox] = people
    await say(ada.page, 'hello from Chromium')
    expect((await waitForChat(fox.page, 'hello from Chromium')).name).to.equal('Ada')
    await say(fox.page, 'hello from Firefox')
    expect((await waitForChat(ada.page, 'hello from Firefox')).name).to.equal('Fox')
  })

  it('a screen shared in Chromium plays in Firefox, beside the camera', async () => {
    const [ada, fox] = people
    await ada.page.click('share-screen')
    await ada.page.waitFor('[data-testid=share-screen][aria-pressed=true]', { timeout: 10_000 })
    await fox.page.waitFor(`${tileSelector(ada.id)} video.screen`, { timeout: 20_000 })
    await waitForVideo(fox.page, ada.id, 30_000, 'screen')
    await waitForVideo(fox.page, ada.id) // the camera keeps playing beside the screen
    await ada.page.click('share-screen')
    await fox.page.waitFor(`${tileSelector(ada.id)} video.screen`, { timeout: 15_000, state: 'detached' })
  })

  it('Firefox joins, then Chromium: each sees and hears the other', async () => {
    await dismiss(chromiumPages)
    await dismissFirefox(firefoxPages)
    const url = `${relay.http}/#room=${await newRoomKey()}`
    const fox = await openFirefox(url, 'Fern')
    const ada = await openChromium(url, 'Bea')
    people = [ada, fox]
    await seesAndHears(ada, fox)
    await seesAndHears(fox, ada)
  })
})
