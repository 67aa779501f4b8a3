/**
 * `npm run bench:record`: what recording costs. Four participants in a call (real browsers, one chromium, one
 * browser context each, fake camera and microphone, loopback only); three windows of `--seconds` each:
 *
 * 1. call: nobody records; a plain terminal peer (`freeflow join`) sits in the room as the terminal baseline
 * 2. browser: participant 1 records the call in its page (the record button: canvas composition, audio mix,
 * MediaRecorder, chunks to OPFS)
 * 3. cli: `freeflow record` joins as a fifth member and writes every track to disk; the pages' recording is off
 *
 * For each window: CPU of every page's renderer (CDP Performance.getMetrics ProcessTime delta, % of one core),
 * its JS heap, the renderers' and the browser process's resident memory (/proc), the terminal peer's or the
 * recorder's CPU and resident memory, received frame rate, and the machine. Not a test: it asserts nothing,
 * prints a table and writes bench/results/record.json. Run it in a loopback-only namespace:
 *
 * unshare -n sh -c 'ip link set lo up && npm run bench:record'
 *
 * Options: node dist/bench/record.js [--seconds 60] [--participants 4] [--fps 30]
 *
 * A short run: node dist/bench/record.js --seconds 3 --participants 2
 */
import { readdirSync, statSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BIN, newRoomKey, Proc, sleep, startPeer, startRelay, tempDir } from '../harness/procs.ts'
import { meshSample } from './call-page.ts'
import { allProcs, between, chromiumRole, descendantsOf, rssMiB, snapshot } from './cpu.ts'
import { log, runBench } from './harness.ts'
import { metricsSession, pageMetrics, person } from './pages.ts'
import { fixed, table } from './report.ts'
import type { MeshPeerSample } from './call-page.ts'
import type { Person } from './pages.ts'
import type { RelayProc } from '../harness/procs.ts'
import type { Browser, CDPSession, Page } from 'playwright-core'

const COMMAND = "unshare -n sh -c 'ip link set lo up && npm run bench:record'"
/** Everyone decoding everyone, at most this long after the last click, ms. */
const MESH_DEADLINE = 90_000
/** Before a window opens: let encoders, the budget and recording settle, ms. */
const SETTLE = 5_000
/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 20 * 60_000

interface Participant extends Person {
  name: string
  cdp: CDPSession
  /** the renderer process that runs this page */
  rendererPid?: number
}

interface PageWindow {
  name: string
  /** renderer CPU, % of one core */
  cpuPct: number
  /** JS heap in use at the end of the window, MiB */
  jsHeapMiB: number
  /** renderer resident memory at the end of the window, MiB */
  rssMiB: number | null
  /** mean decoded frame rate of the video it receives, and its streams */
  fpsMean: number
  streams: number
  freezes: number
}

interface Window {
  name: 'call' | 'browser' | 'cli'
  seconds: number
  pages: PageWindow[]
  /** the browser process (OPFS writes and blob storage go through it) */
  browserProcess: { cpuPct: number, rssMiB: number | null }
  /** the terminal member: a plain `freeflow join` in 'call' and 'browser', `freeflow record` in 'cli' */
  terminal: { command: string, cpuPct: number, rssMiB: number | null, rssPeakMiB: number | null }
  machineBusyPct: number
  otherPct: number
  /** what was written in the window: the page's OPFS usage or the recorder's files, MiB */
  writtenMiB?: number
}

function rendererPids (): Set<number> {
  return new Set(descendantsOf(process.pid, allProcs()).filter(p => chromiumRole(p.cmd) === 'renderer').map(p => p.pid))
}

function browserPid (): number | undefined {
  return descendantsOf(process.pid, allProcs()).find(p => p.cmd.includes('chromium') && chromiumRole(p.cmd) === 'browser')?.pid
}

/** A person on the web app (pages.ts) with the renderer process that runs its page and a DevTools session on it. */
async function participant (browser: Browser, url: string, name: string): Promise<Participant> {
  const before = rendererPids()
  const p = await person(browser, url, { previewTimeoutMs: 20_000 })
  const fresh = [...rendererPids()].filter(pid => !before.has(pid))
  return { ...p, name, cdp: await metricsSession(p), rendererPid: fresh.length === 1 ? fresh[0] : undefined }
}

function dirBytes (dir: string): number {
  let total = 0
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name)
      total += entry.isDirectory() ? dirBytes(p) : statSync(p).size
    }
  } catch { /* gone: nothing written there */ }
  return total
}

async function opfsBytes (page: Page): Promise<number> {
  return page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0)
}

/** One window: CPU, memory and frame rate over `seconds`, sampled every second. */
async function measure (name: Window['name'], people: Participant[], terminal: Proc, seconds: number, written?: () => Promise<number>): Promise<Window> {
  const cpu0 = snapshot()
  const m0 = await Promise.all(people.map(async p => pageMetrics(p.cdp)))
  const bPid = browserPid()
  const tPid = terminal.child.pid
  const w0 = written != null ? await written() : 0
  const start = Date.now()
  let rssPeak = 0
  const first: MeshPeerSample[][] = await Promise.all(people.map(async p => p.page.evaluate(meshSample)))
  for (let s = 0; s < seconds; s++) {
    await sleep(1_000)
    rssPeak = Math.max(rssPeak, rssMiB(tPid) ?? 0)
  }
  const last: MeshPeerSample[][] = await Promise.all(people.map(async p => p.page.evaluate(meshSample)))
  const wallMs = Date.now() - start
  const m1 = await Promise.all(people.map(async p => pageMetrics(p.cdp)))
  const w = between(cpu0, snapshot(), cpus().length)
  // the browser process and the terminal member are ours: their CPU in the window, from the same two snapshots
  const cpuMs = (pid: number | undefined): number => pid != null ? w.byPid.get(pid)?.cpuMs ?? 0 : 0
  const pages: PageWindow[] = people.map((p, i) => {
    const fps: number[] = []
    let freezes = 0
    for (const a of first[i]) {
      const b = last[i].find(x => x.remoteId === a.remoteId)
      if (a.inbound == null || b?.inbound == null || a.inbound.ssrc !== b.inbound.ssrc) { continue }
      fps.push(((b.inbound.frames ?? 0) - (a.inbound.frames ?? 0)) / ((b.inbound.t - a.inbound.t) / 1_000))
      freezes += (b.inbound.freezeCount ?? 0) - (a.inbound.freezeCount ?? 0)
    }
    return {
      name: p.name,
      cpuPct: 100 * (m1[i].processMs - m0[i].processMs) / wallMs,
      jsHeapMiB: m1[i].heapMiB,
      rssMiB: rssMiB(p.rendererPid),
      fpsMean: fps.length > 0 ? fps.reduce((x, y) => x + y, 0) / fps.length : 0,
      streams: fps.length,
      freezes
    }
  })
  return {
    name,
    seconds: wallMs / 1_000,
    pages,
    browserProcess: { cpuPct: 100 * cpuMs(bPid) / wallMs, rssMiB: rssMiB(bPid) },
    terminal: { command: terminal.label, cpuPct: 100 * cpuMs(tPid) / wallMs, rssMiB: rssMiB(tPid), rssPeakMiB: rssPeak > 0 ? rssPeak : null },
    machineBusyPct: w.machineBusyPct,
    otherPct: 100 * w.byGroup.other / (w.wallMs * w.cores),
    ...(written != null ? { writtenMiB: (await written() - w0) / 1024 / 1024 } : {})
  }
}

/** Every page decodes every other page's video. */
async function meshUp (people: Participant[], deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    let up = 0
    for (const p of people) { up += (await p.page.evaluate(meshSample)).filter(s => (s.inbound?.frames ?? 0) > 0).length }
    if (up >= people.length * (people.length - 1)) { return true }
    await sleep(500)
  }
  return false
}

function recordReport (windows: Window[]): string {
  const rows = [['window', 'recorder page cpu', 'its heap MiB', 'its rss MiB', 'other pages cpu (mean)', 'fps received (mean)', 'freezes', 'browser proc cpu', 'browser rss MiB', 'terminal member', 'its cpu', 'its rss MiB (peak)', 'written MiB', 'machine busy', 'other procs']]
  for (const w of windows) {
    const [rec, ...others] = w.pages
    rows.push([
      w.name,
      `${fixed(rec.cpuPct, 0)}%`,
      fixed(rec.jsHeapMiB, 0),
      fixed(rec.rssMiB, 0),
      `${fixed(others.reduce((a, p) => a + p.cpuPct, 0) / others.length, 0)}%`,
      fixed(w.pages.reduce((a, p) => a + p.fpsMean, 0) / w.pages.length, 1),
      String(w.pages.reduce((a, p) => a + p.freezes, 0)),
      `${fixed(w.browserProcess.cpuPct, 0)}%`,
      fixed(w.browserProcess.rssMiB, 0),
      w.terminal.command,
      `${fixed(w.terminal.cpuPct, 0)}%`,
      `${fixed(w.terminal.rssMiB, 0)} (${fixed(w.terminal.rssPeakMiB, 0)})`,
      fixed(w.writtenMiB, 1),
      `${fixed(w.machineBusyPct, 0)}%`,
      `${fixed(w.otherPct, 0)}%`
    ])
  }
  return [
    `\nRecording ${windows[0]?.pages.length ?? 0} participants, ${fixed(windows[0]?.seconds, 0)} s per window`,
    table(rows),
    '  call = nobody records (a plain `freeflow join` is the terminal member); browser = participant 1 records in its page;',
    '  cli = `freeflow record` is a fifth member writing every track (the call is then 5 members: senders encode one more stream each);',
    '  cpu = % of one core (renderers: CDP ProcessTime); rss = resident memory from /proc; written = what the recording added on disk',
    '  (OPFS usage of the recorder page, or the recorder\'s --out directory)',
    ''
  ].join('\n')
}

await runBench({ name: 'record', watchdogMs: WATCHDOG }, async (bench) => {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, participants: { type: 'string', default: '4' }, fps: { type: 'string', default: '30' } } })
  const seconds = Number(values.seconds)
  const n = Number(values.participants)
  const relay: RelayProc = await startRelay({ listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], args: ['--max-reservations-per-ip', '64'] })
  if (relay.http == null) { throw new Error('the relay serves no HTTP') }
  const key = await newRoomKey()
  const url = `${relay.http}/#room=${key}`
  const browser = await bench.launch([`--use-fake-device-for-media-stream=fps=${values.fps}`])
  const people: Participant[] = []
  for (let i = 0; i < n; i++) { people.push(await participant(browser, url, `P${i + 1}`)) }
  for (const p of people) {
    await p.page.getByTestId('display-name').fill(p.name)
    await p.page.getByTestId('join').click()
    await p.page.locator('#call').waitFor({ state: 'visible', timeout: 30_000 })
  }
  if (!await meshUp(people, Date.now() + MESH_DEADLINE)) { throw new Error(`the ${n} pages did not all decode each other within ${MESH_DEADLINE / 1000} s`) }
  log(`${n} participants decode each other`)
  const windows: Window[] = []

  // 1. nobody records
  const plain = startPeer(key, 'terminal', [relay.tcp()])
  await plain.waitFor('ready', e => e.event === 'ready', 30_000)
  await sleep(SETTLE)
  windows.push(await measure('call', people, plain, seconds))
  log(`call: recorder page ${fixed(windows[0].pages[0].cpuPct, 0)}% cpu`)

  // 2. participant 1 records in its page
  const rec = people[0]
  await rec.page.getByTestId('record').click()
  for (const p of people) { await p.page.getByTestId('recording-indicator').waitFor({ state: 'visible', timeout: 15_000 }) }
  await sleep(SETTLE)
  windows.push(await measure('browser', people, plain, seconds, async () => opfsBytes(rec.page)))
  log(`browser: recorder page ${fixed(windows[1].pages[0].cpuPct, 0)}% cpu, ${fixed(windows[1].writtenMiB, 1)} MiB written`)
  await rec.page.getByTestId('record').click()
  await rec.page.getByTestId('recording-download').waitFor({ timeout: 30_000 })
  plain.kill('SIGINT')
  await plain.exited

  // 3. the command-line recorder
  const out = tempDir('freeflow-bench-record-')
  const recorder = new Proc('freeflow record', ['record', key, '--json', '--bootstrap', relay.tcp(), '--out', out, '--data-dir', join(out, '.identity')])
  await recorder.waitFor('ready', e => e.event === 'ready', 30_000)
  // every participant's camera and microphone
  await recorder.waitFor('every track', () => recorder.events.filter(e => e.event === 'track:start').length >= 2 * n, 60_000)
  await sleep(SETTLE)
  windows.push(await measure('cli', people, recorder, seconds, async () => dirBytes(out)))
  log(`cli: recorder ${fixed(windows[2].terminal.cpuPct, 0)}% cpu, ${fixed(windows[2].writtenMiB, 1)} MiB written`)
  recorder.kill('SIGINT')
  await recorder.exited
  for (const p of people) { if (p.errors.length > 0) { log(`${p.name} page errors: ${p.errors.slice(0, 3).join(' | ')}`) } }

  const json = {
    date: bench.started.toISOString(),
    durationMs: bench.elapsed(),
    command: COMMAND,
    bin: BIN,
    machine: bench.machine(),
    setup: { participants: n, seconds, fakeCameraFps: Number(values.fps), settleMs: SETTLE },
    windows
  }
  return { text: recordReport(windows), json }
})
