/**
 * The measurements of `bench:connect` (bench/connect.ts), on a harness/topology world: joins to first remote frame
 * per topology, recovery after a home's address changes, and coturn's cost per relayed 720p stream.
 */
import { joinAs, pagePeerId, participant, videoProgress } from '../harness/browser.ts'
import { newRoomKey, sleep } from '../harness/procs.ts'
import { callPath, controlCall, describePath, endControl } from '../harness/topology/path.ts'
import { cpuMsOf, rssMiB } from './cpu.ts'
import { log } from './harness.ts'
import type { Participant } from '../harness/browser.ts'
import type { Home, NatMode, NetHost, Topology } from '../harness/topology/index.ts'
import type { Path } from '../harness/topology/path.ts'
import type { Page } from 'playwright-core'

/** A join that shows no remote frame within this long failed, ms. */
export const FIRST_FRAME_DEADLINE = 30_000
/** Recovery that takes longer than this failed, ms. */
export const RECOVERY_DEADLINE = 30_000

export interface Shape {
  name: string
  /** The two hosts, with their homes' NAT set as the shape needs. */
  hosts(topo: Topology): [NetHost, NetHost]
}

/** Home routers of the two homes set to these modes. */
function homes (ma: NatMode, mb: NatMode): (topo: Topology) => [NetHost, NetHost] {
  return (topo) => {
    const [a, b] = topo.net.homes
    topo.net.setMode(a, ma)
    topo.net.setMode(b, mb)
    return [a.host, b.host]
  }
}

export const SHAPES: Record<string, Shape> = {
  nat: { name: 'two homes, port-preserving NAT', hosts: homes('port-preserving', 'port-preserving') },
  random: { name: 'two homes, random-port NAT', hosts: homes('random-port', 'random-port') },
  udp: { name: 'home without UDP + NAT home', hosts: homes('udp-blocked', 'port-preserving') },
  v4v6: { name: 'IPv4-only + IPv6-only host', hosts: (topo) => [topo.net.ipv4Host(), topo.net.ipv6Host()] }
}

export interface JoinSample {
  /** Second person's click on Join -> first remote frame on both pages, ms; null when it failed. */
  bothMs: number | null
  /** ... -> first frame of the first person's video on the joiner's page, ms. */
  joinerMs: number | null
  /** The joiner's path, for the table. */
  path?: string
  error?: string
}

/** Resolve with the time at which the tile of `peerId` first decoded a frame (the caller's clock). */
async function firstFrame (page: Page, peerId: string, timeoutMs: number): Promise<number> {
  await page.waitForFunction((id) => {
    const v = document.querySelector(`[data-testid=tile][data-peer-id="${id}"] video.camera`) as HTMLVideoElement | null
    return (v?.getVideoPlaybackQuality?.().totalVideoFrames ?? 0) > 0 && (v?.videoWidth ?? 0) > 0
  }, peerId, { polling: 50, timeout: timeoutMs })
  return Date.now()
}

/** Short path label: `host>srflx udp v4`, `relay(tcp)>srflx udp v4`. */
export function pathLabel (p?: Path): string {
  if (p == null) { return 'none' }
  const local = p.local.type === 'relay' ? `relay(${p.local.relayProtocol ?? '?'})` : p.local.type
  const remote = p.remote.type === 'relay' ? 'relay' : p.remote.type
  return `${local}>${remote} v${p.local.family}`
}

/**
 * `joins` times: a fresh room, the first person joins and is settled in the call, then the second clicks Join.
 * Each person has a fresh browser context (own identity) in their host's chromium.
 */
export async function joinRuns (topo: Topology, shape: Shape, joins: number): Promise<JoinSample[]> {
  const [hx, hy] = shape.hosts(topo)
  const out: JoinSample[] = []
  for (let i = 0; i < joins; i++) {
    const people: Participant[] = []
    try {
      const room = await newRoomKey()
      const x = await participant(await topo.browser(hx), topo.url(hx, room))
      people.push(x)
      const y = await participant(await topo.browser(hy), topo.url(hy, room))
      people.push(y)
      await joinAs(x, 'First')
      const xId = await pagePeerId(x.page)
      await y.page.getByTestId('display-name').fill('Second')
      const clicked = Date.now()
      await y.page.getByTestId('join').click()
      await y.page.locator('#call').waitFor({ state: 'visible', timeout: FIRST_FRAME_DEADLINE })
      const yId = await pagePeerId(y.page)
      const left = Math.max(1, FIRST_FRAME_DEADLINE - (Date.now() - clicked))
      const [atY, atX] = await Promise.all([firstFrame(y.page, xId, left), firstFrame(x.page, yId, left)])
      const path = pathLabel(await callPath(y.page, xId))
      out.push({ bothMs: Math.max(atX, atY) - clicked, joinerMs: atY - clicked, path })
    } catch (err: any) {
      out.push({ bothMs: null, joinerMs: null, error: String(err.message).split('\n')[0] })
    } finally {
      await Promise.all(people.map(async p => p.context.close().catch(() => {})))
    }
    log(`${shape.name}: join ${i + 1}/${joins}: ${out.at(-1)?.bothMs ?? 'failed'} ms ${out.at(-1)?.path ?? out.at(-1)?.error ?? ''}`)
  }
  return out
}

async function frames (page: Page, peerId: string): Promise<number> {
  return (await videoProgress(page, `[data-testid=tile][data-peer-id="${peerId}"] video.camera`).catch(() => undefined))?.frames ?? 0
}

/** Video frames the call with `peerId` has decoded (inbound-rtp), whether or not the tile shows them. */
async function decoded (page: Page, peerId: string): Promise<number> {
  return page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    let n = 0
    ;(await pc?.getStats())?.forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { n += s.framesDecoded ?? 0 } })
    return n
  }, peerId).catch(() => 0)
}

export interface RecoverySample {
  /** Address replaced -> both calls decode video again, on a path away from the old address, ms; null: never. */
  mediaMs: number | null
  /** Address replaced -> both tiles show advancing video again, ms; null: never. */
  shownMs: number | null
  before?: string
  after?: string
}

/** Both counters advanced since the previous sample. */
function advancing (now: number[], prev: number[]): boolean {
  return now.every((n, j) => n > prev[j])
}

/**
 * One call between the two homes (port-preserving NAT), then `times` times: replace home 1's public address and time
 * until both calls decode video again (the second home sending to a new address), and until both tiles show it.
 */
export async function recoveryRuns (topo: Topology, times: number): Promise<RecoverySample[]> {
  const [a, b]: Home[] = topo.net.homes
  topo.net.setMode(a, 'port-preserving')
  topo.net.setMode(b, 'port-preserving')
  const people: Participant[] = []
  const out: RecoverySample[] = []
  try {
    const room = await newRoomKey()
    const x = await participant(await topo.browser(a.host), topo.url(a.host, room))
    people.push(x)
    const y = await participant(await topo.browser(b.host), topo.url(b.host, room))
    people.push(y)
    await Promise.all([joinAs(x, 'Moving'), joinAs(y, 'Staying')])
    const [xId, yId] = [await pagePeerId(x.page), await pagePeerId(y.page)]
    await Promise.all([firstFrame(x.page, yId, FIRST_FRAME_DEADLINE), firstFrame(y.page, xId, FIRST_FRAME_DEADLINE)])
    const shown = async (): Promise<number[]> => [await frames(x.page, yId), await frames(y.page, xId)]
    const media = async (): Promise<number[]> => [await decoded(x.page, yId), await decoded(y.page, xId)]
    for (let i = 0; i < times; i++) {
      await sleep(3_000)
      const before = await callPath(y.page, xId)
      const old = a.publicAddr
      const changed = Date.now()
      topo.net.replacePublicAddress(a)
      const sample: RecoverySample = { mediaMs: null, shownMs: null, before: describePath(before) }
      let lastShown = await shown()
      let lastMedia = await media()
      while (Date.now() - changed < RECOVERY_DEADLINE && (sample.mediaMs == null || sample.shownMs == null)) {
        await sleep(250)
        const [nowShown, nowMedia] = [await shown(), await media()]
        const [shownMoving, mediaMoving] = [advancing(nowShown, lastShown), advancing(nowMedia, lastMedia)]
        lastShown = nowShown
        lastMedia = nowMedia
        if (!shownMoving && !mediaMoving) { continue }
        const path = await callPath(y.page, xId)
        if (path == null || path.remote.address === old) { continue }
        if (mediaMoving && sample.mediaMs == null) { sample.mediaMs = Date.now() - changed }
        if (shownMoving && sample.shownMs == null) { sample.shownMs = Date.now() - changed }
      }
      sample.after = describePath(await callPath(y.page, xId))
      out.push(sample)
      log(`address change ${i + 1}/${times}: media ${sample.mediaMs ?? 'never'} ms, shown ${sample.shownMs ?? 'never'} ms; ${sample.after}`)
      if (sample.mediaMs == null) { break }
    }
  } finally {
    await Promise.all(people.map(async p => p.context.close().catch(() => {})))
  }
  return out
}

export interface TurnLoad {
  streams: number
  /** Sent bitrate per stream (outbound-rtp), kbit/s. */
  kbpsPerStream: number
  frameSize: string
  /** coturn's CPU over the window, % of one core: idle, then loaded. */
  idleCpuPct: number
  loadedCpuPct: number
  /** coturn's resident memory, MiB: idle, then loaded. */
  idleRssMiB: number | null
  loadedRssMiB: number | null
  windowMs: number
}

async function sentKbps (pages: Page[], windowMs: number, during: () => Promise<void>): Promise<{ kbps: number, size: string }> {
  const bytes = async (): Promise<Array<{ b: number, size: string }>> => Promise.all(pages.map(async p => p.evaluate(async () => {
    let b = 0
    let size = ''
    const pc: RTCPeerConnection | undefined = (globalThis as any).controlPc;
    (await pc?.getStats())?.forEach((s: any) => { if (s.type === 'outbound-rtp' && s.kind === 'video') { b += s.bytesSent ?? 0; size = `${String(s.frameWidth)}x${String(s.frameHeight)}` } })
    return { b, size }
  })))
  const a = await bytes()
  await during()
  const z = await bytes()
  const total = z.reduce((n, s, i) => n + s.b - a[i].b, 0)
  return { kbps: total * 8 / windowMs / pages.length, size: z[0]?.size ?? '' }
}

/**
 * coturn with `pairs` plain calls forced through it (iceTransportPolicy 'relay', fake camera at 1280x720): each pair
 * is two relayed streams. CPU and memory of the turnserver process, idle and loaded, over `windowMs`.
 */
export async function turnLoad (topo: Topology, pairs: number, windowMs: number): Promise<TurnLoad> {
  const pid = topo.relay?.turnPid()
  if (pid == null) { throw new Error('coturn is not running') }
  const host = topo.net.ipv4Host()
  const browser = await topo.browser(host)
  const sample = async (): Promise<{ cpu: number, rss: number | null }> => {
    const c0 = cpuMsOf(pid)
    await sleep(windowMs)
    return { cpu: 100 * (cpuMsOf(pid) - c0) / windowMs, rss: rssMiB(pid) }
  }
  const idle = await sample()
  const contexts = []
  const pages: Page[] = []
  try {
    for (let i = 0; i < pairs; i++) {
      const ctx = await browser.newContext()
      contexts.push(ctx)
      await ctx.grantPermissions(['camera'], { origin: topo.relay!.origin[4] })
      const [p, q] = [await ctx.newPage(), await ctx.newPage()]
      await Promise.all([p, q].map(async pg => pg.goto(`${topo.relay!.origin[4]}/bootstrap.json`)))
      await controlCall(p, q, { iceServers: [await topo.credentials()], iceTransportPolicy: 'relay', width: 1280, height: 720 })
      pages.push(p, q)
      log(`relayed streams: ${pages.length}`)
    }
    await sleep(3_000)
    let loaded = { cpu: 0, rss: null as number | null }
    const rate = await sentKbps(pages, windowMs, async () => { loaded = await sample() })
    return {
      streams: pages.length,
      kbpsPerStream: rate.kbps,
      frameSize: rate.size,
      idleCpuPct: idle.cpu,
      loadedCpuPct: loaded.cpu,
      idleRssMiB: idle.rss,
      loadedRssMiB: loaded.rss,
      windowMs
    }
  } finally {
    await endControl(...pages)
    await Promise.all(contexts.map(async c => c.close().catch(() => {})))
  }
}
