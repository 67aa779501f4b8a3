/**
 * `npm run bench:call`: how fast a call starts and how well it runs, in real browsers (Debian's chromium, fake
 * camera) on loopback, next to a baseline of two plain RTCPeerConnections in one page. Not a test: it asserts
 * nothing, prints a table and writes bench/results/call.json. Run it in a loopback-only namespace:
 *
 *   unshare -n sh -c 'ip link set lo up && npm run bench:call'
 *
 * 1. baseline: two RTCPeerConnections in one page (iceServers [], no libp2p), start of connect -> first remote frame
 * 2. FreeFlow: a host joins a fresh room; once it has its relay reservation (and `--settle` ms more), a second
 *    participant clicks Join; click -> first frame of the host's video shown in the joiner's tile
 * 3. time until the received video is at least 640x480 at 25 fps (inbound-rtp of the receiver)
 * 4. full meshes of N participants (one chromium, one browser context each): decoded frame rate per received
 *    stream, freezes, CPU per participant and of the machine over `--mesh-seconds`
 *
 * Options: node dist/bench/call.js [--baseline-runs 30] [--joins 30] [--mesh 2,3,4,5] [--mesh-seconds 20]
 *   [--settle 1000] [--fps 30] [--no-trace]
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, platform, release } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { withStartBitrate } from '../protocols/call/session.js'
import { launch, CHROMIUM } from '../test/helpers/browser.js'
import { cleanup, run, sleep, startRelay, type RelayProc } from '../test/helpers/procs.js'
import { between, snapshot, type CpuWindow } from './cpu.js'
import { fixed, mean, ms, pct, table } from './report.js'
import { baselineRun, clickJoin, installProbe, meshSample, meshState, readProbe, stopProbe, type BaselineRun, type MeshPeerSample, type ProbeState } from './call-page.js'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'

const GOALS = {
  /** FreeFlow's p50 join -> first frame, at most this many times the baseline's p50 connect -> first frame. */
  firstFrameVsBaseline: 1.5,
  /** Joins without a frame within JOIN_DEADLINE, at most. */
  failedJoins: 0,
  /** Join -> received video at QUALITY, ms. */
  qualityMs: 5_000,
  /** In a mesh of this many, every received stream at FPS_GOAL or more and no freezes. */
  meshN: 4,
  meshFps: 25
}
/** Received video at least this good: inbound-rtp frameWidth/frameHeight/framesPerSecond. */
const QUALITY = { minWidth: 640, minHeight: 480, minFps: 25 }
/** What the web app asks the camera for (browser/src/main.ts); the baseline asks for the same. */
const CAMERA: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }
/** A join without a first frame this long after the click has failed, ms. */
const JOIN_DEADLINE = 30_000
/** After the first frame, wait at most this long for QUALITY, ms. */
const QUALITY_WAIT = 10_000
/** A mesh in which not everyone sees everyone's video this long after the clicks is measured as it is, ms. */
const MESH_DEADLINE = 60_000
/** Joining one by one: a participant not decoded by everyone (and decoding everyone) this long after its click has failed, ms. */
const MESH_STEP_DEADLINE = 20_000
/** From everyone seeing everyone to the start of the mesh measurement, ms. */
const MESH_SETTLE = 2_000
/** Share of the machine other processes may use during a phase before its numbers are flagged as disturbed, %. */
const DISTURBED_PCT = 10
/** Reservations the relay grants (per IP and in all): more than the bench's pages. */
const RELAY_SLOTS = 1_000
/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 15 * 60_000

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))
const COMMAND = 'unshare -n sh -c \'ip link set lo up && npm run bench:call\''

// ---- small statistics ----

interface Stats { n: number, p50: number, p95: number, min: number, max: number }

function stats (values: Array<number | undefined>): Stats {
  const v = values.filter((x): x is number => x != null && Number.isFinite(x))
  return { n: v.length, p50: pct(v, 50), p95: pct(v, 95), min: pct(v, 0), max: pct(v, 100) }
}

function log (text: string): void {
  process.stderr.write(`bench: ${text}\n`)
}

// ---- pages ----

/** --camera WxH: open the camera at this size instead of what the app asks for (an experiment). */
let cameraOverride: { width: number, height: number } | undefined

interface Person {
  context: BrowserContext
  page: Page
  /** freeflow:* debug lines with the time Node saw them (epoch ms) */
  trace: Array<{ at: number, text: string }>
  errors: string[]
}

/** A person with a fresh browser profile (a new identity), camera allowed, on a page of the web app. */
async function person (browser: Browser, url: string, trace: boolean): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(url).origin })
  if (trace) await context.addInitScript(() => { localStorage.setItem('debug', 'freeflow:*') })
  if (cameraOverride != null) {
    // an experiment, not the app: what if the camera were opened at this size
    await context.addInitScript((size: { width: number, height: number }) => {
      const md = navigator.mediaDevices
      const gum = md.getUserMedia.bind(md)
      md.getUserMedia = async (c?: MediaStreamConstraints) => gum(c?.video != null && c.video !== false ? { ...c, video: { ...(c.video === true ? {} : c.video), width: { exact: size.width }, height: { exact: size.height } } } : c)
    }, cameraOverride)
  }
  const page = await context.newPage()
  const p: Person = { context, page, trace: [], errors: [] }
  page.on('console', m => {
    const text = m.text()
    if (text.includes('freeflow:')) p.trace.push({ at: Date.now(), text: text.replace(/%c/g, '').replace(/color: \S+/g, '').trim().slice(0, 300) })
  })
  page.on('pageerror', e => { p.errors.push(e.message) })
  await page.goto(url)
  // the camera preview plays: getUserMedia is done, as it is for a person before they press Join
  await page.waitForFunction(() => (document.querySelector('[data-testid=local-video]') as HTMLVideoElement | null)?.videoWidth !== 0, undefined, { timeout: 15_000 })
  return p
}

async function closePeople (people: Person[]): Promise<void> {
  await Promise.all(people.map(async p => p.context.close().catch(() => {})))
}

async function peerIdOf (page: Page): Promise<string> {
  return await page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString())
}

async function newRoomKey (): Promise<string> {
  const { code, stdout, stderr } = await run(['room', 'new'])
  if (code !== 0) throw new Error(`freeflow room new failed: ${stderr}`)
  return stdout.trim()
}

/** A sample list thinned to at most one entry per `everyMs`. */
function thin<T extends { t: number }> (list: T[], everyMs: number): T[] {
  const out: T[] = []
  for (const s of list) if (out.length === 0 || s.t - out[out.length - 1].t >= everyMs) out.push(s)
  return out
}

// ---- 1. baseline ----

interface BaselineVariant {
  name: string
  runs: number
  startBitrate?: number
  degradationPreference?: RTCDegradationPreference
  /** first frame shown -> quality, ms */
  quality: Stats
  /** runs that did not reach it within QUALITY_WAIT of the first frame */
  qualityMissed: number
  /** frame height of the first decoded frames, per run */
  startHeights: number[]
  detail: BaselineRun[]
}

interface BaselineResult {
  runs: number
  failures: number
  firstFrame: Stats
  firstDecoded: Stats
  iceConnected: Stats
  /** the quality runs, with and without what FreeFlow changes (start bitrate, degradation preference) */
  variants: BaselineVariant[]
  detail: BaselineRun[]
}

/** Baseline runs that wait for the quality target: plain, with FreeFlow's start bitrate, and with maintain-resolution too. */
const BASELINE_VARIANTS: Array<Pick<BaselineVariant, 'name' | 'runs' | 'startBitrate' | 'degradationPreference'>> = [
  { name: 'plain (browser defaults: 300 kbit/s start)', runs: 3 },
  { name: 'x-google-start-bitrate=1500, as FreeFlow sets', runs: 5, startBitrate: 1_500 },
  { name: 'start 1500 + degradationPreference maintain-resolution', runs: 5, startBitrate: 1_500, degradationPreference: 'maintain-resolution' }
]

async function baseline (browser: Browser, relay: RelayProc, runs: number, withVariants: boolean): Promise<BaselineResult> {
  const context = await browser.newContext()
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(relay.http!).origin })
  const page = await context.newPage()
  try {
    // a secure context with nothing of the app in it: the relay's health page, emptied
    await page.goto(`${relay.http!}/healthz`)
    await page.setContent('<!doctype html><title>baseline</title><body></body>')
    // the very function FreeFlow uses to set the start bitrate
    await page.evaluate(`globalThis.__withStartBitrate = ${withStartBitrate.toString()}`)
    const detail: BaselineRun[] = []
    for (let i = 0; i < runs; i++) {
      const r = await page.evaluate(baselineRun, { video: CAMERA, timeoutMs: JOIN_DEADLINE, qualityMs: 0, statsEvery: 20, ...QUALITY })
      r.inbound = thin(r.inbound, 250)
      detail.push(r)
      if (i === 0 || (i + 1) % 10 === 0) log(`baseline ${i + 1}/${runs}: first frame ${ms(r.firstFrame)} ms`)
    }
    const variants: BaselineVariant[] = []
    for (const v of withVariants ? BASELINE_VARIANTS : []) {
      const runs: BaselineRun[] = []
      for (let i = 0; i < v.runs; i++) {
        const r = await page.evaluate(baselineRun, { video: CAMERA, timeoutMs: JOIN_DEADLINE, qualityMs: QUALITY_WAIT, statsEvery: 50, startBitrate: v.startBitrate, degradationPreference: v.degradationPreference, ...QUALITY })
        r.inbound = thin(r.inbound, 250)
        runs.push(r)
      }
      const ok = runs.filter(d => d.firstFrame != null)
      variants.push({
        ...v,
        quality: stats(ok.map(d => d.quality != null ? d.quality - d.firstFrame! : undefined)),
        qualityMissed: ok.filter(d => d.quality == null).length,
        startHeights: runs.map(d => d.inbound.find(s => (s.height ?? 0) > 0)?.height ?? 0),
        detail: runs
      })
      log(`baseline quality, ${v.name}: reached in ${ok.length - variants[variants.length - 1].qualityMissed}/${runs.length}`)
    }
    const ok = detail.filter(d => d.firstFrame != null)
    return {
      runs,
      failures: runs - ok.length,
      firstFrame: stats(detail.map(d => d.firstFrame)),
      firstDecoded: stats(detail.map(d => d.firstDecoded)),
      iceConnected: stats(detail.map(d => d.iceConnected)),
      variants,
      detail
    }
  } finally {
    await context.close().catch(() => {})
  }
}

// ---- 2 and 3. FreeFlow: join -> first frame, and -> quality ----

/** Milestones of a join, in the order they usually happen (ms from the joiner's click). */
const JOINER_MARKS = ['node', 'relayConnected', 'reservation', 'room', 'callVisible', 'seen', 'connRelayed', 'pc', 'localDescription', 'remoteDescription', 'stable', 'iceChecking', 'iceConnected', 'connected', 'track', 'firstDecoded', 'firstFrame', 'connDirect', 'quality'] as const

const MARK_TEXT: Record<string, string> = {
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

interface JoinTrial {
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

async function joinTrial (browser: Browser, relay: RelayProc, index: number, settle: number, trace: boolean): Promise<JoinTrial> {
  const key = await newRoomKey()
  const url = `${relay.http!}/#room=${key}`
  const people: Person[] = []
  const result: JoinTrial = { index, joiner: {}, host: {}, failed: true, received: [], sent: [], conns: [], streams: {} }
  try {
    const [host, joiner] = await Promise.all([person(browser, url, trace), person(browser, url, trace)])
    people.push(host, joiner)
    await host.page.evaluate(installProbe, { statsEvery: 250, ...QUALITY })
    await host.page.getByTestId('display-name').fill('Host')
    const hostClick = await host.page.evaluate(clickJoin)
    await host.page.waitForFunction(() => (globalThis as any).freeflow?.node?.getMultiaddrs().some((a: any) => a.toString().includes('/p2p-circuit')) === true, undefined, { timeout: 30_000, polling: 20 })
    result.hostReadyMs = Date.now() - hostClick
    await sleep(settle)
    const hostId = await peerIdOf(host.page)
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
        if (joinerId != null) await host.page.evaluate((id) => { (globalThis as any).__bench.remoteId = id }, joinerId)
      }
      const first = probe.marks.firstFrame
      if (first == null && Date.now() - click > JOIN_DEADLINE) break
      if (first != null && (probe.qualityAt != null || Date.now() - first > QUALITY_WAIT)) break
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
      t: Math.round(s.t - click), w: s.width, h: s.height, fps: s.fps, limit: s.limitation,
      targetKbps: s.targetBitrate != null ? Math.round(s.targetBitrate / 1000) : undefined,
      bweKbps: s.availableOutgoingBitrate != null ? Math.round(s.availableOutgoingBitrate / 1000) : undefined
    }))
    if (trace) {
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

interface JoinResult {
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

async function freeflowJoins (browser: Browser, relay: RelayProc, joins: number, settle: number, trace: boolean): Promise<JoinResult> {
  const detail: JoinTrial[] = []
  for (let i = 0; i < joins; i++) {
    const t = await joinTrial(browser, relay, i, settle, trace)
    detail.push(t)
    log(`join ${i + 1}/${joins}: first frame ${t.failed ? 'FAIL' : `${ms(t.firstFrameMs)} ms`}, quality ${ms(t.qualityMs)} ms${t.error != null ? ` (${t.error})` : ''}`)
  }
  const ok = detail.filter(d => !d.failed)
  const phases: Record<string, Stats> = {}
  for (const k of JOINER_MARKS) phases[k] = stats(ok.map(d => d.joiner[k]))
  const hostPhases: Record<string, Stats> = {}
  for (const k of ['seen', 'connRelayed', 'pc', 'remoteDescription', 'iceConnected', 'connDirect']) hostPhases[k] = stats(ok.map(d => d.host[k]))
  return {
    joins,
    failures: detail.length - ok.length,
    settleMs: settle,
    firstFrame: stats(ok.map(d => d.firstFrameMs)),
    firstDecoded: stats(ok.map(d => d.joiner.firstDecoded)),
    quality: stats(ok.map(d => d.qualityMs)),
    qualityAfterFirstFrame: stats(ok.map(d => d.qualityMs != null && d.firstFrameMs != null ? d.qualityMs - d.firstFrameMs : undefined)),
    qualityMissed: ok.filter(d => d.qualityMs == null).length,
    startHeights: ok.reduce<Record<string, number>>((acc, d) => { const k = String(d.startHeight ?? '?'); acc[k] = (acc[k] ?? 0) + 1; return acc }, {}),
    qualityByStartHeight: Object.fromEntries([...new Set(ok.map(d => String(d.startHeight ?? '?')))].map(h => [h, stats(ok.filter(d => String(d.startHeight ?? '?') === h).map(d => d.qualityMs))])),
    hostReady: stats(detail.map(d => d.hostReadyMs)),
    phases,
    hostPhases,
    streams: Object.fromEntries([...new Set(ok.flatMap(d => Object.keys(d.streams)))].sort().map(k => [k, stats(ok.map(d => d.streams[k]))])),
    detail
  }
}

// ---- 4. full meshes ----

interface StreamResult {
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

interface SenderResult {
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

interface MeshResult {
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
    if (oa == null || ob == null || oa.ssrc !== ob.ssrc || (ob.frames ?? 0) < (oa.frames ?? 0)) continue
    encoded += (ob.frames ?? 0) - (oa.frames ?? 0)
    sentBytes += (ob.bytes ?? 0) - (oa.bytes ?? 0)
    for (const [reason, sec] of Object.entries(ob.limitationSec ?? {})) {
      if (reason !== 'none') limited[reason] = (limited[reason] ?? 0) + Math.max(0, sec - (oa.limitationSec?.[reason] ?? 0))
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

/** CPU of a page's renderer process, of its main thread, and the main thread's time in script, ms so far (CDP). */
async function pageCpu (cdp: CDPSession): Promise<{ process: number, thread: number, script: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (name: string): number => 1_000 * (metrics.find((m: { name: string, value: number }) => m.name === name)?.value ?? NaN)
  return { process: get('ProcessTime'), thread: get('ThreadTime'), script: get('ScriptDuration') }
}

async function mesh (browser: Browser, relay: RelayProc, n: number, seconds: number, trace: boolean, join: 'together' | 'one-by-one'): Promise<MeshResult> {
  const key = await newRoomKey()
  const url = `${relay.http!}/#room=${key}`
  const people: Person[] = []
  const result: MeshResult = {
    n, allSeenMs: null, pairsUp: 0, seconds, streams: [], senders: [], rendererPct: [], mainThreadPct: [], scriptPct: [], join, events: [], timeoutsInWindow: 0,
    cpu: { machineBusyPct: NaN, cores: cpus().length, byGroupPct: {} },
    summary: { fpsMean: NaN, fpsMinStream: NaN, fpsMin: NaN, freezes: 0, freezeSec: 0, downSec: 0, medianHeight: NaN, cpuLimitedPct: NaN, rendererPctMean: NaN, mainThreadPctMean: NaN }
  }
  try {
    for (let i = 0; i < n; i++) people.push(await person(browser, url, trace))
    const cdps = await Promise.all(people.map(async p => {
      const cdp = await p.context.newCDPSession(p.page)
      await cdp.send('Performance.enable')
      return cdp
    }))
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
        if (await pairs(k) === k * (k - 1)) return true
        await sleep(250)
      }
      return false
    }
    const firstClick = Date.now()
    let clicked = firstClick
    if (join === 'together') {
      await Promise.all(people.map(async p => p.page.evaluate(clickJoin)))
      clicked = Date.now()
      for (const p of people) ids.push(await idOf(p))
      if (await until(n, clicked + MESH_DEADLINE)) result.allSeenMs = Date.now() - clicked
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
      if (all) result.allSeenMs = Date.now() - firstClick
    }
    if (result.allSeenMs == null) {
      result.diagnosis = []
      for (const p of people) result.diagnosis.push({ state: await p.page.evaluate(meshState), trace: p.trace.map(l => ({ t: l.at - clicked, text: l.text })), errors: p.errors })
    }
    await sleep(MESH_SETTLE)
    result.pairsUp = await pairs(n)
    // the window
    const cpu0 = snapshot()
    const pt0 = await Promise.all(cdps.map(pageCpu))
    const series: MeshPeerSample[][][] = [] // [step][page][remote]
    const stepAt: number[] = []
    for (let s = 0; s <= seconds; s++) {
      const step = Date.now()
      series.push(await Promise.all(people.map(async p => p.page.evaluate(meshSample))))
      stepAt.push(step)
      if (s < seconds) await sleep(Math.max(0, step + 1_000 - Date.now()))
    }
    const pt1 = await Promise.all(cdps.map(pageCpu))
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
    result.rendererPct = pt0.map((v, i) => 100 * (pt1[i].process - v.process) / window.wallMs)
    result.mainThreadPct = pt0.map((v, i) => 100 * (pt1[i].thread - v.thread) / window.wallMs)
    result.scriptPct = pt0.map((v, i) => 100 * (pt1[i].script - v.script) / window.wallMs)
    // streams, step by step: a step counts only where the same stream (ssrc) was there at both ends and its counters
    // went forward; anything else (no stream, a new RTCPeerConnection) is time the stream was down
    const windowSec = (stepAt[stepAt.length - 1] - stepAt[0]) / 1_000
    for (let r = 0; r < n; r++) {
      for (let sender = 0; sender < n; sender++) {
        if (sender === r) continue
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

// ---- report ----

function printReport (b: BaselineResult, f: JoinResult | undefined, meshes: MeshResult[], fps: number): void {
  const out: string[] = []
  out.push(`\nFreeFlow call bench, ${new Date().toISOString()}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${chromiumVersion()}, node ${process.version}`)
  out.push(`command: ${COMMAND}`)
  out.push(`fake camera: ${cameraOverride != null ? `${cameraOverride.width}x${cameraOverride.height} (EXPERIMENT: --camera forces it in the FreeFlow pages)` : '1280x720'} at ${fps} fps (chromium --use-fake-device-for-media-stream=fps=${fps}); loopback only\n`)
  out.push('Time to the first remote frame (ms)')
  out.push(table([
    ['', 'runs', 'fail', 'p50', 'p95', 'min', 'max'],
    ['baseline: start of connect -> first frame shown', String(b.runs), String(b.failures), ms(b.firstFrame.p50), ms(b.firstFrame.p95), ms(b.firstFrame.min), ms(b.firstFrame.max)],
    ['  (first frame decoded, getStats)', '', '', ms(b.firstDecoded.p50), ms(b.firstDecoded.p95), ms(b.firstDecoded.min), ms(b.firstDecoded.max)],
    ...(f != null
      ? [
          ['FreeFlow: click Join -> first frame shown in the tile', String(f.joins), String(f.failures), ms(f.firstFrame.p50), ms(f.firstFrame.p95), ms(f.firstFrame.min), ms(f.firstFrame.max)],
          ['  (first frame decoded, getStats)', '', '', ms(f.firstDecoded.p50), ms(f.firstDecoded.p95), ms(f.firstDecoded.min), ms(f.firstDecoded.max)],
          ['  (host: its click -> its relay reservation)', '', '', ms(f.hostReady.p50), ms(f.hostReady.p95), ms(f.hostReady.min), ms(f.hostReady.max)]
        ]
      : [])
  ]))
  out.push('  baseline: two RTCPeerConnections in one page, iceServers [], camera already open, both send audio+video')
  if (f != null) out.push(`  FreeFlow: fresh room and fresh identities per join; the host joined first and had its relay reservation + ${f.settleMs} ms; fail = no frame within ${JOIN_DEADLINE / 1000} s`)
  out.push(`\nTime until the received video is >= ${QUALITY.minWidth}x${QUALITY.minHeight} at >= ${QUALITY.minFps} fps (inbound-rtp; ms)`)
  out.push(table([
    ['', 'reached', 'p50', 'p95', 'max', 'first frames at'],
    ...(f != null
      ? [
          ['FreeFlow: click Join -> quality', `${f.quality.n}/${f.joins - f.failures}`, ms(f.quality.p50), ms(f.quality.p95), ms(f.quality.max), Object.entries(f.startHeights).map(([h, c]) => `${h}p x${c}`).join(', ')],
          ['FreeFlow: first frame -> quality', '', ms(f.qualityAfterFirstFrame.p50), ms(f.qualityAfterFirstFrame.p95), ms(f.qualityAfterFirstFrame.max), ''],
          ...Object.entries(f.qualityByStartHeight).map(([h, s]) => [`  joins whose video started at ${h}p: click -> quality`, `${s.n}/${f.startHeights[h]}`, ms(s.p50), ms(s.p95), ms(s.max), ''])
        ]
      : []),
    ...b.variants.map(v => [`baseline, ${v.name}: first frame -> quality`, `${v.quality.n}/${v.runs}`, ms(v.quality.p50), ms(v.quality.p95), ms(v.quality.max),
      Object.entries(v.startHeights.reduce<Record<string, number>>((acc, h) => { acc[h] = (acc[h] ?? 0) + 1; return acc }, {})).map(([h, c]) => `${h}p x${c}`).join(', ')])
  ]))
  out.push(`  not reached = not within ${QUALITY_WAIT / 1000} s of the first frame; a 16:9 camera reaches 480 lines only at 960x540 or more;`)
  out.push('  first frames at = height of the first decoded frames (the sender\'s encoder picks it at the start)')
  if (f != null) {
    out.push('\nFreeFlow join, where the time goes: first time each step was seen on the joiner\'s page (ms from its click, polled every 10 ms)')
    out.push(table([
      ['step', 'n', 'p50', 'p95', 'max'],
      ...JOINER_MARKS.map(k => [MARK_TEXT[k], String(f.phases[k].n), ms(f.phases[k].p50), ms(f.phases[k].p95), ms(f.phases[k].max)]),
      ...Object.entries(f.hostPhases).map(([k, s]) => [`host: ${MARK_TEXT[k] ?? k}`.replace('host seen', 'joiner seen').replace('to the host', 'to the joiner'), String(s.n), ms(s.p50), ms(s.p95), ms(s.max)]),
      ...Object.entries(f.streams).filter(([k]) => /freeflow|webrtc-signaling|kad/.test(k)).map(([k, s]) => [`first ${k.replace(' ', ' stream, ')} connection`, String(s.n), ms(s.p50), ms(s.p95), ms(s.max)])
    ]))
  }
  if (meshes.length > 0) {
    out.push(`\nFull mesh: one chromium, one browser context per participant, ${meshes[0].join === 'together' ? 'all clicking Join at once' : 'joining one by one (the next clicks Join once everyone decodes everyone)'}; then ${meshes[0].seconds} s measured ${MESH_SETTLE / 1000} s after everyone decoded everyone`)
    out.push(table([
      ['N', meshes[0].join === 'together' ? 'all seen' : 'joins in (ms)', 'streams', 'fps mean', 'worst stream', 'min 1s', 'freezes', 'frozen s', 'down s', 'timeouts', 'height p50', 'enc cpu-limited', 'renderer cpu/participant', 'of it main thread', 'chromium shared', 'machine busy', 'other procs'],
      ...meshes.map(m => {
        const shared = Object.entries(m.cpu.byGroupPct).filter(([k]) => k.startsWith('chromium:') && k !== 'chromium:renderer').reduce((a, [, v]) => a + v, 0)
        const joined = m.steps != null ? m.steps.slice(1).map(v => v == null ? 'FAIL' : ms(v)).join('/') : (m.allSeenMs == null ? 'FAIL' : `${ms(m.allSeenMs)} ms`)
        return [String(m.n), joined, `${m.pairsUp}/${m.n * (m.n - 1)}`, fixed(m.summary.fpsMean), fixed(m.summary.fpsMinStream),
          fixed(m.summary.fpsMin, 0), String(m.summary.freezes), fixed(m.summary.freezeSec), fixed(m.summary.downSec, 0), String(m.timeoutsInWindow), ms(m.summary.medianHeight), `${ms(m.summary.cpuLimitedPct)}%`,
          `${ms(m.summary.rendererPctMean)}% (${m.rendererPct.map(v => ms(v)).join('/')})`, `${ms(m.summary.mainThreadPctMean)}%`, `${ms(shared * m.cpu.cores)}%`, `${ms(m.cpu.machineBusyPct)}%`, `${ms((m.cpu.byGroupPct.other ?? 0))}%`]
      })
    ]))
    if (meshes[0].join !== 'together') out.push('  joins in = for the 2nd, 3rd, ... participant: its click -> everyone decoding everyone, ms')
    out.push('  fps = decoded frames/s per received stream (mean over streams; worst stream\'s mean; lowest 1 s step of any stream);')
    out.push('  down s = stream-seconds without video (stream gone or replaced); streams = pairs decoding when the window opened;')
    out.push('  timeouts = members a page dropped during the window for silence (room presence timeout);')
    out.push('  freezes = freezeCount/totalFreezesDuration deltas summed over streams; enc cpu-limited = share of the window senders\' encoders')
    out.push('  spent with qualityLimitationReason cpu; renderer cpu = CDP Performance.getMetrics ProcessTime delta of each page\'s renderer')
    out.push('  (WebRTC encode/decode run there), % of one core; main thread = its ThreadTime (JS: libp2p and the app); chromium shared = browser, GPU (compositing) and utility processes from')
    out.push('  /proc, % of one core; machine busy and other procs (everything not started by this bench) = % of all cores, /proc/stat')
    for (const m of meshes) if (m.error != null) out.push(`  N=${m.n}: ${m.error}`)
  }
  out.push('\nGoals:')
  if (f != null) {
    const ratio = f.firstFrame.p50 / b.firstFrame.p50
    out.push(`  FreeFlow p50 join -> first frame within ${GOALS.firstFrameVsBaseline}x the baseline: ${ratio <= GOALS.firstFrameVsBaseline ? 'MET' : 'MISSED'} (${ms(f.firstFrame.p50)} vs ${ms(b.firstFrame.p50)} ms: ${fixed(ratio)}x)`)
    out.push(`  no failed join in ${f.joins}: ${f.failures <= GOALS.failedJoins ? 'MET' : 'MISSED'} (${f.failures} failed)`)
    const qmax = f.quality.n === f.joins - f.failures ? f.quality.max : NaN
    out.push(`  ${QUALITY.minWidth}x${QUALITY.minHeight} @ ${QUALITY.minFps} fps within ${GOALS.qualityMs / 1000} s of joining: ${f.quality.p50 <= GOALS.qualityMs ? `MET at p50 (${ms(f.quality.p50)} ms)` : `MISSED at p50 (${ms(f.quality.p50)} ms)`}, ` +
      `${qmax <= GOALS.qualityMs ? 'every join' : `not every join (max ${ms(f.quality.max)} ms, ${f.qualityMissed} never)`}`)
  }
  const m4 = meshes.find(m => m.n === GOALS.meshN)
  if (m4 != null) {
    const met = m4.summary.fpsMinStream >= GOALS.meshFps && m4.summary.freezes === 0 && m4.pairsUp === m4.n * (m4.n - 1)
    out.push(`  ${GOALS.meshN} participants at >= ${GOALS.meshFps} fps, no freezes: ${met ? 'MET' : 'MISSED'} (worst stream ${fixed(m4.summary.fpsMinStream)} fps, ${m4.summary.freezes} freezes, machine ${ms(m4.cpu.machineBusyPct)}% busy)`)
  }
  const disturbed = meshes.filter(m => (m.cpu.byGroupPct.other ?? 0) > DISTURBED_PCT).map(m => `mesh N=${m.n} (other processes ${ms(m.cpu.byGroupPct.other)}%)`)
  if (disturbed.length > 0) out.push(`  disturbed by other work on the machine: ${disturbed.join(', ')}`)
  process.stdout.write(out.join('\n') + '\n')
}

function chromiumVersion (): string {
  return spawnSync(CHROMIUM, ['--version']).stdout?.toString().trim() ?? 'chromium'
}

// ---- main ----

let browser: Browser | undefined

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      'baseline-runs': { type: 'string', default: '30' },
      joins: { type: 'string', default: '30' },
      mesh: { type: 'string', default: '2,3,4,5' },
      'mesh-seconds': { type: 'string', default: '20' },
      settle: { type: 'string', default: '1000' },
      fps: { type: 'string', default: '30' },
      'no-trace': { type: 'boolean', default: false },
      'mesh-join': { type: 'string', default: 'one-by-one' },
      'no-variants': { type: 'boolean', default: false },
      camera: { type: 'string' }
    }
  })
  const started = new Date()
  const loadBefore = loadavg()
  const fps = Number(values.fps)
  if (values.camera != null) {
    const [width, height] = values.camera.split('x').map(Number)
    cameraOverride = { width, height }
  }
  const trace = values['no-trace'] !== true
  const sizes = values.mesh.split(',').map(Number).filter(n => n >= 2)
  // every browser here reserves a slot on the relay from 127.0.0.1, and a reservation outlives the page that held
  // it (TTL 2 h): the default limit of 8 per IP would lock out the ninth page of the bench
  const relay = await startRelay({ listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], args: ['--max-reservations-per-ip', String(RELAY_SLOTS), '--max-reservations', String(RELAY_SLOTS)] })
  if (relay.http == null) throw new Error('the relay serves no HTTP')
  // the fake camera runs at 20 fps unless told otherwise: a 25 fps goal needs more
  browser = await launch([`--use-fake-device-for-media-stream=fps=${fps}`])
  const phaseCpu: Record<string, { wallMs: number, machineBusyPct: number, otherPct: number }> = {}
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const a = snapshot()
    const out = await fn()
    const w = between(a, snapshot(), cpus().length)
    phaseCpu[name] = { wallMs: w.wallMs, machineBusyPct: w.machineBusyPct, otherPct: 100 * w.byGroup.other / (w.wallMs * w.cores) }
    return out
  }
  const base = await phase('baseline', async () => baseline(browser!, relay, Number(values['baseline-runs']), values['no-variants'] !== true))
  const joins = Number(values.joins) > 0 ? await phase('joins', async () => freeflowJoins(browser!, relay, Number(values.joins), Number(values.settle), trace)) : undefined
  const meshes: MeshResult[] = []
  for (const n of sizes) {
    const m = await mesh(browser, relay, n, Number(values['mesh-seconds']), trace, values['mesh-join'] === 'together' ? 'together' : 'one-by-one')
    meshes.push(m)
    log(`mesh N=${n}: all seen ${m.allSeenMs == null ? 'FAIL' : `${m.allSeenMs} ms`}${m.steps != null ? ` (joins ${m.steps.map(v => ms(v)).join('/')})` : ''}, fps mean ${fixed(m.summary.fpsMean)}, worst ${fixed(m.summary.fpsMinStream)}, freezes ${m.summary.freezes}, machine ${ms(m.cpu.machineBusyPct)}% busy${m.error != null ? ` (${m.error})` : ''}`)
  }
  printReport(base, joins, meshes, fps)
  const cpu = cpus()
  const report = {
    date: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    command: COMMAND,
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      platform: platform(),
      kernel: release(),
      node: process.version,
      chromium: chromiumVersion(),
      /** 1, 5 and 15 minute load averages when the bench started and ended (other work on the machine skews times). */
      loadavgStart: loadBefore,
      loadavgEnd: loadavg()
    },
    setup: {
      relay: `one relay for the whole bench (TCP + WebSockets + HTTP on 127.0.0.1), serving the web app, --max-reservations-per-ip ${RELAY_SLOTS}; loopback-only namespace`,
      browser: `${CHROMIUM} via playwright-core, headless, fake camera/microphone at ${fps} fps, one browser context per participant`,
      camera: cameraOverride != null ? { experiment: 'getUserMedia forced to this size in every FreeFlow page', ...cameraOverride } : CAMERA,
      quality: QUALITY,
      joinDeadlineMs: JOIN_DEADLINE,
      qualityWaitMs: QUALITY_WAIT,
      meshSettleMs: MESH_SETTLE,
      trace: trace ? 'freeflow:* debug logs on in the pages (console), kept per join in detail[].trace' : 'off',
      marks: MARK_TEXT
    },
    goals: { ...GOALS, quality: QUALITY },
    phaseCpu,
    baseline: base,
    freeflow: joins,
    mesh: meshes
  }
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(`${RESULTS}call.json`, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`\nwrote ${RESULTS}call.json\n`)
}

async function stopEverything (): Promise<void> {
  await browser?.close().catch(() => {})
  browser = undefined
  await cleanup()
}

let finished = false
const watchdog = setTimeout(() => {
  log(`still running after ${WATCHDOG / 60_000} minutes; stopping everything`)
  void stopEverything().finally(() => process.exit(1))
}, WATCHDOG)
function onSignal (sig: NodeJS.Signals): void {
  if (finished) return
  log(`${sig}; stopping every process`)
  void stopEverything().finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

try {
  await main()
} catch (err: any) {
  log(`failed - ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  await stopEverything()
  finished = true
  clearTimeout(watchdog)
}
