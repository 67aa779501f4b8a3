/* eslint-env mocha */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { joinAs, launch, participant, videoProgress, type Participant } from '../helpers/browser.js'
import { cleanup, run, sleep, startPeer, startRelay, type Proc, type RelayProc } from '../helpers/procs.js'
import type { Browser, Page } from 'playwright-core'

/** Screenshots land here for people to look at (CI keeps the folder). */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url))

async function tilePeerIds (page: Page): Promise<string[]> {
  return await page.locator('[data-testid=tile]').evaluateAll(els => els.map(e => (e as HTMLElement).dataset.peerId ?? ''))
}

async function peerIdOf (page: Page): Promise<string> {
  return await page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString())
}

/** Wait until the video in the tile of `peerId` decodes frames that keep advancing. */
async function expectPlaying (page: Page, peerId: string, timeoutMs = 30_000): Promise<void> {
  const sel = `[data-testid=tile][data-peer-id="${peerId}"] video.camera`
  const deadline = Date.now() + timeoutMs
  let last = { frames: 0, width: 0, height: 0, playing: false }
  while (Date.now() < deadline) {
    last = await videoProgress(page, sel)
    if (last.frames > 0 && last.width > 0) {
      await sleep(1_000)
      const later = await videoProgress(page, sel)
      if (later.frames > last.frames) return
    }
    await sleep(500)
  }
  throw new Error(`video of ${peerId} not playing: ${JSON.stringify(last)}`)
}

async function chatTexts (page: Page): Promise<Array<{ name: string, text: string, history: boolean }>> {
  return await page.locator('[data-testid=chat-message]').evaluateAll(els => els.map(e => ({
    name: (e as HTMLElement).dataset.name ?? '',
    text: e.querySelector('.text')?.textContent ?? '',
    history: e.classList.contains('history')
  })))
}

async function say (page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text)
  await page.getByTestId('chat-send').click()
}

async function waitForChat (page: Page, text: string, timeoutMs = 20_000): Promise<{ name: string, text: string, history: boolean }> {
  await page.locator('[data-testid=chat-message] .text', { hasText: text }).first().waitFor({ timeout: timeoutMs })
  return (await chatTexts(page)).find(m => m.text === text)!
}

describe('video calls in the browser', function () {
  this.timeout(180_000)
  let relay: RelayProc
  let browser: Browser
  let key: string
  let url: string
  const people: Participant[] = []
  const ids: string[] = []
  let terminal: Proc
  let terminalId: string

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    relay = await startRelay()
    browser = await launch()
    key = (await run(['room', 'new'])).stdout.trim()
    url = `${relay.http}/#room=${key}`
  })

  after(async () => {
    for (const p of people) {
      if (p.logs.some(l => l.includes('pageerror'))) console.log(p.logs.filter(l => l.includes('pageerror')).join('\n'))
    }
    await browser?.close()
    await cleanup()
  })

  it('shows the pre-join screen with the camera preview and the key from the link', async () => {
    const ada = await participant(browser, url)
    people.push(ada)
    await ada.page.getByTestId('local-video').waitFor()
    await expect(ada.page.getByTestId('room-key').inputValue()).to.eventually.equal(key)
    await ada.page.waitForFunction(() => (document.querySelector('[data-testid=local-video]') as HTMLVideoElement).videoWidth > 0, undefined, { timeout: 15_000 })
    await ada.page.screenshot({ path: join(ARTIFACTS, 'prejoin.png') })
  })

  it('three browsers and a terminal peer: every page plays every other browser\'s video and shows the terminal peer', async () => {
    const [ada] = people
    people.push(await participant(browser, url), await participant(browser, url))
    const names = ['Ada', 'Bo', 'Cy']
    await Promise.all(people.map(async (p, i) => { await joinAs(p, names[i]) }))
    for (const p of people) ids.push(await peerIdOf(p.page))
    terminal = startPeer(key, 'Term', [relay.tcp()])
    terminalId = (await terminal.waitFor('ready', e => e.event === 'ready')).peerId
    for (const [i, p] of people.entries()) {
      for (const [j, id] of ids.entries()) {
        if (i === j) continue
        await p.page.locator(`[data-testid=tile][data-peer-id="${id}"]`).waitFor({ timeout: 45_000 })
        await expectPlaying(p.page, id)
        expect(await p.page.locator(`[data-testid=tile][data-peer-id="${id}"]`).getAttribute('data-name')).to.equal(names[j])
      }
      const term = p.page.locator(`[data-testid=tile][data-peer-id="${terminalId}"]`)
      await term.waitFor({ timeout: 45_000 })
      expect(await term.getAttribute('data-name')).to.equal('Term')
      await p.page.waitForFunction((id) => document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`)?.getAttribute('data-state') === 'no-call', terminalId, { timeout: 20_000 })
      expect((await tilePeerIds(p.page)).sort()).to.deep.equal([...ids.filter((_, j) => j !== i), terminalId].sort())
      expect(await p.page.getByTestId('participant').count()).to.equal(4)
    }
    for (const id of ids.slice(1)) await terminal.waitFor('a browser joining', e => e.event === 'peer:join' && e.peerId === id, 30_000)
    await sleep(2_000) // let the badges fill in
    await ada.page.screenshot({ path: join(ARTIFACTS, 'call-three-way.png') })
  })

  it('chat goes both ways between pages and the terminal peer', async () => {
    const [ada, bo, cy] = people
    await say(ada.page, 'hello from Ada\'s browser')
    for (const p of [bo, cy]) expect((await waitForChat(p.page, 'hello from Ada\'s browser')).name).to.equal('Ada')
    expect((await terminal.waitFor('Ada\'s line', e => e.event === 'chat' && e.text === 'hello from Ada\'s browser')).name).to.equal('Ada')
    terminal.send('hello from the terminal')
    for (const p of people) expect((await waitForChat(p.page, 'hello from the terminal')).name).to.equal('Term')
    // exactly once on every page
    await sleep(1_000)
    for (const p of people) expect((await chatTexts(p.page)).filter(m => m.text === 'hello from the terminal')).to.have.lengthOf(1)
  })

  it('a late joiner gets the history', async () => {
    const dee = await participant(browser, url)
    await joinAs(dee, 'Dee')
    const first = await waitForChat(dee.page, 'hello from Ada\'s browser', 30_000)
    const second = await waitForChat(dee.page, 'hello from the terminal', 30_000)
    expect(first.history).to.equal(true)
    expect(second.history).to.equal(true)
    const texts = (await chatTexts(dee.page)).map(m => m.text)
    expect(texts.indexOf('hello from Ada\'s browser')).to.be.below(texts.indexOf('hello from the terminal'))
    await dee.page.getByTestId('leave').click()
    await dee.context.close()
  })

  it('mute and camera off are seen by the others', async () => {
    const [ada, bo] = people
    await ada.page.getByTestId('toggle-mic').click()
    await ada.page.getByTestId('toggle-camera').click()
    const tile = bo.page.locator(`[data-testid=tile][data-peer-id="${ids[0]}"]`)
    await bo.page.waitForFunction((id) => {
      const t = document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`) as HTMLElement | null
      return t?.dataset.mic === 'off' && t?.dataset.camera === 'off'
    }, ids[0], { timeout: 10_000 })
    expect(await tile.locator('.avatar').isVisible()).to.equal(true)
    await ada.page.getByTestId('toggle-mic').click()
    await ada.page.getByTestId('toggle-camera').click()
    await bo.page.waitForFunction((id) => {
      const t = document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`) as HTMLElement | null
      return t?.dataset.mic === 'on' && t?.dataset.camera === 'on'
    }, ids[0], { timeout: 10_000 })
  })

  it('the one who speaks is highlighted for the others, and a muted one never is', async () => {
    const [ada, bo, cy] = people
    // the fake microphone beeps: with only Bo's microphone on, Bo is the only one who can be heard
    for (const p of [ada, cy]) await p.page.getByTestId('toggle-mic').click()
    // the mutes have taken effect once the others see them (a busy page handles a click late)
    for (const [muted, viewer] of [[0, 1], [2, 1], [0, 2], [2, 0]] as const) {
      await people[viewer].page.waitForFunction((id) => (document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`) as HTMLElement | null)?.dataset.mic === 'off', ids[muted], { timeout: 10_000 })
    }
    const speakers = async (p: Participant): Promise<string[]> => p.page.evaluate(() =>
      [...document.querySelectorAll('[data-testid=tile].speaking')].map(t => (t as HTMLElement).dataset.peerId ?? ''))
    try {
      for (const p of [ada, cy]) {
        await p.page.waitForFunction((id) => document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`)?.classList.contains('speaking') === true, ids[1], { timeout: 15_000, polling: 50 })
      }
      // and, once the muted ones' last words are older than the highlight's hold (1.5 s, after a tick of up to
      // 1 s of audio), nobody else is highlighted anywhere for a few seconds
      await sleep(3_000)
      for (let i = 0; i < 20; i++) {
        for (const [k, p] of [ada, bo, cy].entries()) {
          const others = (await speakers(p)).filter(id => id !== ids[1]).map(id => ids.indexOf(id) >= 0 ? ['Ada', 'Bo', 'Cy'][ids.indexOf(id)] : id)
          expect(others, `highlighted on ${['Ada', 'Bo', 'Cy'][k]}'s page besides Bo`).to.deep.equal([])
        }
        await sleep(150)
      }
    } finally {
      for (const p of [ada, cy]) await p.page.getByTestId('toggle-mic').click()
    }
  })

  it('a shared screen reaches the others as a second track', async () => {
    const [ada, bo, cy] = people
    await ada.page.getByTestId('share-screen').click()
    await ada.page.waitForFunction(() => document.querySelector('[data-testid=share-screen]')?.getAttribute('aria-pressed') === 'true', undefined, { timeout: 10_000 })
    for (const p of [bo, cy]) {
      const sel = `[data-testid=tile][data-peer-id="${ids[0]}"] video.screen`
      await p.page.locator(sel).waitFor({ timeout: 20_000 })
      await p.page.waitForFunction((s) => (document.querySelector(s) as HTMLVideoElement)?.videoWidth > 0, sel, { timeout: 20_000 })
      const tracks = await p.page.evaluate((id) => {
        const f = (globalThis as any).freeflow
        const peer = f.room.members().find((m: any) => m.peerId.toString() === id).peerId
        return f.call.peerConnection(peer).getReceivers().filter((r: any) => r.track.kind === 'video' && r.track.readyState === 'live').length
      }, ids[0])
      expect(tracks).to.be.at.least(2)
      await expectPlaying(p.page, ids[0]) // the camera keeps playing beside the screen
    }
    await ada.page.getByTestId('share-screen').click()
    await bo.page.locator(`[data-testid=tile][data-peer-id="${ids[0]}"] video.screen`).waitFor({ state: 'detached', timeout: 15_000 })
  })

  it('after the relay stops, the pages keep video and chat flowing', async () => {
    const [ada, bo, cy] = people
    relay.proc.kill('SIGTERM')
    await relay.proc.exited
    await sleep(3_000)
    for (const [i, p] of people.entries()) {
      for (const [j, id] of ids.entries()) if (i !== j) await expectPlaying(p.page, id, 15_000)
    }
    await say(bo.page, 'the relay is gone and we still talk')
    for (const p of [ada, cy]) await waitForChat(p.page, 'the relay is gone and we still talk', 20_000)
  })

  it('leave removes the tile everywhere within 5 s', async () => {
    const [ada, bo, cy] = people
    await cy.page.getByTestId('leave').click()
    for (const p of [ada, bo]) {
      await p.page.locator(`[data-testid=tile][data-peer-id="${ids[2]}"]`).waitFor({ state: 'detached', timeout: 5_000 })
    }
  })
})

describe('the app on a phone, and when joining goes wrong', function () {
  this.timeout(120_000)
  let relay: RelayProc
  let browser: Browser
  let key: string

  before(async () => {
    relay = await startRelay()
    browser = await launch()
    key = (await run(['room', 'new'])).stdout.trim()
  })

  after(async () => {
    await browser?.close()
    await cleanup()
  })

  it('is usable at phone width: one column of tiles, chat behind a button', async () => {
    const room = (await run(['room', 'new'])).stdout.trim()
    const desk = await participant(browser, `${relay.http}/#room=${room}`)
    const phone = await participant(browser, `${relay.http}/#room=${room}`, { viewport: { width: 390, height: 844 } })
    await joinAs(desk, 'Desk')
    await joinAs(phone, 'Pho')
    const deskId = await peerIdOf(desk.page)
    await phone.page.locator(`[data-testid=tile][data-peer-id="${deskId}"]`).waitFor({ timeout: 30_000 })
    await expectPlaying(phone.page, deskId)
    const boxes = await phone.page.locator('.tile').evaluateAll(els => els.map(e => e.getBoundingClientRect().x))
    expect(boxes).to.have.lengthOf(2)
    expect(new Set(boxes.map(x => Math.round(x))).size, 'tiles are in one column').to.equal(1)
    expect(await phone.page.getByTestId('chat-input').isVisible()).to.equal(false)
    await phone.page.locator('#toggle-side').click()
    await say(phone.page, 'typed on a phone')
    expect((await waitForChat(desk.page, 'typed on a phone')).name).to.equal('Pho')
    await phone.page.locator('#toggle-side').click()
    await phone.page.screenshot({ path: join(ARTIFACTS, 'call-phone.png') })
    await desk.context.close()
    await phone.context.close()
  })

  it('a malformed key is refused on the pre-join screen with a clear sentence', async () => {
    const p = await participant(browser, `${relay.http}/`)
    await p.page.getByTestId('room-key').fill(key.slice(0, 10) + (key[10] === 'q' ? 'r' : 'q') + key.slice(11))
    await p.page.getByTestId('display-name').fill('Typo')
    await p.page.getByTestId('join').click()
    await p.page.locator('#prejoin-status.error').waitFor({ timeout: 5_000 })
    expect(await p.page.locator('#prejoin-status').textContent()).to.match(/typo|checksum/i)
    expect(await p.page.locator('#call').isVisible()).to.equal(false)
    await p.context.close()
  })

  it('a wrong room key joins nobody', async () => {
    const other = (await run(['room', 'new'])).stdout.trim()
    const a = await participant(browser, `${relay.http}/#room=${key}`)
    const b = await participant(browser, `${relay.http}/#room=${other}`)
    await joinAs(a, 'Right')
    await joinAs(b, 'Wrong')
    await say(b.page, 'anyone?')
    await sleep(8_000)
    expect(await a.page.getByTestId('tile').count()).to.equal(0)
    expect(await b.page.getByTestId('tile').count()).to.equal(0)
    expect((await chatTexts(a.page)).map(m => m.text)).to.not.include('anyone?')
    await a.context.close()
    await b.context.close()
  })

  it('a denied camera still lets the person join, chat, and be seen as a tile without video', async () => {
    // this person never grants camera or microphone (and no fake permission prompt answers for them)
    const denied = await browser.newContext()
    const page = await denied.newPage()
    await page.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('Permission denied', 'NotAllowedError') }
    })
    await page.goto(`${relay.http}/#room=${key}`)
    await page.locator('#preview-note', { hasText: 'blocked' }).waitFor({ timeout: 10_000 })
    const ok = await participant(browser, `${relay.http}/#room=${key}`)
    await joinAs(ok, 'Seen')
    await page.getByTestId('display-name').fill('Unseen')
    await page.getByTestId('join').click()
    await page.locator('#call').waitFor({ state: 'visible', timeout: 30_000 })
    const unseenId = await peerIdOf(page)
    const okId = await peerIdOf(ok.page)
    // the person without a camera still sees the other's video
    await page.locator(`[data-testid=tile][data-peer-id="${okId}"]`).waitFor({ timeout: 30_000 })
    await expectPlaying(page, okId)
    // and is a tile (without video) for the other
    const tile = ok.page.locator(`[data-testid=tile][data-peer-id="${unseenId}"]`)
    await tile.waitFor({ timeout: 30_000 })
    await ok.page.waitForFunction((id) => (document.querySelector(`[data-testid=tile][data-peer-id="${id}"]`) as HTMLElement)?.dataset.mic === 'off', unseenId, { timeout: 15_000 })
    expect(await tile.locator('.avatar').isVisible()).to.equal(true)
    await say(page, 'I can only type')
    await waitForChat(ok.page, 'I can only type')
    await denied.close()
  })

  it('no relay reachable is said plainly, and joining is not possible without one', async () => {
    const p = await participant(browser, `${relay.http}/#room=${key}&bootstrap=/ip4/127.0.0.1/tcp/9/ws/p2p/${relay.peerId}`)
    relay.proc.kill('SIGTERM')
    await relay.proc.exited
    await p.page.getByTestId('display-name').fill('Alone')
    await p.page.getByTestId('join').click()
    await p.page.locator('#net-status.error').waitFor({ timeout: 30_000 })
    expect(await p.page.locator('#net-status').textContent()).to.match(/No relay reachable/)
  })
})
