/**
 * `npm run bench:record`: what recording costs. Four participants in a call (real browsers, one chromium, one
 * browser context each, fake camera and microphone, loopback only); three windows of `--seconds` each:
 *
 * 1. call: nobody records; a plain terminal peer (`freeflow join`) sits in the room as the terminal baseline
 * 2. browser: participant 1 records the call in its page (the record button: canvas composition, audio mix,
 *    MediaRecorder, chunks to OPFS)
 * 3. cli: `freeflow record` joins as a fifth member and writes every track to disk; the pages' recording is off
 *
 * For each window: CPU of every page's renderer (CDP Performance.getMetrics ProcessTime delta, % of one core),
 * its JS heap, the renderers' and the browser process's resident memory (/proc), the terminal peer's or the
 * recorder's CPU and resident memory, received frame rate, and the machine. Not a test: it asserts nothing,
 * prints a table and writes bench/results/record.json. Run it in a loopback-only namespace:
 *
 *   unshare -n sh -c 'ip link set lo up && npm run bench:record'
 *
 * Options: node dist/bench/record.js [--seconds 60] [--participants 4] [--fps 30]
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, platform, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { launch } from '../test/helpers/browser.js'
import { BIN, cleanup, Proc, run, sleep, startPeer, startRelay, tempDir, type RelayProc } from '../test/helpers/procs.js'
import { meshSample, type MeshPeerSample } from './call-page.js'
import { allProcs, between, chromiumRole, descendantsOf, readProc, snapshot } from './cpu.js'
import { fixed, table } from './report.js'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))
const COMMAND = "unshare -n sh -c 'ip link set lo up && npm run bench:record'"
/** Everyone decoding everyone, at most this long after the last click, ms. */
const MESH_DEADLINE = 90_000
/** Before a window opens: let encoders, the budget and recording settle, ms. */
const SETTLE = 5_000
/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 20 * 60_000

interface Person {
  name: string
  context: BrowserContext
  page: Page
  cdp: CDPSession
  /** the renderer process that runs this page */
  rendererPid?: number
  errors: string[]
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

function log (text: string): void {
  process.stderr.write(`bench: ${text}\n`)
}

function rssMiB (pid: number | undefined): number | null {
  if (pid == null) return null
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m == null ? null : Number(m[1]) / 1024
  } catch {
    return null
  }
}

function rendererPids (): Set<number> {
  return new Set(descendantsOf(process.pid, allProcs()).filter(p => chromiumRole(p.cmd) === 'renderer').map(p => p.pid))
}

function browserPid (): number | undefined {
  return descendantsOf(process.pid, allProcs()).find(p => p.cmd.includes('chromium') && chromiumRole(p.cmd) === 'browser')?.pid
}

async function person (browser: Browser, url: string, name: string): Promise<Person> {
  const before = rendererPids()
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(url).origin })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', e => { errors.push(e.message) })
  await page.goto(url)
  await page.waitForFunction(() => (document.querySelector('[data-testid=local-video]') as HTMLVideoElement | null)?.videoWidth !== 0, undefined, { timeout: 20_000 })
  const fresh = [...rendererPids()].filter(pid => !before.has(pid))
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  return { name, context, page, cdp, rendererPid: fresh.length === 1 ? fresh[0] : undefined, errors }
}

async function metrics (cdp: CDPSession): Promise<{ processMs: number, heapMiB: number }> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (n: string): number => metrics.find((m: { name: string, value: number }) => m.name === n)?.value ?? NaN
  return { processMs: 1_000 * get('ProcessTime'), heapMiB: get('JSHeapUsedSize') / 1024 / 1024 }
}

function dirBytes (dir: string): number {
  let total = 0
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name)
      total += entry.isDirectory() ? dirBytes(p) : statSync(p).size
    }
  } catch {}
  return total
}

async function opfsBytes (page: Page): Promise<number> {
  return await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0)
}

/** One window: CPU, memory and frame rate over `seconds`, sampled every second. */
async function measure (name: Window['name'], people: Person[], terminal: Proc, seconds: number, written?: () => Promise<number>): Promise<Window> {
  const cpu0 = snapshot()
  const m0 = await Promise.all(people.map(async p => metrics(p.cdp)))
  const bPid = browserPid()
  const b0 = bPid != null ? readProc(bPid)?.cpuMs ?? 0 : 0
  const tPid = terminal.child.pid
  const t0 = tPid != null ? readProc(tPid)?.cpuMs ?? 0 : 0
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
  const m1 = await Promise.all(people.map(async p => metrics(p.cdp)))
  const b1 = bPid != null ? readProc(bPid)?.cpuMs ?? 0 : 0
  const t1 = tPid != null ? readProc(tPid)?.cpuMs ?? 0 : 0
  const w = between(cpu0, snapshot(), cpus().length)
  const pages: PageWindow[] = people.map((p, i) => {
    const fps: number[] = []
    let freezes = 0
    for (const a of first[i]) {
      const b = last[i].find(x => x.remoteId === a.remoteId)
      if (a.inbound == null || b?.inbound == null || a.inbound.ssrc !== b.inbound.ssrc) continue
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
    browserProcess: { cpuPct: 100 * (b1 - b0) / wallMs, rssMiB: rssMiB(bPid) },
    terminal: { command: terminal.label, cpuPct: 100 * (t1 - t0) / wallMs, rssMiB: rssMiB(tPid), rssPeakMiB: rssPeak > 0 ? rssPeak : null },
    machineBusyPct: w.machineBusyPct,
    otherPct: 100 * w.byGroup.other / (w.wallMs * w.cores),
    ...(written != null ? { writtenMiB: (await written() - w0) / 1024 / 1024 } : {})
  }
}

/** Every page decodes every other page's video. */
async function meshUp (people: Person[], deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    let up = 0
    for (const p of people) up += (await p.page.evaluate(meshSample)).filter(s => (s.inbound?.frames ?? 0) > 0).length
    if (up >= people.length * (people.length - 1)) return true
    await sleep(500)
  }
  return false
}

function printReport (windows: Window[]): void {
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
  process.stdout.write(`\nRecording ${windows[0]?.pages.length ?? 0} participants, ${fixed(windows[0]?.seconds, 0)} s per window\n${table(rows)}\n`)
  process.stdout.write([
    '  call = nobody records (a plain `freeflow join` is the terminal member); browser = participant 1 records in its page;',
    '  cli = `freeflow record` is a fifth member writing every track (the call is then 5 members: senders encode one more stream each);',
    '  cpu = % of one core (renderers: CDP ProcessTime); rss = resident memory from /proc; written = what the recording added on disk',
    '  (OPFS usage of the recorder page, or the recorder\'s --out directory)',
    ''
  ].join('\n'))
}

let browser: Browser | undefined

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, participants: { type: 'string', default: '4' }, fps: { type: 'string', default: '30' } } })
  const seconds = Number(values.seconds)
  const n = Number(values.participants)
  const started = new Date()
  const loadBefore = loadavg()
  const relay: RelayProc = await startRelay({ listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], args: ['--max-reservations-per-ip', '64'] })
  if (relay.http == null) throw new Error('the relay serves no HTTP')
  const { code, stdout, stderr } = await run(['room', 'new'])
  if (code !== 0) throw new Error(`freeflow room new failed: ${stderr}`)
  const key = stdout.trim()
  const url = `${relay.http}/#room=${key}`
  browser = await launch([`--use-fake-device-for-media-stream=fps=${values.fps}`])
  const people: Person[] = []
  for (let i = 0; i < n; i++) people.push(await person(browser, url, `P${i + 1}`))
  for (const p of people) {
    await p.page.getByTestId('display-name').fill(p.name)
    await p.page.getByTestId('join').click()
    await p.page.locator('#call').waitFor({ state: 'visible', timeout: 30_000 })
  }
  if (!await meshUp(people, Date.now() + MESH_DEADLINE)) throw new Error(`the ${n} pages did not all decode each other within ${MESH_DEADLINE / 1000} s`)
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
  for (const p of people) await p.page.getByTestId('recording-indicator').waitFor({ state: 'visible', timeout: 15_000 })
  await sleep(SETTLE)
  windows.push(await measure('browser', people, plain, seconds, async () => await opfsBytes(rec.page)))
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
  for (const p of people) if (p.errors.length > 0) log(`${p.name} page errors: ${p.errors.slice(0, 3).join(' | ')}`)

  printReport(windows)
  const cpu = cpus()
  const report = {
    date: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    command: COMMAND,
    bin: BIN,
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryBytes: totalmem(), platform: platform(), kernel: release(), node: process.version, loadavgStart: loadBefore, loadavgEnd: loadavg() },
    setup: { participants: n, seconds, fakeCameraFps: Number(values.fps), settleMs: SETTLE },
    windows
  }
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(`${RESULTS}record.json`, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`wrote ${RESULTS}record.json\n`)
}

async function stopEverything (): Promise<void> {
  await browser?.close().catch(() => {})
  browser = undefined
  await cleanup()
}

const watchdog = setTimeout(() => {
  log(`still running after ${WATCHDOG / 60_000} minutes; stopping everything`)
  void stopEverything().finally(() => process.exit(1))
}, WATCHDOG)
process.once('SIGINT', () => { void stopEverything().finally(() => process.exit(130)) })
try {
  await main()
} catch (err: any) {
  log(`failed - ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  await stopEverything()
  clearTimeout(watchdog)
}
