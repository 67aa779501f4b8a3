/**
 * bench:call, part 4: full meshes of N participants (one chromium, one browser context each), joining one by one or
 * all at once; then, over a window of `seconds`: decoded frame rate per received stream, freezes, what the
 * encoders were limited by, renderer CPU per participant and the machine's CPU.
 */
import { cpus } from 'node:os'
import { newRoomKey, sleep } from '../harness/procs.ts'
import { clickJoin, meshSample, meshState } from './call-page.ts'
import { MESH_DEADLINE, MESH_SETTLE, MESH_STEP_DEADLINE } from './call-setup.ts'
import { between, snapshot } from './cpu.ts'
import { closePeople, metricsSession, pageMetrics, person } from './pages.ts'
import { mean, pct } from './report.ts'
import type { MeshPeerSample } from './call-page.ts'
import type { CpuWindow } from './cpu.ts'
import type { Person, PersonOptions } from './pages.ts'
import type { Browser } from 'playwright-core'

export interface StreamResult {
  receiver: number
  sender: number
  /** decoded frames / s over the window */
  fpsMean: number
  /** lowest decoded frames / s in any one-second step */
  fpsMin: number
  freezes: number
  freezeSec: number
  framesDropped: number
  /** seconds of the window without this stream (not there, or a new RTCPeerConnection) */
  downSec: number
  width?: number
  height?: number
  decoder?: string
}

export interface SenderResult {
  sender: number
  receiver: number
  /** encoded frames / s over the window */
  fpsMean: number
  width?: number
  height?: number
  encoder?: string
  /** share of the window the encoder was limited, by reason (cpu, bandwidth, other), % */
  limitedPct: Record<string, number>
  kbps: number
  bweKbps?: number
}

export interface MeshResult {
  n: number
  /** last click -> every page decoding every other participant's video (null: not within MESH_DEADLINE) */
  allSeenMs: number | null
  /** pairs (receiver, sender) decoding video when the window started, of n(n-1) */
  pairsUp: number
  seconds: number
  streams: StreamResult[]
  senders: SenderResult[]
  /** renderer CPU per participant (CDP Performance.getMetrics ProcessTime), % of one core */
  rendererPct: number[]
  /** of it, the renderer's main thread (JS: libp2p, the app; layout), % of one core */
  mainThreadPct: number[]
  /** the main thread's time in script, % of wall time */
  scriptPct: number[]
  cpu: { machineBusyPct: number, cores: number, byGroupPct: Record<string, number> }
  summary: {
    fpsMean: number
    fpsMinStream: number
    fpsMin: number
    freezes: number
    freezeSec: number
    /** stream-seconds without video (summed over streams) */
    downSec: number
    medianHeight: number
    cpuLimitedPct: number
    rendererPctMean: number
    mainThreadPctMean: number
  }
  /** how the participants joined: all at once, or one after another (the next once everyone decodes everyone) */
  join: 'together' | 'one-by-one'
  /** one-by-one: for each participant, its click -> everyone decoding everyone (null: not within MESH_STEP_DEADLINE) */
  steps?: Array<number | null>
  /** room and call events in the pages' freeflow:* logs (joins, timeouts, signalling errors), ms from the window's start */
  events: Array<{ page: number, t: number, text: string }>
  /** members that timed out (room presence) during the window, as seen by the pages */
  timeoutsInWindow: number
  /** when not everyone saw everyone: each page's state, and its freeflow:* log */
  diagnosis?: Array<{ state: Record<string, unknown>, trace: Array<{ t: number, text: string }>, errors: string[] }>
  error?: string
}

/**
 * One pair of a mesh over the window, step by step: a step counts only where the same stream (ssrc) was there at both
 * ends and its counters went forward; anything else (no stream, a new RTCPeerConnection) is time the stream was down.
 * `samples[k]` is what the receiver knew of the sender at step k (inbound: the sender's video; outbound: its own).
 */
function pairStats (samples: Array<MeshPeerSample | undefined>, stepAt: number[], windowSec: number): { stream: Omit<StreamResult, 'receiver' | 'sender'>, sent: Omit<SenderResult, 'receiver' | 'sender'> } {
  let frames = 0
  let freezes = 0
  let freezeSec = 0
  let dropped = 0
  let downSec = 0
  let fpsMin = Infinity
  let encoded = 0
  let sentBytes = 0
  const limited: Record<string, number> = {}
  let last: MeshPeerSample | undefined
  for (let k = 1; k < samples.length; k++) {
    const a = samples[k - 1]
    const b = samples[k]
    last = b ?? last
    const ia = a?.inbound
    const ib = b?.inbound
    if (ia != null && ib != null && ia.ssrc === ib.ssrc && (ib.frames ?? 0) >= (ia.frames ?? 0) && ib.t > ia.t) {
      const d = (ib.frames ?? 0) - (ia.frames ?? 0)
      frames += d
      fpsMin = Math.min(fpsMin, d / ((ib.t - ia.t) / 1_000))
      freezes += Math.max(0, (ib.freezeCount ?? 0) - (ia.freezeCount ?? 0))
      freezeSec += Math.max(0, (ib.freezeSec ?? 0) - (ia.freezeSec ?? 0))
      dropped += Math.max(0, (ib.framesDropped ?? 0) - (ia.framesDropped ?? 0))
    } else {
      fpsMin = 0
      downSec += (stepAt[k] - stepAt[k - 1]) / 1_000
    }
    const oa = a?.outbound
    const ob = b?.outbound
    if (oa == null || ob == null || oa.ssrc !== ob.ssrc || (ob.frames ?? 0) < (oa.frames ?? 0)) { continue }
    encoded += (ob.frames ?? 0) - (oa.frames ?? 0)
    sentBytes += (ob.bytes ?? 0) - (oa.bytes ?? 0)
    for (const [reason, sec] of Object.entries(ob.limitationSec ?? {})) {
      if (reason !== 'none') { limited[reason] = (limited[reason] ?? 0) + Math.max(0, sec - (oa.limitationSec?.[reason] ?? 0)) }
    }
  }
  return {
    stream: {
      fpsMean: frames / windowSec,
      fpsMin: Number.isFinite(fpsMin) ? fpsMin : 0,
      freezes,
      freezeSec,
      framesDropped: dropped,
      downSec,
      width: last?.inbound?.width,
      height: last?.inbound?.height,
      decoder: last?.inbound?.decoder
    },
    sent: {
      fpsMean: encoded / windowSec,
      width: last?.outbound?.width,
      height: last?.outbound?.height,
      encoder: last?.outbound?.encoder,
      limitedPct: Object.fromEntries(Object.entries(limited).map(([k, v]) => [k, 100 * v / windowSec])),
      kbps: 8 * sentBytes / windowSec / 1_000,
      bweKbps: last?.outbound?.availableOutgoingBitrate != null ? last.outbound.availableOutgoingBitrate / 1_000 : undefined
    }
  }
}

/**
 * Where a mesh's participants are: their browsers (participant i opens its page in `browsers[i % length]`, so people
 * can sit in different homes) and the web app's origin as each sees it.
 */
export interface MeshPlace {
  browsers: Browser[]
  origin: string
}

export async function mesh (place: MeshPlace, n: number, seconds: number, options: PersonOptions, join: 'together' | 'one-by-one'): Promise<MeshResult> {
  const key = await newRoomKey()
  const url = `${place.origin}/#room=${key}`
  const people: Person[] = []
  const result: MeshResult = {
    n,
    allSeenMs: null,
    pairsUp: 0,
    seconds,
    streams: [],
    senders: [],
    rendererPct: [],
    mainThreadPct: [],
    scriptPct: [],
    join,
    events: [],
    timeoutsInWindow: 0,
    cpu: { machineBusyPct: NaN, cores: cpus().length, byGroupPct: {} },
    summary: { fpsMean: NaN, fpsMinStream: NaN, fpsMin: NaN, freezes: 0, freezeSec: 0, downSec: 0, medianHeight: NaN, cpuLimitedPct: NaN, rendererPctMean: NaN, mainThreadPctMean: NaN }
  }
  try {
    for (let i = 0; i < n; i++) { people.push(await person(place.browsers[i % place.browsers.length], url, options)) }
    const cdps = await Promise.all(people.map(metricsSession))
    await Promise.all(people.map(async (p, i) => { await p.page.getByTestId('display-name').fill(`P${i}`) }))
    const ids: string[] = []
    const idOf = async (p: Person): Promise<string> => p.page.waitForFunction(() => (globalThis as any).freeflow?.node?.peerId?.toString(), undefined, { timeout: 30_000 }).then(async h => h.jsonValue())
    /** (receiver, sender) pairs among the first k participants that decode video */
    const pairs = async (k: number): Promise<number> => {
      let up = 0
      for (const p of people.slice(0, k)) {
        const samples: MeshPeerSample[] = await p.page.evaluate(meshSample)
        up += samples.filter(s => (s.inbound?.frames ?? 0) > 0 && ids.slice(0, k).includes(s.remoteId)).length
      }
      return up
    }
    const until = async (k: number, deadline: number): Promise<boolean> => {
      while (Date.now() < deadline) {
        if (await pairs(k) === k * (k - 1)) { return true }
        await sleep(250)
      }
      return false
    }
    const firstClick = Date.now()
    let clicked = firstClick
    if (join === 'together') {
      await Promise.all(people.map(async p => p.page.evaluate(clickJoin)))
      clicked = Date.now()
      for (const p of people) { ids.push(await idOf(p)) }
      if (await until(n, clicked + MESH_DEADLINE)) { result.allSeenMs = Date.now() - clicked }
    } else {
      // one after another, as people arrive: the next clicks Join once everyone decodes everyone (or after a deadline)
      let all = true
      result.steps = []
      for (const [k, p] of people.entries()) {
        clicked = Date.now()
        await p.page.evaluate(clickJoin)
        ids.push(await idOf(p))
        const ok = k === 0 || await until(k + 1, clicked + MESH_STEP_DEADLINE)
        result.steps.push(ok ? Date.now() - clicked : null)
        all &&= ok
      }
      if (all) { result.allSeenMs = Date.now() - firstClick }
    }
    if (result.allSeenMs == null) {
      result.diagnosis = []
      for (const p of people) { result.diagnosis.push({ state: await p.page.evaluate(meshState), trace: p.trace.map(l => ({ t: l.at - clicked, text: l.text })), errors: p.errors }) }
    }
    await sleep(MESH_SETTLE)
    result.pairsUp = await pairs(n)
    // the window
    const cpu0 = snapshot()
    const pt0 = await Promise.all(cdps.map(pageMetrics))
    const series: MeshPeerSample[][][] = [] // [step][page][remote]
    const stepAt: number[] = []
    for (let s = 0; s <= seconds; s++) {
      const step = Date.now()
      series.push(await Promise.all(people.map(async p => p.page.evaluate(meshSample))))
      stepAt.push(step)
      if (s < seconds) { await sleep(Math.max(0, step + 1_000 - Date.now())) }
    }
    const pt1 = await Promise.all(cdps.map(pageMetrics))
    const cpu1 = snapshot()
    result.events = people.flatMap((p, i) => p.trace
      .filter(l => /joined as|left|failed|cannot|ended|unreachable/.test(l.text))
      .map(l => ({ page: i, t: l.at - cpu0.at, text: l.text.split('\n')[0].slice(0, 200) })))
    result.timeoutsInWindow = result.events.filter(e => e.t >= 0 && e.t <= cpu1.at - cpu0.at && /left .*timeout/.test(e.text)).length
    const window: CpuWindow = between(cpu0, cpu1, cpus().length)
    const capacity = window.wallMs * window.cores
    result.cpu = {
      machineBusyPct: window.machineBusyPct,
      cores: window.cores,
      byGroupPct: Object.fromEntries(Object.entries(window.byGroup).map(([k, v]) => [k, 100 * v / capacity]))
    }
    result.rendererPct = pt0.map((v, i) => 100 * (pt1[i].processMs - v.processMs) / window.wallMs)
    result.mainThreadPct = pt0.map((v, i) => 100 * (pt1[i].threadMs - v.threadMs) / window.wallMs)
    result.scriptPct = pt0.map((v, i) => 100 * (pt1[i].scriptMs - v.scriptMs) / window.wallMs)
    // streams, step by step: a step counts only where the same stream (ssrc) was there at both ends and its counters
    // went forward; anything else (no stream, a new RTCPeerConnection) is time the stream was down
    const windowSec = (stepAt[stepAt.length - 1] - stepAt[0]) / 1_000
    for (let r = 0; r < n; r++) {
      for (let sender = 0; sender < n; sender++) {
        if (sender === r) { continue }
        const { stream, sent } = pairStats(series.map(step => step[r].find(x => x.remoteId === ids[sender])), stepAt, windowSec)
        result.streams.push({ receiver: r, sender, ...stream })
        result.senders.push({ sender: r, receiver: sender, ...sent })
      }
    }
    const heights = result.streams.map(s => s.height ?? 0)
    result.summary = {
      fpsMean: mean(result.streams.map(s => s.fpsMean)),
      fpsMinStream: result.streams.length > 0 ? Math.min(...result.streams.map(s => s.fpsMean)) : NaN,
      fpsMin: result.streams.length > 0 ? Math.min(...result.streams.map(s => s.fpsMin)) : NaN,
      freezes: result.streams.reduce((a, s) => a + s.freezes, 0),
      freezeSec: result.streams.reduce((a, s) => a + s.freezeSec, 0),
      downSec: result.streams.reduce((a, s) => a + s.downSec, 0),
      medianHeight: pct(heights, 50),
      cpuLimitedPct: mean(result.senders.map(s => s.limitedPct.cpu ?? 0)),
      rendererPctMean: mean(result.rendererPct),
      mainThreadPctMean: mean(result.mainThreadPct)
    }
  } catch (err: any) {
    result.error = String(err?.message ?? err).split('\n')[0]
  } finally {
    await closePeople(people)
  }
  return result
}
