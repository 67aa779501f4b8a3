/**
 * What members write, as the others are shown it (threat model: "names and text"). A member can put anything in its
 * name and its chat: escape sequences that erase or rewrite a terminal's lines (a forged "started RECORDING" line, or
 * the real one erased), bidirectional and invisible characters, line breaks, and, with a modified client, another
 * member's name in a chat message's own name field. Real `freeflow join` processes and a relay; the one that misuses
 * the chat's name field is a libp2p node in this process, which seals and publishes such a message itself. Then two
 * members with one name, in the web app: three Chromium pages on a relay of their own.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { joinAs, launch, pagePeerId } from '../../harness/browser.ts'
import { cleanup, run, startPeer, startRelay } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { sealEnvelope } from '../../protocols/room/envelope.ts'
import { deriveRoomKeys } from '../../protocols/room-key/index.ts'
import type { Participant } from '../../harness/browser.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { Browser, Page } from 'playwright-core'

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/

/** The lines a terminal member printed, as a person reads them. */
function lines (p: Proc): string[] {
  return p.events.filter(e => e.event === 'non-json').map(e => String(e.line))
}

describe('what members write, as the others are shown it', function () {
  this.timeout(90_000)
  let relay: RelayProc
  let key: string
  let watcher: Proc
  let hostile: PeerNode | undefined

  before(async () => {
    relay = await startRelay({ http: false })
    key = (await run(['room', 'new'])).stdout.trim()
    watcher = startPeer(key, 'Wat', [relay.tcp()], { human: true })
    await watcher.waitFor('the watcher ready', e => e.event === 'non-json' && String(e.line).startsWith('you are Wat'), 30_000)
  })

  after(async () => {
    await hostile?.stop()
    await cleanup()
  })

  it('escape sequences, control, bidirectional and invisible characters in a name or a chat line never reach a terminal', async () => {
    const eve = startPeer(key, 'Eve\u001b[2K\r* Bob started RECORDING this room\u202E', [relay.tcp()])
    await watcher.waitFor('Eve joining', e => e.event === 'non-json' && String(e.line).includes(' joined'), 30_000)
    eve.send('hi \u001b]0;owned\u0007there \u001b[31mred\u001b[0m \u202Egnirts\u2066 zero\u200Bwidth')
    const chat = await watcher.waitFor('Eve\'s line', e => e.event === 'non-json' && String(e.line).includes(': hi '), 30_000)
    // the escapes' printable rest stays, harmless: what the member typed is still told
    expect(String(chat.line)).to.match(/\] Eve \[2K \* Bob started RECORDING this room: hi \]0;ownedthere \[31mred\[0m gnirts zerowidth$/)
    for (const line of lines(watcher)) {
      expect(line, 'a line the watcher printed').to.not.match(UNSAFE)
      expect(line.startsWith('* Bob'), 'no line forged as another member\'s').to.equal(false)
    }
    eve.kill()
  })

  it('a chat message\'s name field renames nobody, and a line break in a message starts no line of its own', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const node = hostile = await createPeer({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [relay.tcp()] })
    await node.services.room.join(key, { name: 'Mal' })
    await watcher.waitFor('Mal joining', e => e.event === 'non-json' && String(e.line).startsWith('* Mal joined'), 30_000)
    // a modified client: its presence says Mal, its chat message's own name field says Wat
    const keys = await deriveRoomKeys(key)
    const sealed = await sealEnvelope(keys, node.peerId, privateKey, {
      ts: BigInt(Date.now()),
      chat: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'Wat', text: 'line one\n* Bob started RECORDING this room' }
    })
    await node.services.pubsub.publish(keys.topic, sealed)
    const chat = await watcher.waitFor('Mal\'s line', e => e.event === 'non-json' && String(e.line).includes('line one'), 30_000)
    expect(String(chat.line)).to.match(/\] Mal: line one ↵ \* Bob started RECORDING this room$/)
    expect(lines(watcher).some(l => l.startsWith('* Bob')), 'no line of its own').to.equal(false)
    expect(lines(watcher).some(l => l.includes('] Wat')), 'nobody renamed').to.equal(false)
  })

  it('two members with one name are told apart by the end of their PeerIds', async () => {
    const [a, b] = [startPeer(key, 'Sam', [relay.tcp()]), startPeer(key, 'Sam', [relay.tcp()])]
    const [ra, rb] = await Promise.all([a.waitFor('ready', e => e.event === 'ready'), b.waitFor('ready', e => e.event === 'ready')])
    await watcher.waitFor('both Sams', () => lines(watcher).filter(l => /^\* Sam( \(…\w{6}\))? joined/.test(l)).length === 2, 30_000)
    a.send('from the first Sam')
    b.send('from the second Sam')
    const first = await watcher.waitFor('the first Sam\'s line', e => e.event === 'non-json' && String(e.line).endsWith('from the first Sam'), 30_000)
    const second = await watcher.waitFor('the second Sam\'s line', e => e.event === 'non-json' && String(e.line).endsWith('from the second Sam'), 30_000)
    expect(String(first.line)).to.include(`Sam (…${String(ra.peerId).slice(-6)}): `)
    expect(String(second.line)).to.include(`Sam (…${String(rb.peerId).slice(-6)}): `)
  })
})

/**
 * A person whose page never gets a camera or microphone (getUserMedia refuses): names need no media, and three pages
 * that each send video to two others are more than a two-core machine carries beside the rest of the suite.
 */
async function chatOnly (browser: Browser, url: string): Promise<Participant> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('Permission denied', 'NotAllowedError') }
  })
  await page.goto(url)
  return { context, page, logs: [] }
}

/** How a page shows the member `id`: the name on its tile and in its row of the participant list. */
async function shownAs (page: Page, id: string): Promise<{ tile?: string, row?: string }> {
  return page.evaluate((id) => ({
    tile: document.querySelector(`[data-testid=tile][data-peer-id="${id}"] .name`)?.textContent ?? undefined,
    row: document.querySelector(`[data-testid=participant][data-peer-id="${id}"] span`)?.textContent ?? undefined
  }), id)
}

/** Wait until a page shows the member `id` as `label` on its tile and in the participant list. */
async function waitShownAs (page: Page, id: string, label: string): Promise<void> {
  await page.waitForFunction(({ id, label }) =>
    document.querySelector(`[data-testid=tile][data-peer-id="${id}"] .name`)?.textContent === label &&
    document.querySelector(`[data-testid=participant][data-peer-id="${id}"] span`)?.textContent === label,
  { id, label }, { timeout: 30_000 }).catch(async (err: Error) => {
    throw new Error(`${id} not shown as ${label}: ${JSON.stringify(await shownAs(page, id))} (${err.message})`)
  })
}

/** Who a chat line says wrote it (the name before " · 12:34"), for the line whose text is `text`. */
async function chatAuthor (page: Page, text: string): Promise<string> {
  const line = page.locator('[data-testid=chat-message]', { has: page.locator('.text', { hasText: text }) }).first()
  await line.waitFor({ timeout: 30_000 })
  return (await line.locator('.who').textContent() ?? '').replace(/ · [^·]*$/, '')
}

async function say (page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text)
  await page.getByTestId('chat-send').click()
}

describe('members with one name, as the web app shows them', function () {
  this.timeout(120_000)
  let relay: RelayProc
  let browser: Browser
  let url: string

  before(async () => {
    relay = await startRelay()
    browser = await launch()
    url = `${relay.http}/#room=${(await run(['room', 'new'])).stdout.trim()}`
  })

  after(async () => {
    await browser?.close()
    await cleanup()
  })

  it('two pages named Sam are told apart by the end of their PeerIds on tiles, in the list and in chat; one alone is shown plainly', async () => {
    const wat = await chatOnly(browser, url)
    await joinAs(wat, 'Wat')
    const [first, second] = [await chatOnly(browser, url), await chatOnly(browser, url)]
    await joinAs(first, 'Sam')
    await joinAs(second, 'Sam')
    const [id1, id2] = [await pagePeerId(first.page), await pagePeerId(second.page)]
    const [sam1, sam2] = [`Sam (…${id1.slice(-6)})`, `Sam (…${id2.slice(-6)})`]
    expect(sam1, 'the two PeerIds end differently').to.not.equal(sam2)
    // a third page that sees both, and each Sam's own page, where this person is the other Sam
    await waitShownAs(wat.page, id1, sam1)
    await waitShownAs(wat.page, id2, sam2)
    await waitShownAs(first.page, id2, sam2)
    await waitShownAs(second.page, id1, sam1)
    await say(first.page, 'from the first Sam')
    await say(second.page, 'from the second Sam')
    const lines = [await chatAuthor(wat.page, 'from the first Sam'), await chatAuthor(wat.page, 'from the second Sam')]
    expect(lines).to.deep.equal([sam1, sam2])

    // the second Sam leaves: the first is the only Sam, shown plainly; what was said stays with who said it
    await second.page.getByTestId('leave').click()
    await wat.page.locator(`[data-testid=tile][data-peer-id="${id2}"]`).waitFor({ state: 'detached', timeout: 30_000 })
    await waitShownAs(wat.page, id1, 'Sam')
    await say(first.page, 'the only Sam now')
    const alone = await chatAuthor(wat.page, 'the only Sam now')
    expect(alone).to.equal('Sam')
    expect(await chatAuthor(wat.page, 'from the first Sam')).to.equal(sam1)
    // eslint-disable-next-line no-console
    console.log(`      names: Wat shows two Sams as "${sam1}" and "${sam2}" (tiles, list, chat); after one left, "${(await shownAs(wat.page, id1)).tile ?? ''}" and a new line by "${alone}"`)
    for (const p of [wat, first, second]) { await p.context.close() }
  })
})
