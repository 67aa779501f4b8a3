/**
 * `npm run bench:connect`: calls where people really are (issue 9 item 10), on the namespaces and nftables of
 * harness/topology: one relay with coturn on a "public" segment, a chromium per host. Not a test: it asserts
 * nothing, prints a table and writes bench/results/connect.json. Needs root (namespaces); it creates its own, and
 * removes them.
 *
 * 1. per topology, `--joins` times: the first person is in the call, the second clicks Join -> first remote frame on
 * both pages (p50, p95, failures), and the path the joiner's call took (bench/connect-measure.ts)
 * 2. a call between two NAT homes; `--recoveries` times, home 1's router gets a new public address: time until video
 * plays both ways again
 * 3. coturn's CPU and memory with `--streams` 720p streams forced through it (plain pages, iceTransportPolicy
 * 'relay'), per stream and extrapolated to one core
 * 4. `--meshes` times, a call of `--mesh-n` people, two homes behind port-preserving NAT with half the people in
 * each (issue 9 item 6): all clicking Join at once, or one after another, in turn; pairs (receiver, sender) whose
 * video never arrived within bench/call-setup.ts's MESH_DEADLINE
 *
 * Options: node dist/bench/connect.js [--joins 10] [--topologies nat,random,udp,v4v6] [--recoveries 3]
 * [--streams 4] [--window 10000] [--meshes 10] [--mesh-n 4] [--mesh-camera 320x240|app]
 *
 * A short run: node dist/bench/connect.js --joins 3 --topologies nat,udp --recoveries 1 --streams 2 --window 5000 --meshes 2
 */
import { parseArgs } from 'node:util'
import { canMakeTopology, Topology } from '../harness/topology/index.ts'
import { mesh } from './call-mesh.ts'
import { MESH_DEADLINE } from './call-setup.ts'
import { joinRuns, recoveryRuns, SHAPES, turnLoad } from './connect-measure.ts'
import { log, runBench } from './harness.ts'
import { fixed, ms, stats, table } from './report.ts'
import type { MeshResult } from './call-mesh.ts'
import type { JoinSample, RecoverySample, TurnLoad } from './connect-measure.ts'

/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 40 * 60_000

/** One mesh run as the report keeps it: how it joined, when everyone saw everyone, which pairs never did. */
interface MeshRun {
  join: MeshResult['join']
  allSeenMs: number | null
  pairs: number
  pairsUp: number
  error?: string
  diagnosis?: MeshResult['diagnosis']
  /** Over the window after the deadline: decoded frames/s per (receiver, sender), and encoded frames/s per sender. */
  streams: Array<{ receiver: number, sender: number, fps: number }>
  sent: Array<{ sender: number, receiver: number, fps: number }>
}

/**
 * `runs` calls of `n` people, half in each home (both port-preserving NAT), joining together and one by one in turn.
 * Each camera is opened at `camera` (default 320x240): what is counted is whether each pair's video arrives, and n
 * people encoding and decoding 720p on this small machine starve every page (measured: 4 pages at 720p on 2 cores,
 * load average 25, room dials timing out).
 */
async function meshRuns (topo: Topology, runs: number, n: number, camera?: { width: number, height: number }): Promise<MeshRun[]> {
  const [a, b] = topo.net.homes
  topo.net.setMode(a, 'port-preserving')
  topo.net.setMode(b, 'port-preserving')
  const browsers = [await topo.browser(a.host), await topo.browser(b.host)]
  const out: MeshRun[] = []
  for (let i = 0; i < runs; i++) {
    const join = i % 2 === 0 ? 'together' : 'one-by-one'
    const m = await mesh({ browsers, origin: topo.relay!.origin[4] }, n, 1, { trace: true, camera }, join)
    const run: MeshRun = {
      join,
      allSeenMs: m.allSeenMs,
      pairs: n * (n - 1),
      pairsUp: m.pairsUp,
      error: m.error,
      diagnosis: m.diagnosis,
      streams: m.streams.map(x => ({ receiver: x.receiver, sender: x.sender, fps: x.fpsMean })),
      sent: m.senders.map(x => ({ sender: x.sender, receiver: x.receiver, fps: x.fpsMean }))
    }
    log(`mesh ${i + 1}/${runs} (${join}): ${run.pairsUp}/${run.pairs} pairs with video${m.allSeenMs != null ? `, all after ${m.allSeenMs} ms` : ''}${m.error != null ? ` - ${m.error}` : ''}`)
    out.push(run)
  }
  return out
}

/** `WxH` as a camera size, or undefined for `app` (what the web app asks for). */
function cameraSize (text: string): { width: number, height: number } | undefined {
  if (text === 'app') { return undefined }
  const m = /^(\d+)x(\d+)$/.exec(text)
  if (m == null) { throw new Error(`--mesh-camera takes WxH (320x240) or app, not ${text}`) }
  return { width: Number(m[1]), height: Number(m[2]) }
}

/** The most common value, with how many had it: `host>srflx v4 (9/10)`. */
function mostCommon (values: Array<string | undefined>): string {
  const counts = new Map<string, number>()
  values.forEach(v => { if (v != null) { counts.set(v, (counts.get(v) ?? 0) + 1) } })
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]
  return top == null ? '-' : `${top[0]} (${top[1]}/${values.length})`
}

await runBench({ name: 'connect', watchdogMs: WATCHDOG }, async (bench) => {
  const { values } = parseArgs({
    options: {
      joins: { type: 'string', default: '10' },
      topologies: { type: 'string', default: Object.keys(SHAPES).join(',') },
      recoveries: { type: 'string', default: '3' },
      streams: { type: 'string', default: '4' },
      window: { type: 'string', default: '10000' },
      meshes: { type: 'string', default: '10' },
      'mesh-n': { type: 'string', default: '4' },
      'mesh-camera': { type: 'string', default: '320x240' }
    }
  })
  const why = canMakeTopology()
  if (why != null) { throw new Error(`bench:connect cannot build its networks: ${why}`) }
  const names = values.topologies.split(',').filter(n => n !== '')
  const unknown = names.filter(n => SHAPES[n] == null)
  if (unknown.length > 0) { throw new Error(`unknown topology ${unknown.join(', ')}; known: ${Object.keys(SHAPES).join(', ')}`) }
  const joins = Number(values.joins)
  const topo = new Topology()
  try {
    topo.net.addHome('port-preserving')
    topo.net.addHome('port-preserving')
    await topo.startRelay()
    const perShape: Record<string, JoinSample[]> = {}
    for (const name of names) {
      log(`${SHAPES[name].name}: ${joins} joins`)
      perShape[name] = await joinRuns(topo, SHAPES[name], joins)
      // one browser per host at a time: the machine is small
      for (const h of SHAPES[name].hosts(topo)) { await topo.closeBrowser(h) }
    }
    const meshes = Number(values.meshes) > 0 ? await meshRuns(topo, Number(values.meshes), Number(values['mesh-n']), cameraSize(values['mesh-camera'])) : []
    for (const h of topo.net.homes) { await topo.closeBrowser(h.host) }
    const recoveries: RecoverySample[] = Number(values.recoveries) > 0 ? await recoveryRuns(topo, Number(values.recoveries)) : []
    for (const h of topo.net.homes) { await topo.closeBrowser(h.host) }
    const pairs = Math.max(0, Math.floor(Number(values.streams) / 2))
    const load: TurnLoad | undefined = pairs > 0 ? await turnLoad(topo, pairs, Number(values.window)) : undefined

    const rows = [['topology', 'joins', 'failed', 'p50 ms', 'p95 ms', 'joiner p50', 'joiner\'s path at first frame']]
    for (const name of names) {
      const s = perShape[name]
      const both = stats(s.map(j => j.bothMs), ['p50', 'p95'])
      const joiner = stats(s.map(j => j.joinerMs), ['p50'])
      rows.push([SHAPES[name].name, String(s.length), String(s.filter(j => j.bothMs == null).length), ms(both.p50), ms(both.p95), ms(joiner.p50), mostCommon(s.map(j => j.path))])
    }
    const meshAll = stats(meshes.map(m => m.allSeenMs), ['p50', 'max'])
    const missing = meshes.reduce((n, m) => n + m.pairs - m.pairsUp, 0)
    const recMedia = stats(recoveries.map(r => r.mediaMs), ['p50', 'max'])
    const recShown = stats(recoveries.map(r => r.shownMs), ['p50', 'max'])
    const perStreamCpu = load != null ? (load.loadedCpuPct - load.idleCpuPct) / load.streams : NaN
    const perMbps = load != null ? perStreamCpu / (load.kbpsPerStream / 1000) : NaN
    const perStreamMiB = load?.loadedRssMiB != null && load.idleRssMiB != null ? (load.loadedRssMiB - load.idleRssMiB) / load.streams : NaN
    const lines = [
      'bench:connect: join -> first remote frame on both pages (second person\'s click on Join); deadline 30 s',
      '',
      table(rows),
      '',
      meshes.length === 0
        ? `${values['mesh-n']}-person calls: not run`
        : [`${values['mesh-n']}-person calls in two NAT homes, cameras at ${values['mesh-camera']}, ${meshes.length} times (together / one by one in turn); deadline ${MESH_DEADLINE / 1000} s:`,
            `  every pair's video both ways: ${meshes.filter(m => m.pairsUp === m.pairs).length}/${meshes.length} calls; pairs that never got video: ${missing} of ${meshes.reduce((n, m) => n + m.pairs, 0)} (aim 0)`,
            `  last click -> everyone sees everyone: p50 ${ms(meshAll.p50)} ms, max ${ms(meshAll.max)} ms`].join('\n'),
      '',
      `address change mid-call (home 1's router renumbered), ${recoveries.length} times; deadline 30 s:`,
      `  video decoded again both ways: ${recMedia.n}/${recoveries.length}, p50 ${ms(recMedia.p50)} ms, max ${ms(recMedia.max)} ms`,
      `  video shown again in both tiles: ${recShown.n}/${recoveries.length}, p50 ${ms(recShown.p50)} ms, max ${ms(recShown.max)} ms`,
      ...recoveries.slice(0, 1).map(r => `  before: ${r.before ?? '-'}\n  after:  ${r.after ?? '-'}`),
      '',
      load == null
        ? 'coturn load: not run'
        : [`coturn with ${load.streams} relayed streams (${load.frameSize}, ${fixed(load.kbpsPerStream, 0)} kbit/s each, over ${load.windowMs / 1000} s):`,
            `  CPU ${fixed(load.idleCpuPct)}% idle -> ${fixed(load.loadedCpuPct)}% of a core; ${fixed(perStreamCpu, 2)}% per stream, so about ${fixed(100 / perStreamCpu, 0)} such streams per core`,
            // coturn's work follows packets, so bytes: what a 720p stream at 2 Mbit/s would cost
            `  ${fixed(perMbps, 2)}% of a core per relayed Mbit/s: about ${fixed(100 / (perMbps * 2), 0)} streams of 2 Mbit/s (720p) per core`,
            `  memory ${fixed(load.idleRssMiB)} -> ${fixed(load.loadedRssMiB)} MiB resident; ${fixed(perStreamMiB, 2)} MiB per stream`].join('\n')
    ]
    return {
      text: lines.join('\n'),
      json: {
        machine: bench.machine(),
        options: values,
        joins: Object.fromEntries(names.map(n => [n, { name: SHAPES[n].name, samples: perShape[n], both: stats(perShape[n].map(j => j.bothMs), ['p50', 'p95', 'max']), failures: perShape[n].filter(j => j.bothMs == null).length }])),
        meshes: { runs: meshes, allSeen: meshAll, missingPairs: missing },
        recovery: { samples: recoveries, media: recMedia, shown: recShown },
        turnLoad: load == null ? null : { ...load, cpuPctPerStream: perStreamCpu, cpuPctPerMbps: perMbps, rssMiBPerStream: perStreamMiB, streamsPerCore: 100 / perStreamCpu }
      }
    }
  } finally {
    log('removing the namespaces')
    await topo.close()
  }
})
