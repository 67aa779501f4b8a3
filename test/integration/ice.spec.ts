/* eslint-disable no-console -- the spec prints the paths it saw, for the log */
/**
 * The relays' STUN/TURN in real calls: a relay with coturn (`startRelay`: a free port, private peers allowed), a real
 * Chromium page and a `freeflow record` process on loopback. What each side's RTCPeerConnection gathered and chose is
 * read from the page's stats (`freeflow.call.peerConnection`): its selected pair names both ends, its remote
 * candidates are everything the recorder offered, and its local ones everything the recorder could learn of the page.
 * (werift, the recorder's WebRTC, reports no candidate pairs once ICE has completed, so the recorder reports none.)
 */
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { joinAs, launch, participant } from '../../harness/browser.ts'
import { cleanup, Proc, run, sleep, startRelay, tempDir } from '../../harness/procs.ts'
import type { Participant } from '../../harness/browser.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { Browser, Page } from 'playwright-core'

/** What a page's call connection with one member has gathered, chosen and sent. */
interface PageIce {
  exists: boolean
  state?: string
  localTypes: string[]
  remoteTypes: string[]
  selected?: { local: string, remote: string }
  /** Candidates the page has signalled: its local description's `a=candidate` lines' types. */
  sdpTypes: string[]
  usernames: string[]
  policy?: string
  bytesSent: number
}

async function pageIce (page: Page, peerId: string): Promise<PageIce> {
  return page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    const out: any = { exists: pc != null, localTypes: [], remoteTypes: [], sdpTypes: [], usernames: [], bytesSent: 0 }
    if (pc == null) { return out }
    out.state = pc.connectionState
    const config = pc.getConfiguration()
    out.policy = config.iceTransportPolicy
    out.usernames = (config.iceServers ?? []).flatMap((s: RTCIceServer) => s.username != null ? [s.username] : [])
    const stats = await pc.getStats()
    const local = new Set<string>()
    const remote = new Set<string>()
    stats.forEach((s: any) => {
      if (s.type === 'local-candidate') { local.add(s.candidateType) }
      if (s.type === 'remote-candidate') { remote.add(s.candidateType) }
      if (s.type === 'outbound-rtp') { out.bytesSent += s.bytesSent ?? 0 }
      if (s.type === 'transport' && s.selectedCandidatePairId != null) {
        const pair = stats.get(s.selectedCandidatePairId)
        if (pair != null) { out.selected = { local: stats.get(pair.localCandidateId)?.candidateType, remote: stats.get(pair.remoteCandidateId)?.candidateType } }
      }
    })
    out.localTypes = [...local].sort()
    out.remoteTypes = [...remote].sort()
    out.sdpTypes = [...new Set([...(pc.localDescription?.sdp ?? '').matchAll(/^a=candidate:.* typ (\w+)/gm)].map(m => m[1]))].sort()
    return out
  }, peerId)
}

async function until<T> (what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = await probe()
  while (!ok(last)) {
    if (Date.now() > deadline) { throw new Error(`not within ${timeoutMs} ms: ${what}; last seen ${JSON.stringify(last)}`) }
    await sleep(500)
    last = await probe()
  }
  return last
}

describe('calls use the relays\' STUN/TURN', function () {
  this.timeout(240_000)
  let relay: RelayProc
  let browser: Browser
  /** A fresh room per test: nobody of an earlier test lingers in it. */
  let key: string
  const procs: Proc[] = []
  const people: Participant[] = []

  /** A `freeflow record` in this test's room; with --relay-media-only it listens on nothing of its own (the default). */
  function recorder (options: { hidden?: boolean, via?: RelayProc } = {}): Proc {
    const dir = tempDir('freeflow-ice-rec-')
    const listen = options.hidden === true ? ['--relay-media-only'] : ['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/p2p-circuit', '--listen', '/webrtc']
    const rec = new Proc('recorder', ['record', key, '--json', '--name', 'Rec', '--bootstrap', (options.via ?? relay).tcp(), '--out', dir,
      '--data-dir', join(dir, '.identity'), ...listen])
    procs.push(rec)
    return rec
  }

  /** A person's page (a fresh profile: nothing remembered), in this test's room, through `via`'s web server. */
  async function person (via: RelayProc = relay): Promise<Participant> {
    const p = await participant(browser, `${via.http ?? ''}/#room=${key}`)
    people.push(p)
    return p
  }

  before(async () => {
    // credentials good for 60 s (the shortest the command takes): renewed 45 s after they are given
    relay = await startRelay({ args: ['--turn-port', '0', '--turn-allow-private', '--turn-credential-ttl', '60'] })
    browser = await launch()
  })

  beforeEach(async () => {
    key = (await run(['room', 'new'])).stdout.trim()
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of procs) { console.log(`      ${p.label}: ${JSON.stringify(p.events.slice(-15))} ${p.stderr.slice(-1000)}`) }
      for (const p of people) { console.log(`      page: ${p.logs.slice(-15).join('\n')}`) }
    }
    for (const p of procs.splice(0)) {
      p.kill('SIGINT')
      await p.exited
    }
    for (const p of people.splice(0)) { await p.context.close() }
  })

  after(async () => {
    await browser?.close()
    await cleanup()
  })

  it('a call gathers a relay candidate once the page holds credentials, and a renewal reaches the live connection while media flows', async () => {
    const ada = await person()
    await joinAs(ada, 'Ada')
    // the page holds the relay's credentials before anyone calls it (a connection made before they arrive takes
    // them at its next ICE restart, not at once)
    await until('TURN credentials on the page', async () => ada.page.evaluate(() => (globalThis as any).freeflow?.ice?.canRelay() === true), ok => ok, 30_000)
    const rec = recorder()
    const recId: string = (await rec.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    await rec.waitFor('Ada\'s video recorded', e => e.event === 'track:start' && e.kind === 'camera', 60_000)
    // the relay's TURN server gave the page's connection a relayed address: its servers and credentials reached it
    const seen = await until('a relay candidate on the page', async () => pageIce(ada.page, recId), s => s.localTypes.includes('relay'), 20_000)
    expect(seen.sdpTypes, 'the page signalled its relay candidate').to.include('relay')
    expect(seen.usernames, 'one relay\'s credential').to.have.lengthOf(1)
    expect(seen.policy).to.equal('all')
    console.log(`      the page gathered ${seen.localTypes.join(', ')}`)

    // renewal: the live connection is given the new credential (setConfiguration), and media goes on
    const renewed = await until('the renewed credential on the live connection', async () => pageIce(ada.page, recId), s => s.usernames.length > 0 && s.usernames[0] !== seen.usernames[0], 75_000)
    const before = renewed.bytesSent
    await sleep(3_000)
    const after = await pageIce(ada.page, recId)
    expect(after.state).to.equal('connected')
    expect(after.bytesSent, 'media goes on after the renewal').to.be.greaterThan(before)
    expect(rec.of('track:end'), 'no recorded track ended').to.deep.equal([])
  })

  it('a recorder with --relay-media-only: media flows, and both ends\' selected candidate pair has a relay candidate', async () => {
    const ada = await person()
    await joinAs(ada, 'Ada')
    const rec = recorder({ hidden: true })
    const ready = await rec.waitFor('ready', e => e.event === 'ready', 30_000)
    const recId: string = ready.peerId
    await rec.waitFor('Ada\'s video recorded', e => e.event === 'track:start' && e.kind === 'camera', 60_000)
    const seen = await until('a selected pair on the page', async () => pageIce(ada.page, recId), s => s.selected != null, 20_000)
    console.log(`      page's pair: ${String(seen.selected?.local)} -> ${String(seen.selected?.remote)}; the recorder offered ${seen.remoteTypes.join(', ')}`)
    // the pair both ends use: the recorder's end of it is its TURN allocation
    expect(seen.selected?.remote, 'the page reaches the recorder at its relayed address').to.equal('relay')
    expect(seen.remoteTypes, 'the recorder offered no address of its own').to.deep.equal(['relay'])
    expect(seen.state).to.equal('connected')
  })

  it('hide my address in the browser: the page\'s call uses relay candidates only, and the other member never sees the page\'s address', async () => {
    const bo = await person()
    await bo.page.getByTestId('hide-address').check()
    expect(await bo.page.locator('#hide-address-note').textContent()).to.match(/Others won't see your IP address/)
    await joinAs(bo, 'Bo')
    const rec = recorder()
    const recId: string = (await rec.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    await rec.waitFor('Bo\'s video recorded', e => e.event === 'track:start' && e.kind === 'camera', 60_000)
    const seen = await until('a selected pair on the page', async () => pageIce(bo.page, recId), s => s.selected != null, 20_000)
    console.log(`      page gathered ${seen.localTypes.join(', ')}, signalled ${seen.sdpTypes.join(', ')}; pair ${String(seen.selected?.local)} -> ${String(seen.selected?.remote)}`)
    expect(seen.policy).to.equal('relay')
    expect(seen.localTypes, 'the page gathered').to.deep.equal(['relay'])
    expect(seen.sdpTypes, 'the page signalled').to.deep.equal(['relay'])
    expect(seen.selected?.local).to.equal('relay')
    // the other member learns the page's candidates only from what the page signalled: the TURN server's, every one
    // remembered for the next visit
    expect(await bo.page.evaluate(() => localStorage.getItem('freeflow:hide-address'))).to.equal('true')
  })

  it('hide my address with no TURN server: the call waits for one (no connection is made) and the tile says so', async () => {
    const plain = await startRelay({ args: ['--no-turn'] })
    const cy = await person(plain)
    await cy.page.getByTestId('hide-address').check()
    await joinAs(cy, 'Cy')
    const rec = recorder({ via: plain })
    const recId: string = (await rec.waitFor('ready', e => e.event === 'ready', 30_000)).peerId
    const tile = cy.page.locator(`[data-testid=tile][data-peer-id="${recId}"]`)
    await tile.and(cy.page.locator('[data-state="waiting-relay"]')).waitFor({ timeout: 45_000 })
    await sleep(3_000)
    const seen = await pageIce(cy.page, recId)
    expect(seen.exists, 'no RTCPeerConnection with the recorder').to.equal(false)
    expect(rec.of('track:start')).to.deep.equal([])
    expect(await tile.getAttribute('data-state')).to.equal('waiting-relay')
  })
})
