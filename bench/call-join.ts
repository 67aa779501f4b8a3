/**
 * bench:call, parts 2 and 3: FreeFlow. A host joins a fresh room; once it has its relay reservation (and `settle`
 * ms more), a second participant clicks Join; click -> first frame of the host's video shown in the joiner's tile,
 * and -> the received video at QUALITY. Each step of the join is timed on both pages (call-page.ts's probe).
 */
import { pagePeerId } from '../harness/browser.ts'
import { newRoomKey, sleep } from '../harness/procs.ts'
import { clickJoin, installProbe, readProbe, stopProbe } from './call-page.ts'
import { JOIN_DEADLINE, QUALITY, QUALITY_WAIT, QUANTILES, thin } from './call-setup.ts'
import { log } from './harness.ts'
import { closePeople, person } from './pages.ts'
import { ms, stats } from './report.ts'
import type { ProbeState } from './call-page.ts'
import type { Stats } from './call-setup.ts'
import type { Person, PersonOptions } from './pages.ts'
import type { RelayProc } from '../harness/procs.ts'
import type { Browser } from 'playwright-core'

/** Milestones of a join, in the order they usually happen (ms from the joiner's click). */
export const JOINER_MARKS = ['node', 'relayConnected', 'reservation', 'room', 'callVisible', 'seen', 'connRelayed', 'pc', 'localDescription', 'remoteDescription', 'stable', 'iceChecking', 'iceConnected', 'connected', 'track', 'firstDecoded', 'firstFrame', 'connDirect', 'quality'] as const

export const MARK_TEXT: Record<string, string> = {
  node: 'libp2p node started (identity loaded)',
  relayConnected: 'first connection (the relay)',
  reservation: 'relay reservation (/p2p-circuit address)',
  room: 'room joined (room.join resolved)',
  callVisible: 'call screen shown',
  seen: 'host seen (peer:join)',
  connRelayed: 'relayed libp2p connection to the host',
  pc: 'media RTCPeerConnection created',
  localDescription: 'local description set',
  remoteDescription: 'remote description set',
  stable: 'offer/answer done (stable)',
  iceChecking: 'ICE checking',
  iceConnected: 'ICE connected',
  connected: 'DTLS up (connectionState connected)',
  track: 'remote track in the tile',
  firstDecoded: 'first frame decoded (getStats)',
  firstFrame: 'first frame shown (requestVideoFrameCallback)',
  connDirect: 'direct libp2p connection (WebRTC) to the host',
  quality: `video >= ${QUALITY.minWidth}x${QUALITY.minHeight} @ ${QUALITY.minFps} fps`
}

export interface JoinTrial {
  index: number
  /** host's click -> its reservation, ms; then it waited `settle` ms */
  hostReadyMs?: number
  /** joiner's milestones, ms from its click */
  joiner: Record<string, number>
  /** host's milestones, ms from the joiner's click (negative: before it) */
  host: Record<string, number>
  firstFrameMs?: number
  qualityMs?: number
  /** height of the host's video in the first stats the joiner had of it */
  startHeight?: number
  /** libp2p connections between the two, seen from the joiner (ms from its click) */
  conns: Array<{ addr: string, limited: boolean, direction: string, openMs: number }>
  /** first stream of each protocol on a connection to the host, seen from the joiner: `protocol relayed|direct` -> ms from click */
  streams: Record<string, number>
  failed: boolean
  error?: string
  /** what the joiner received, every 250 ms: ms from click, size, fps */
  received: Array<{ t: number, w?: number, h?: number, fps?: number }>
  /** what the host sent to the joiner, every 250 ms: ms from the click, size, fps, why limited, target bitrate, BWE */
  sent: Array<{ t: number, w?: number, h?: number, fps?: number, limit?: string, targetKbps?: number, bweKbps?: number }>
  trace?: { joiner: Array<{ t: number, text: string }>, host: Array<{ t: number, text: string }> }
}

function relative (marks: Record<string, number>, zero: number): Record<string, number> {
  return Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, Math.round(v - zero)]))
}

async function joinTrial (browser: Browser, relay: RelayProc, index: number, settle: number, options: PersonOptions): Promise<JoinTrial> {
  const key = await newRoomKey()
  const url = `${relay.http!}/#room=${key}`
  const people: Person[] = []
  const result: JoinTrial = { index, joiner: {}, host: {}, failed: true, received: [], sent: [], conns: [], streams: {} }
  try {
    const [host, joiner] = await Promise.all([person(browser, url, options), person(browser, url, options)])
    people.push(host, joiner)
    await host.page.evaluate(installProbe, { statsEvery: 250, ...QUALITY })
    await host.page.getByTestId('display-name').fill('Host')
    const hostClick = await host.page.evaluate(clickJoin)
    await host.page.waitForFunction(() => (globalThis as any).freeflow?.node?.getMultiaddrs().some((a: any) => a.toString().includes('/p2p-circuit')) === true, undefined, { timeout: 30_000, polling: 20 })
    result.hostReadyMs = Date.now() - hostClick
    await sleep(settle)
    const hostId = await pagePeerId(host.page)
    await joiner.page.evaluate(installProbe, { remoteId: hostId, statsEvery: 50, ...QUALITY })
    await joiner.page.getByTestId('display-name').fill('Joiner')
    const click = await joiner.page.evaluate(clickJoin)
    let probe: ProbeState = await joiner.page.evaluate(readProbe)
    let joinerId: string | undefined
    while (true) {
      await sleep(100)
      probe = await joiner.page.evaluate(readProbe)
      if (joinerId == null) {
        // the host's probe watches the joiner's connections once the joiner has an identity
        joinerId = await joiner.page.evaluate(() => (globalThis as any).freeflow?.node?.peerId?.toString())
        if (joinerId != null) { await host.page.evaluate((id) => { (globalThis as any).__bench.remoteId = id }, joinerId) }
      }
      const first = probe.marks.firstFrame
      if (first == null && Date.now() - click > JOIN_DEADLINE) { break }
      if (first != null && (probe.qualityAt != null || Date.now() - first > QUALITY_WAIT)) { break }
    }
    await joiner.page.evaluate(stopProbe)
    await host.page.evaluate(stopProbe)
    const hostProbe: ProbeState = await host.page.evaluate(readProbe)
    result.joiner = relative(probe.marks, click)
    result.host = relative(hostProbe.marks, click)
    result.firstFrameMs = result.joiner.firstFrame
    result.failed = result.firstFrameMs == null || result.firstFrameMs > JOIN_DEADLINE
    result.qualityMs = result.joiner.quality
    result.startHeight = probe.inbound.find(s => (s.height ?? 0) > 0)?.height
    result.conns = probe.conns.map(c => ({ addr: c.addr, limited: c.limited, direction: c.direction, openMs: Math.round((Number.isFinite(c.openAt) ? c.openAt : c.seenAt) - click) }))
    result.streams = relative(probe.streams, click)
    result.received = thin(probe.inbound, 250).map(s => ({ t: Math.round(s.t - click), w: s.width, h: s.height, fps: s.fps }))
    result.sent = thin(hostProbe.outbound, 250).filter(s => s.t >= click - 100).map(s => ({
      t: Math.round(s.t - click),
      w: s.width,
      h: s.height,
      fps: s.fps,
      limit: s.limitation,
      targetKbps: s.targetBitrate != null ? Math.round(s.targetBitrate / 1000) : undefined,
      bweKbps: s.availableOutgoingBitrate != null ? Math.round(s.availableOutgoingBitrate / 1000) : undefined
    }))
    if (options.trace === true) {
      result.trace = {
        joiner: joiner.trace.map(l => ({ t: l.at - Math.round(click), text: l.text })),
        host: host.trace.filter(l => l.at >= click - 2_000).map(l => ({ t: l.at - Math.round(click), text: l.text }))
      }
    }
  } catch (err: any) {
    result.error = String(err?.message ?? err).split('\n')[0]
  } finally {
    await closePeople(people)
  }
  return result
}

export interface JoinResult {
  joins: number
  failures: number
  settleMs: number
  firstFrame: Stats
  firstDecoded: Stats
  quality: Stats
  /** first frame -> quality */
  qualityAfterFirstFrame: Stats
  qualityMissed: number
  /** how many joins started at each height of the received video (the sender picks it) */
  startHeights: Record<string, number>
  /** click -> quality, split by the starting height */
  qualityByStartHeight: Record<string, Stats>
  hostReady: Stats
  /** each joiner milestone: stats of ms from click */
  phases: Record<string, Stats>
  /** host milestones, ms from the joiner's click */
  hostPhases: Record<string, Stats>
  /** first stream of a protocol on a connection between the two (`protocol relayed|direct`), ms from the click */
  streams: Record<string, Stats>
  detail: JoinTrial[]
}

export async function freeflowJoins (browser: Browser, relay: RelayProc, joins: number, settle: number, options: PersonOptions): Promise<JoinResult> {
  const detail: JoinTrial[] = []
  for (let i = 0; i < joins; i++) {
    const t = await joinTrial(browser, relay, i, settle, options)
    detail.push(t)
    log(`join ${i + 1}/${joins}: first frame ${t.failed ? 'FAIL' : `${ms(t.firstFrameMs)} ms`}, quality ${ms(t.qualityMs)} ms${t.error != null ? ` (${t.error})` : ''}`)
  }
  const ok = detail.filter(d => !d.failed)
  const phases: Record<string, Stats> = {}
  for (const k of JOINER_MARKS) { phases[k] = stats(ok.map(d => d.joiner[k]), QUANTILES) }
  const hostPhases: Record<string, Stats> = {}
  for (const k of ['seen', 'connRelayed', 'pc', 'remoteDescription', 'iceConnected', 'connDirect']) { hostPhases[k] = stats(ok.map(d => d.host[k]), QUANTILES) }
  return {
    joins,
    failures: detail.length - ok.length,
    settleMs: settle,
    firstFrame: stats(ok.map(d => d.firstFrameMs), QUANTILES),
    firstDecoded: stats(ok.map(d => d.joiner.firstDecoded), QUANTILES),
    quality: stats(ok.map(d => d.qualityMs), QUANTILES),
    qualityAfterFirstFrame: stats(ok.map(d => d.qualityMs != null && d.firstFrameMs != null ? d.qualityMs - d.firstFrameMs : undefined), QUANTILES),
    qualityMissed: ok.filter(d => d.qualityMs == null).length,
    startHeights: ok.reduce<Record<string, number>>((acc, d) => { const k = String(d.startHeight ?? '?'); acc[k] = (acc[k] ?? 0) + 1; return acc }, {}),
    qualityByStartHeight: Object.fromEntries([...new Set(ok.map(d => String(d.startHeight ?? '?')))].map(h => [h, stats(ok.filter(d => String(d.startHeight ?? '?') === h).map(d => d.qualityMs), QUANTILES)])),
    hostReady: stats(detail.map(d => d.hostReadyMs), QUANTILES),
    phases,
    hostPhases,
    streams: Object.fromEntries([...new Set(ok.flatMap(d => Object.keys(d.streams)))].sort().map(k => [k, stats(ok.map(d => d.streams[k]), QUANTILES)])),
    detail
  }
}
