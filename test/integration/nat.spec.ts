/**
 * Calls where people really are: homes behind NAT routers, an IPv4-only and an IPv6-only host, a home whose router
 * drops UDP, an address that changes mid-call. Built from network namespaces and nftables (harness/topology), with
 * one real relay and its coturn on the "public" segment, and a real chromium per host that loads the web app from
 * the relay. Each case first runs a control in the same pages (plain RTCPeerConnections given the relay's STUN/TURN,
 * which shows the network allows a call), then a FreeFlow call: video both ways, and the path each side took.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { joinAs, pagePeerId, participant, waitForVideo } from '../../harness/browser.ts'
import { clock, tileSelector } from '../../harness/pages.ts'
import { cleanup, newRoomKey, sleep } from '../../harness/procs.ts'
import { canMakeTopology, Topology } from '../../harness/topology/index.ts'
import { callDiagnosis, callPath, controlCall, controlGathering, describePath, endControl } from '../../harness/topology/path.ts'
import type { Participant } from '../../harness/browser.ts'
import type { Home, NatMode, NetHost } from '../../harness/topology/index.ts'
import type { Path } from '../../harness/topology/path.ts'

const started = Date.now()

/** A line under the test's title, with the seconds since the file started (where the time goes). */
function report (line: string): void {
  process.stdout.write(`      [${((Date.now() - started) / 1000).toFixed(1)} s, ${clock()}] ${line}\n`)
}

interface Pair { x: Participant, y: Participant, xId: string, yId: string }

describe('calls across NAT, IPv4/IPv6 and blocked UDP', function () {
  this.timeout(150_000)
  let topo: Topology
  let a: Home
  let b: Home
  let v4: NetHost
  let v6: NetHost
  const open: Participant[] = []

  before(async () => {
    // a machine that cannot make the test networks fails here, with the reason: every spec runs
    const why = canMakeTopology()
    if (why != null) { throw new Error(`cannot build the NAT test networks: ${why}`) }
    topo = new Topology()
    a = topo.net.addHome('port-preserving')
    b = topo.net.addHome('port-preserving')
    v4 = topo.net.ipv4Host()
    v6 = topo.net.ipv6Host()
    await topo.startRelay()
  })

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      // what the pages logged last (with FREEFLOW_PAGE_DEBUG='freeflow:*' their debug logs too)
      for (const p of open) { report(`page:\n${p.logs.slice(-40).join('\n')}`) }
    }
    // FREEFLOW_TEST_LOGS=<folder>: every page's whole log, a file per page and test
    const folder = process.env.FREEFLOW_TEST_LOGS
    if (folder != null && folder !== '') {
      const test = (this.currentTest?.title ?? 'test').replace(/[^a-z0-9]+/gi, '-').slice(0, 60)
      open.forEach((p, i) => { writeFileSync(join(folder, `${test}.${i}.log`), p.logs.join('\n') + '\n') })
    }
    await Promise.all(open.splice(0).map(async p => p.context.close().catch(() => {})))
  })

  after(async () => {
    await topo?.close()
    await cleanup()
  })

  function modes (ma: NatMode, mb: NatMode): void {
    topo.net.setMode(a, ma)
    topo.net.setMode(b, mb)
  }

  /** A page in each host, on the same fresh room's link; first a control call between them. */
  async function pages (hx: NetHost, hy: NetHost, expectControl: (px?: Path, py?: Path) => void): Promise<Pair> {
    const room = await newRoomKey()
    const x = await participant(await topo.browser(hx), topo.url(hx, room))
    open.push(x)
    const y = await participant(await topo.browser(hy), topo.url(hy, room))
    open.push(y)
    report('pages loaded')
    const server = await topo.credentials()
    const control = await controlCall(x.page, y.page, { iceServers: [server] })
    report(`control ${hx.label}: ${describePath(control.a)}`)
    report(`control ${hy.label}: ${describePath(control.b)}`)
    // gathering goes on after the call connected: what it met so far
    report(`control gathering ${hx.label}: ${(await controlGathering(x.page)).join('; ') || 'no error'}`)
    report(`control gathering ${hy.label}: ${(await controlGathering(y.page)).join('; ') || 'no error'}`)
    await endControl(x.page, y.page)
    expectControl(control.a, control.b)
    return { x, y, xId: '', yId: '' }
  }

  /** Both join; each plays the other's video within 30 s. */
  async function call (pair: Pair): Promise<void> {
    await Promise.all([joinAs(pair.x, 'Xena'), joinAs(pair.y, 'Yann')])
    pair.xId = await pagePeerId(pair.x.page)
    pair.yId = await pagePeerId(pair.y.page)
    report('joined')
    await bothPlay(pair)
    report('video both ways')
  }

  /** Each page plays the other's video within 30 s; else the error says what each call does. */
  async function bothPlay (pair: Pair): Promise<void> {
    try {
      await Promise.all([waitForVideo(pair.x.page, pair.yId, 30_000), waitForVideo(pair.y.page, pair.xId, 30_000)])
    } catch (err: any) {
      const x = await callDiagnosis(pair.x.page, pair.yId).catch((e: any) => String(e.message))
      const y = await callDiagnosis(pair.y.page, pair.xId).catch((e: any) => String(e.message))
      throw new Error(`${String(err.message)}\nfirst page: ${x}\nsecond page: ${y}`)
    }
  }

  /** The path each side uses, once `ok` holds for both (or as they are after `timeoutMs`). */
  async function paths (pair: Pair, ok: (px?: Path, py?: Path) => boolean, timeoutMs = 10_000): Promise<[Path | undefined, Path | undefined]> {
    const deadline = Date.now() + timeoutMs
    let px: Path | undefined
    let py: Path | undefined
    do {
      px = await callPath(pair.x.page, pair.yId)
      py = await callPath(pair.y.page, pair.xId)
      if (ok(px, py)) { break }
      await sleep(500)
    } while (Date.now() < deadline)
    return [px, py]
  }

  const direct = (p?: Path): boolean => p != null && p.local.type !== 'relay' && p.remote.type !== 'relay'
  const relayed = (p?: Path): boolean => p?.local.type === 'relay'
  const overTcp = (p?: Path): boolean => p?.local.type === 'relay' && p.local.relayProtocol === 'tcp'

  it('two homes behind port-preserving NAT: video both ways, directly between the routers\' public addresses', async () => {
    modes('port-preserving', 'port-preserving')
    const expectDirect = (px?: Path, py?: Path): void => {
      expect(direct(px) && direct(py), 'a direct path').to.equal(true)
      expect(px?.remote.address).to.equal(b.publicAddr)
      expect(py?.remote.address).to.equal(a.publicAddr)
    }
    const pair = await pages(a.host, b.host, expectDirect)
    await call(pair)
    const [px, py] = await paths(pair, (px, py) => direct(px) && direct(py))
    report(`home1: ${describePath(px)}`)
    report(`home2: ${describePath(py)}`)
    expectDirect(px, py)
  })

  it('four people, two in each of two NAT homes, joining at once: every pair\'s video flows both ways', async function () {
    this.timeout(240_000)
    modes('port-preserving', 'port-preserving')
    const room = await newRoomKey()
    const names = ['Ann', 'Abe', 'Bea', 'Ben']
    const hosts = [a.host, a.host, b.host, b.host]
    const people: Participant[] = []
    for (const h of hosts) {
      const p = await participant(await topo.browser(h), topo.url(h, room))
      open.push(p)
      people.push(p)
    }
    await Promise.all(people.map(async (p, i) => { await joinAs(p, names[i]) }))
    const ids = await Promise.all(people.map(async p => pagePeerId(p.page)))
    report('joined')
    // every receiver waits for all its senders at once; a pair without video within 60 s fails, with both sides' view
    await Promise.all(people.map(async (p, i) => {
      for (const [j, id] of ids.entries()) {
        if (i === j) { continue }
        await waitForVideo(p.page, id, 60_000).catch(async (err: Error) => {
          const mine = await callDiagnosis(p.page, id).catch((e: any) => String(e.message))
          const theirs = await callDiagnosis(people[j].page, ids[i]).catch((e: any) => String(e.message))
          throw new Error(`${names[i]} never decoded ${names[j]}'s video: ${err.message}\n${names[i]}: ${mine}\n${names[j]}: ${theirs}`)
        })
      }
    }))
    report('every pair\'s video both ways')
  })

  it('two homes behind NAT with a random port per flow: video both ways, through TURN', async () => {
    modes('random-port', 'random-port')
    const expectRelay = (px?: Path, py?: Path): void => { expect(relayed(px) || relayed(py), 'a relay candidate on one side at least').to.equal(true) }
    const pair = await pages(a.host, b.host, expectRelay)
    await call(pair)
    const [px, py] = await paths(pair, (px, py) => relayed(px) || relayed(py))
    report(`home1: ${describePath(px)}`)
    report(`home2: ${describePath(py)}`)
    expectRelay(px, py)
  })

  it('a home whose router drops all UDP: video both ways, that home through TURN over TCP', async () => {
    modes('udp-blocked', 'port-preserving')
    const expectTcp = (px?: Path): void => { expect(overTcp(px), 'home1 reaches TURN over TCP').to.equal(true) }
    const pair = await pages(a.host, b.host, expectTcp)
    await call(pair)
    const [px, py] = await paths(pair, (px) => overTcp(px))
    report(`home1 (no UDP): ${describePath(px)}`)
    report(`home2: ${describePath(py)}`)
    expectTcp(px)
  })

  it('an IPv4-only host and an IPv6-only host: video both ways, the IPv6 side through an IPv4 TURN allocation', async () => {
    const expectGateway = (p4?: Path, p6?: Path): void => {
      expect(p6?.local.type, 'the IPv6-only host relays').to.equal('relay')
      expect(p6?.local.family, 'on an IPv4 relayed address').to.equal(4)
      expect(p4?.local.family).to.equal(4)
    }
    try {
      const pair = await pages(v4, v6, expectGateway)
      await call(pair)
      const [p4, p6] = await paths(pair, (p4, p6) => relayed(p6) && p4 != null)
      report(`v4: ${describePath(p4)}`)
      report(`v6: ${describePath(p6)}`)
      expectGateway(p4, p6)
    } finally {
      await Promise.all(open.splice(0).map(async p => p.context.close().catch(() => {})))
      await topo.closeBrowser(v4)
      await topo.closeBrowser(v6)
    }
  })

  it('a home whose public address is replaced mid-call: ICE restarts on the same connection, video resumes both ways on the new address, nobody leaves', async () => {
    modes('port-preserving', 'port-preserving')
    const pair = await pages(a.host, b.host, () => {})
    await call(pair)
    const [before] = await paths(pair, (px, py) => px != null && py != null)
    report(`home1 before: ${describePath(before)}`)
    await Promise.all([watch(pair.x.page, pair.yId), watch(pair.y.page, pair.xId)])
    const old = a.publicAddr
    const renumbered = topo.net.replacePublicAddress(a)
    const changed = Date.now()
    report(`home1's router: ${old} replaced by ${renumbered}`)
    // the old path is gone at once (the router forgot its mappings): the call must find a new one, and play on it
    const [px, py] = await paths(pair, (px, py) => px != null && py != null && py.remote.address !== old, 30_000)
    report(`home1 after: ${describePath(px)}`)
    report(`home2 after: ${describePath(py)}`)
    expect(py?.remote.address, 'home2 no longer sends to the old address').to.be.a('string').and.not.equal(old)
    await bothPlay(pair)
    report(`video both ways again ${Date.now() - changed} ms after the change`)
    const seen = await Promise.all([watched(pair.x.page), watched(pair.y.page)])
    for (const [who, w] of [['home1', seen[0]], ['home2', seen[1]]] as const) {
      report(`${who}: tile states ${w.states.join(' -> ')}; same connection ${String(w.samePc)}, same tile ${String(w.sameTile)}, left ${w.left}`)
    }
    // recovered by an ICE restart on the call's own connection: not by timing the member out and calling again
    for (const w of seen) {
      expect(w, 'the call and the tile survive the change').to.include({ samePc: true, sameTile: true, left: 0 })
      expect(w.states, 'the tile said "reconnecting" meanwhile').to.include('reconnecting')
    }
  })
})

/**
 * From now on, remember in the page what must survive a network change: its call's RTCPeerConnection with `peerId`,
 * that person's tile element, each state the tile shows, and whether the member left the room.
 */
async function watch (page: Participant['page'], peerId: string): Promise<void> {
  await page.evaluate(({ id, tile }) => {
    const f = (globalThis as any).freeflow
    const member = f.room.members().find((m: any) => m.peerId.toString() === id)
    const w = { pc: f.call.peerConnection(member.peerId), tile: document.querySelector(tile), states: [] as string[], left: 0, id, selector: tile }
    let present = true
    const look = (): void => {
      const state = (document.querySelector(tile) as HTMLElement | null)?.dataset.state ?? 'no tile'
      if (w.states.at(-1) !== state) { w.states.push(state) }
      const now = f.room?.members().some((m: any) => m.peerId.toString() === id) === true
      if (present && !now) { w.left++ }
      present = now
    }
    look()
    setInterval(look, 100);
    (globalThis as any).watched = w
  }, { id: peerId, tile: tileSelector(peerId) })
}

/** What `watch` saw: the states the tile showed, whether the connection and the tile are the ones watched. */
async function watched (page: Participant['page']): Promise<{ states: string[], samePc: boolean, sameTile: boolean, left: number }> {
  return page.evaluate(() => {
    const w = (globalThis as any).watched
    const f = (globalThis as any).freeflow
    const member = f.room.members().find((m: any) => m.peerId.toString() === w.id)
    const pc = member != null ? f.call.peerConnection(member.peerId) : undefined
    return { states: w.states, samePc: pc === w.pc, sameTile: document.querySelector(w.selector) === w.tile, left: w.left }
  })
}
