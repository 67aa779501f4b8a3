/**
 * What the parts of `npm run bench:room` share: its targets and deadlines, its statistics, and CPU windows over the
 * bench's processes. Every peer runs on this one machine, so start-up and joining compete for its cores, and so do
 * any other processes on it (other test runs): a window records how busy the machine was and who used the time.
 */
import { cpus } from 'node:os'
import { allProcs, between, busiest, cpuMsOf, snapshot } from './cpu.ts'
import type { CpuSnapshot, ProcInfo } from './cpu.ts'
import type { Stats as Summary } from './report.ts'
import type { Proc } from '../harness/procs.ts'

export const GOALS = {
  /** Every member sees every other one within this many ms of starting `join`, at N = 10. */
  joinAllSeenMs: 2_000,
  joinAtN: 10,
  /** 99th percentile of chat latency, sender's clock to receiver's output, in ms. */
  chatP99Ms: 100
}

/** A peer that has not seen everyone this long after its spawn has failed. */
export const JOIN_DEADLINE = 30_000
/** After every member of the chat room saw everyone: let gossipsub build its mesh (heartbeat is 1 s). */
export const CHAT_SETTLE = 1_000
/** After the last chat line: time for stragglers (and for duplicates to show up). */
export const CHAT_DRAIN = 4_000
/** Then, while deliveries are still missing, wait up to this much longer: what arrives is late, what does not is lost. */
export const CHAT_LATE = 15_000
/** Share of the machine other processes may use during a phase before its timings are flagged as disturbed, %. */
export const DISTURBED_PCT = 10

/** The quantiles bench:room reports: `stats(values, QUANTILES)` (bench/report.ts). */
export const QUANTILES = ['p50', 'p90', 'p99', 'max'] as const

export type Stats = Summary<typeof QUANTILES[number]>

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
export function procCpu (p: Proc): number {
  return p.running ? cpuMsOf(p.child.pid) : 0
}

function pidsOf (procs: Proc[]): number[] {
  return procs.filter(p => p.running && p.child.pid != null).map(p => p.child.pid as number)
}

export interface CpuUse {
  /** Wall time of the window, ms. */
  wallMs: number
  /** Share of the whole machine's capacity (all cores) that was busy, %. */
  busyPct: number
  /** CPU ms used in the window by: the peers, the relays, this harness, and everything else on the machine. */
  peersMs: number
  relaysMs: number
  harnessMs: number
  otherMs: number
  /** The processes outside the bench that used the most CPU in the window (when others used a noticeable share). */
  topOther?: Array<{ pid: number, cmd: string, cpuMs: number }>
}

/** Who used the machine from now to `end()` (bench/cpu.ts, reading only the bench's own processes). */
export class CpuWindow {
  private readonly start: CpuSnapshot
  private readonly everything?: Map<number, ProcInfo>

  /** procs already running when the window opens; ones started later count from 0. */
  constructor (procs: Proc[], options: { whoElse?: boolean } = {}) {
    this.start = snapshot(pidsOf(procs))
    if (options.whoElse === true) { this.everything = allProcs() }
  }

  /** Close the window; call while the processes still run. */
  end (peers: Proc[], relays: Proc[]): CpuUse {
    const peerPids = new Set(pidsOf(peers))
    const relayPids = pidsOf(relays)
    const w = between(this.start, snapshot([...peerPids, ...relayPids]), cpus().length, p => peerPids.has(p.pid) ? 'peers' : 'relays')
    const otherMs = Math.round(w.byGroup.other)
    let topOther: CpuUse['topOther']
    if (this.everything != null && otherMs > w.wallMs * w.cores * DISTURBED_PCT / 100) {
      topOther = busiest(this.everything, new Set([...peerPids, ...relayPids]))
    }
    return {
      wallMs: w.wallMs,
      busyPct: w.machineBusyPct,
      peersMs: Math.round(w.byGroup.peers ?? 0),
      relaysMs: Math.round(w.byGroup.relays ?? 0),
      harnessMs: Math.round(w.byGroup.harness),
      otherMs,
      ...(topOther != null ? { topOther } : {})
    }
  }
}
