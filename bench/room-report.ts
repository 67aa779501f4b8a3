/** bench:room's report for people: the tables, what they mean, and the goals met or missed. */
import { cpus } from 'node:os'
import { ms, table } from './report.ts'
import { DISTURBED_PCT, GOALS, JOIN_DEADLINE } from './room-setup.ts'
import type { ChatResult } from './room-chat.ts'
import type { JoinSummary } from './room-join.ts'

export function roomReport (join: JoinSummary[], chat: ChatResult | undefined, rounds: number): string {
  const out: string[] = []
  const cores = cpus().length
  out.push(`\nJoin: spawn of \`freeflow join\` -> last member seen (ms); ${rounds} rounds per N, fresh relays and a fresh room key each round`)
  out.push(table([
    ['N', 'samples', 'fail', 'ready p50', 'ready max', 'all-seen p50', 'all-seen max', 'after-ready p50', 'after-ready max', 'round max', 'relayed'],
    ...join.map(j => [
      String(j.n), String(j.samples), String(j.failures),
      ms(j.ready.p50), ms(j.ready.max), ms(j.allSeen.p50), ms(j.allSeen.max), ms(j.afterReady.p50), ms(j.afterReady.max),
      j.roundMax.map(v => v == null ? 'FAIL' : ms(v)).join('/'), `${Math.round(j.relayedJoinShare * 100)}%`
    ])
  ]))
  out.push('  ready = spawn -> `ready` (start-up: Node, module load, libp2p start); after-ready = all-seen - ready;')
  out.push(`  fail = a peer that did not see everyone within ${JOIN_DEADLINE / 1000} s; relayed = joins reached only through a relay`)
  out.push(`\nCPU while the room came together (first spawn -> room full), on ${cpus().length} CPUs, p50 over rounds/peers (ms unless %)`)
  out.push(table([
    ['N', 'cpu/peer', 'of it to ready', 'cpu floor', 'room full', 'machine busy', 'other procs'],
    ...join.map(j => [String(j.n), ms(j.peerCpuMs.p50), ms(j.peerCpuToReadyMs.p50), ms(j.cpuFloorMs.p50), ms(j.fullMs.p50),
      `${ms(j.machineBusyPct.p50)}%`, `${ms(j.otherPct.p50)}%`])
  ]))
  out.push('  cpu floor = CPU used by all peers and relays / cores: no round can be faster on this machine;')
  out.push('  other procs = share of the machine used by processes outside the bench (e.g. a test run)')
  out.push('\nLate joiner: one more peer started once the N were all in (joining a call already going), ms from its spawn')
  out.push(table([
    ['N in room', 'samples', 'fail', 'ready p50', 'ready max', 'sees all p50', 'sees all max', 'seen by all p50', 'seen by all max'],
    ...join.map(j => [String(j.n), String(j.late.samples), String(j.late.failures), ms(j.late.ready.p50), ms(j.late.ready.max),
      ms(j.late.allSeen.p50), ms(j.late.allSeen.max), ms(j.late.seenByAll.p50), ms(j.late.seenByAll.max)])
  ]))
  if (chat != null) {
    out.push(`\nChat: ${chat.peers} peers, ${chat.sent} messages at ${chat.ratePerSecond}/s (achieved ${chat.achievedRate.toFixed(1)}/s), round-robin; latency = receiver output - sender ts (ms)`)
    out.push(table([
      ['', 'n', 'p50', 'p90', 'p99', 'max'],
      ['latency', String(chat.latency.n), ms(chat.latency.p50), ms(chat.latency.p90), ms(chat.latency.p99), ms(chat.latency.max)],
      ['stdin->ts', String(chat.stdinToTs.n), ms(chat.stdinToTs.p50), ms(chat.stdinToTs.p90), ms(chat.stdinToTs.p99), ms(chat.stdinToTs.max)],
      ['end-to-end', String(chat.endToEnd.n), ms(chat.endToEnd.p50), ms(chat.endToEnd.p90), ms(chat.endToEnd.p99), ms(chat.endToEnd.max)]
    ]))
    out.push(`  deliveries: expected ${chat.expectedDeliveries}, delivered ${chat.delivered}, lost ${chat.lost}, duplicates ${chat.duplicates}, ` +
      `to own sender ${chat.toSender}, via history ${chat.viaHistory}; room full ${ms(chat.roomFullMs)} ms after first spawn`)
    out.push(`  latency p99 per second of sending:   ${chat.perSecond.map(s => ms(s.p99).padStart(4)).join(' ')}`)
    out.push(`  machine busy % in that second:       ${chat.perSecond.map(s => ms(s.busyPct).padStart(4)).join(' ')}`)
    out.push(`  of it other processes (not bench) %: ${chat.perSecond.map(s => ms(s.otherPct).padStart(4)).join(' ')}`)
    out.push(`  machine while sending: ${ms(chat.cpu.busyPct)}% busy of ${cores} CPUs; peers ${ms(100 * chat.cpu.peersMs / (chat.cpu.wallMs * cores))}%, ` +
      `relays ${ms(100 * chat.cpu.relaysMs / (chat.cpu.wallMs * cores))}%, other processes ${ms(100 * chat.cpu.otherMs / (chat.cpu.wallMs * cores))}%`)
    out.push(`  CPU per delivered message: ${chat.cpuPerDeliveryMs.toFixed(2)} ms (all peers' CPU while sending ${ms(chat.cpu.peersMs)} ms over ${ms(chat.cpu.wallMs)} ms, ` +
      `less their idle floor of ${ms(chat.idleCpu.peersMs)} ms per ${ms(chat.idleCpu.wallMs)} ms, / ${chat.delivered} deliveries)`)
  }
  const atN = join.find(j => j.n === GOALS.joinAtN)
  out.push('\nGoals:')
  if (atN != null) {
    const met = atN.failures === 0 && atN.allSeen.max <= GOALS.joinAllSeenMs
    out.push(`  everyone seen within ${GOALS.joinAllSeenMs} ms at N = ${GOALS.joinAtN}: ${met ? 'MET' : 'MISSED'} ` +
      `(max ${ms(atN.allSeen.max)} ms from spawn, of which start-up max ${ms(atN.ready.max)} ms; ${atN.failures} failures)`)
  }
  if (chat != null) {
    out.push(`  chat p99 under ${GOALS.chatP99Ms} ms: ${chat.latency.p99 < GOALS.chatP99Ms ? 'MET' : 'MISSED'} (p99 ${ms(chat.latency.p99)} ms)`)
    const once = chat.lost === 0 && chat.duplicates === 0 && chat.toSender === 0
    out.push(`  every message delivered exactly once: ${once ? 'MET' : 'MISSED'} (lost ${chat.lost}, duplicates ${chat.duplicates}, to sender ${chat.toSender})`)
  }
  // timings on a shared machine say little when something else was eating it: say so next to the verdicts
  const disturbed = [
    ...join.filter(j => j.otherPct.max > DISTURBED_PCT).map(j => `join N=${j.n} (other processes up to ${ms(j.otherPct.max)}%)`),
    ...(chat != null && 100 * chat.cpu.otherMs / (chat.cpu.wallMs * cores) > DISTURBED_PCT ? [`chat (other processes ${ms(100 * chat.cpu.otherMs / (chat.cpu.wallMs * cores))}%)`] : [])
  ]
  if (disturbed.length > 0) { out.push(`  warning: other work on this machine took more than ${DISTURBED_PCT}% of it during: ${disturbed.join(', ')}; timings there are inflated (who: cpu.topOther in the JSON)`) }
  return out.join('\n') + '\n'
}
