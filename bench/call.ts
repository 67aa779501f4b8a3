/**
 * `npm run bench:call`: how fast a call starts and how well it runs, in real browsers (Debian's chromium, fake
 * camera) on loopback, next to a baseline of two plain RTCPeerConnections in one page. Not a test: it asserts
 * nothing, prints a table and writes bench/results/call.json. Run it in a loopback-only namespace:
 *
 * unshare -n sh -c 'ip link set lo up && npm run bench:call'
 *
 * 1. baseline: two RTCPeerConnections in one page (iceServers [], no libp2p), start of connect -> first remote frame
 * (call-baseline.ts)
 * 2. FreeFlow: a host joins a fresh room; once it has its relay reservation (and `--settle` ms more), a second
 * participant clicks Join; click -> first frame of the host's video shown in the joiner's tile (call-join.ts)
 * 3. time until the received video is at least 640x480 at 25 fps (inbound-rtp of the receiver) (call-join.ts)
 * 3b. the second baseline, what a person could pick instead: PeerJS with its own signalling server on loopback, the
 * same join measured the same way (call-peerjs.ts)
 * 4. full meshes of N participants (one chromium, one browser context each): decoded frame rate per received
 * stream, freezes, CPU per participant and of the machine over `--mesh-seconds` (call-mesh.ts)
 *
 * Options: node dist/bench/call.js [--baseline-runs 30] [--no-variants] [--joins 30] [--peerjs-runs 10] [--settle 1000]
 * [--mesh 2,3,4,5] [--mesh-seconds 20] [--mesh-join one-by-one|together] [--fps 30] [--no-trace] [--camera WxH]
 *
 * A short run: node dist/bench/call.js --baseline-runs 1 --no-variants --joins 1 --peerjs-runs 1 --mesh 2 --mesh-seconds 3
 */
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import { CHROMIUM } from '../harness/browser.ts'
import { startRelay } from '../harness/procs.ts'
import { baseline } from './call-baseline.ts'
import { freeflowJoins, MARK_TEXT } from './call-join.ts'
import { mesh } from './call-mesh.ts'
import { peerjsBaseline } from './call-peerjs.ts'
import { callReport, chromiumVersion } from './call-report.ts'
import { CAMERA, COMMAND, GOALS, JOIN_DEADLINE, MESH_SETTLE, QUALITY, QUALITY_WAIT } from './call-setup.ts'
import { between, snapshot } from './cpu.ts'
import { log, runBench } from './harness.ts'
import { fixed, ms } from './report.ts'
import type { MeshResult } from './call-mesh.ts'
import type { PersonOptions } from './pages.ts'

/** Reservations the relay grants (per IP and in all): more than the bench's pages. */
const RELAY_SLOTS = 1_000
/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 15 * 60_000

await runBench({ name: 'call', watchdogMs: WATCHDOG }, async (bench) => {
  const { values } = parseArgs({
    options: {
      'baseline-runs': { type: 'string', default: '30' },
      joins: { type: 'string', default: '30' },
      'peerjs-runs': { type: 'string', default: '10' },
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
  const fps = Number(values.fps)
  const trace = values['no-trace'] !== true
  // --camera WxH: open the camera at this size instead of what the app asks for (an experiment)
  const [width, height] = (values.camera ?? '').split('x').map(Number)
  const camera = values.camera != null ? { width, height } : undefined
  const people: PersonOptions = { trace, camera }
  const sizes = values.mesh.split(',').map(Number).filter(n => n >= 2)
  // every browser here reserves a slot on the relay from 127.0.0.1, and a reservation outlives the page that held
  // it (TTL 2 h): the default limit of 8 per IP would lock out the ninth page of the bench
  const relay = await startRelay({ listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], args: ['--max-reservations-per-ip', String(RELAY_SLOTS), '--max-reservations', String(RELAY_SLOTS)] })
  if (relay.http == null) { throw new Error('the relay serves no HTTP') }
  // the fake camera runs at 20 fps unless told otherwise: a 25 fps goal needs more
  const browser = await bench.launch([`--use-fake-device-for-media-stream=fps=${fps}`])
  const phaseCpu: Record<string, { wallMs: number, machineBusyPct: number, otherPct: number }> = {}
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const a = snapshot()
    const out = await fn()
    const w = between(a, snapshot(), cpus().length)
    phaseCpu[name] = { wallMs: w.wallMs, machineBusyPct: w.machineBusyPct, otherPct: 100 * w.byGroup.other / (w.wallMs * w.cores) }
    return out
  }
  const base = await phase('baseline', async () => baseline(browser, relay, Number(values['baseline-runs']), values['no-variants'] !== true))
  const joins = Number(values.joins) > 0 ? await phase('joins', async () => freeflowJoins(browser, relay, Number(values.joins), Number(values.settle), people)) : undefined
  const peerjs = Number(values['peerjs-runs']) > 0 ? await phase('peerjs', async () => peerjsBaseline(browser, Number(values['peerjs-runs']), Number(values.settle))) : undefined
  const meshes: MeshResult[] = []
  for (const n of sizes) {
    const m = await mesh({ browsers: [browser], origin: relay.http! }, n, Number(values['mesh-seconds']), people, values['mesh-join'] === 'together' ? 'together' : 'one-by-one')
    meshes.push(m)
    log(`mesh N=${n}: all seen ${m.allSeenMs == null ? 'FAIL' : `${m.allSeenMs} ms`}${m.steps != null ? ` (joins ${m.steps.map(v => ms(v)).join('/')})` : ''}, fps mean ${fixed(m.summary.fpsMean)}, worst ${fixed(m.summary.fpsMinStream)}, freezes ${m.summary.freezes}, machine ${ms(m.cpu.machineBusyPct)}% busy${m.error != null ? ` (${m.error})` : ''}`)
  }
  const json = {
    date: bench.started.toISOString(),
    durationMs: bench.elapsed(),
    command: COMMAND,
    machine: bench.machine({ chromium: chromiumVersion() }),
    setup: {
      relay: `one relay for the whole bench (TCP + WebSockets + HTTP on 127.0.0.1), serving the web app, --max-reservations-per-ip ${RELAY_SLOTS}; loopback-only namespace`,
      browser: `${CHROMIUM} via playwright-core, headless, fake camera/microphone at ${fps} fps, one browser context per participant`,
      camera: camera != null ? { experiment: 'getUserMedia forced to this size in every FreeFlow page', ...camera } : CAMERA,
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
    peerjs,
    mesh: meshes
  }
  return { text: callReport(base, joins, meshes, fps, camera, peerjs), json }
})
