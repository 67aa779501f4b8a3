/** bench:call's report for people: the tables, what they mean, and the goals met or missed. */
import { spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { CHROMIUM } from '../harness/browser.ts'
import { MARK_TEXT, JOINER_MARKS } from './call-join.ts'
import { COMMAND, DISTURBED_PCT, GOALS, JOIN_DEADLINE, MESH_SETTLE, QUALITY, QUALITY_WAIT } from './call-setup.ts'
import { fixed, ms, table } from './report.ts'
import type { BaselineResult } from './call-baseline.ts'
import type { JoinResult } from './call-join.ts'
import type { MeshResult } from './call-mesh.ts'
import type { PeerjsResult } from './call-peerjs.ts'

/** The report; `camera`: the size the pages' camera was forced to (--camera), if it was. */
export function callReport (b: BaselineResult, f: JoinResult | undefined, meshes: MeshResult[], fps: number, camera?: { width: number, height: number }, p?: PeerjsResult): string {
  const out: string[] = []
  out.push(`\nFreeFlow call bench, ${new Date().toISOString()}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${chromiumVersion()}, node ${process.version}`)
  out.push(`command: ${COMMAND}`)
  out.push(`fake camera: ${camera != null ? `${camera.width}x${camera.height} (EXPERIMENT: --camera forces it in the FreeFlow pages)` : '1280x720'} at ${fps} fps (chromium --use-fake-device-for-media-stream=fps=${fps}); loopback only\n`)
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
      : []),
    ...(p != null
      ? [
          [`PeerJS ${p.peerjs} + PeerServer ${p.server}: start -> first frame shown`, String(p.runs), String(p.failures), ms(p.firstFrame.p50), ms(p.firstFrame.p95), ms(p.firstFrame.min), ms(p.firstFrame.max)],
          ['  (its Peer registered with the server)', '', '', ms(p.open.p50), ms(p.open.p95), ms(p.open.min), ms(p.open.max)]
        ]
      : [])
  ]))
  out.push('  baseline: two RTCPeerConnections in one page, iceServers [], camera already open, both send audio+video')
  if (p != null) { out.push('  PeerJS: what a person could pick instead, with its central signalling server on loopback; two fresh pages per run, camera already open; the host registered + the same settle; the joiner calls it') }
  if (f != null) { out.push(`  FreeFlow: fresh room and fresh identities per join; the host joined first and had its relay reservation + ${f.settleMs} ms; fail = no frame within ${JOIN_DEADLINE / 1000} s`) }
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
        const together = m.allSeenMs == null ? 'FAIL' : `${ms(m.allSeenMs)} ms`
        const joined = m.steps != null ? m.steps.slice(1).map(v => v == null ? 'FAIL' : ms(v)).join('/') : together
        return [String(m.n), joined, `${m.pairsUp}/${m.n * (m.n - 1)}`, fixed(m.summary.fpsMean), fixed(m.summary.fpsMinStream),
          fixed(m.summary.fpsMin, 0), String(m.summary.freezes), fixed(m.summary.freezeSec), fixed(m.summary.downSec, 0), String(m.timeoutsInWindow), ms(m.summary.medianHeight), `${ms(m.summary.cpuLimitedPct)}%`,
          `${ms(m.summary.rendererPctMean)}% (${m.rendererPct.map(v => ms(v)).join('/')})`, `${ms(m.summary.mainThreadPctMean)}%`, `${ms(shared * m.cpu.cores)}%`, `${ms(m.cpu.machineBusyPct)}%`, `${ms((m.cpu.byGroupPct.other ?? 0))}%`]
      })
    ]))
    if (meshes[0].join !== 'together') { out.push('  joins in = for the 2nd, 3rd, ... participant: its click -> everyone decoding everyone, ms') }
    out.push('  fps = decoded frames/s per received stream (mean over streams; worst stream\'s mean; lowest 1 s step of any stream);')
    out.push('  down s = stream-seconds without video (stream gone or replaced); streams = pairs decoding when the window opened;')
    out.push('  timeouts = members a page dropped during the window for silence (room presence timeout);')
    out.push('  freezes = freezeCount/totalFreezesDuration deltas summed over streams; enc cpu-limited = share of the window senders\' encoders')
    out.push('  spent with qualityLimitationReason cpu; renderer cpu = CDP Performance.getMetrics ProcessTime delta of each page\'s renderer')
    out.push('  (WebRTC encode/decode run there), % of one core; main thread = its ThreadTime (JS: libp2p and the app); chromium shared = browser, GPU (compositing) and utility processes from')
    out.push('  /proc, % of one core; machine busy and other procs (everything not started by this bench) = % of all cores, /proc/stat')
    for (const m of meshes) { if (m.error != null) { out.push(`  N=${m.n}: ${m.error}`) } }
  }
  out.push('\nGoals:')
  if (f != null) {
    const ratio = f.firstFrame.p50 / b.firstFrame.p50
    out.push(`  FreeFlow p50 join -> first frame within ${GOALS.firstFrameVsBaseline}x the baseline: ${ratio <= GOALS.firstFrameVsBaseline ? 'MET' : 'MISSED'} (${ms(f.firstFrame.p50)} vs ${ms(b.firstFrame.p50)} ms: ${fixed(ratio)}x)`)
    if (p != null && p.firstFrame.n > 0) {
      const vs = f.firstFrame.p50 / p.firstFrame.p50
      out.push(`  FreeFlow p50 join -> first frame within ${GOALS.firstFrameVsPeerjs}x PeerJS's: ${vs <= GOALS.firstFrameVsPeerjs ? 'MET' : 'MISSED'} (${ms(f.firstFrame.p50)} vs ${ms(p.firstFrame.p50)} ms: ${fixed(vs)}x)`)
    }
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
  if (disturbed.length > 0) { out.push(`  disturbed by other work on the machine: ${disturbed.join(', ')}`) }
  return out.join('\n') + '\n'
}

export function chromiumVersion (): string {
  return spawnSync(CHROMIUM, ['--version']).stdout?.toString().trim() ?? 'chromium'
}
