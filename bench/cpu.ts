/**
 * The benches' one CPU sampler, from Linux /proc: the whole machine, and every process on it or under this one
 * (the chromium that playwright launched, relays, peers); and resident memory. Zeros where /proc is missing.
 *
 * A measurement takes a `snapshot()` when its window opens and one when it closes; `between()` says who used the
 * machine in the window.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Length of one clock tick (USER_HZ), in ms. */
export const TICK_MS = (() => {
  const hz = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim())
  return Number.isFinite(hz) && hz > 0 ? 1_000 / hz : 10
})()

/** Busy and total CPU time of the whole machine (all cores), in ms. */
export function machineCpu (): { busy: number, total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = fields[3] + (fields[4] ?? 0)
    return { busy: (total - idle) * TICK_MS, total: total * TICK_MS }
  } catch {
    return { busy: 0, total: 0 }
  }
}

export interface ProcInfo {
  pid: number
  ppid: number
  /** user + system time used so far, ms */
  cpuMs: number
  cmd: string
}

/** One process's CPU use so far, or undefined once it is gone. */
export function readProc (pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    return { pid, ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS, cmd }
  } catch {
    return undefined
  }
}

/** Every process on the machine right now. */
export function allProcs (): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>()
  let pids: string[] = []
  try { pids = readdirSync('/proc').filter(d => /^\d+$/.test(d)) } catch { /* no /proc: nothing to list */ }
  for (const pid of pids) {
    const p = readProc(Number(pid))
    if (p != null) { out.set(p.pid, p) }
  }
  return out
}

/** The processes below `root` (not root itself). */
export function descendantsOf (root: number, procs: Map<number, ProcInfo>): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>()
  for (const p of procs.values()) {
    const list = children.get(p.ppid) ?? []
    list.push(p)
    children.set(p.ppid, list)
  }
  const out: ProcInfo[] = []
  const stack = [root]
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c)
      stack.push(c.pid)
    }
  }
  return out
}

/** What a chromium process does, from its command line: 'browser', 'renderer', 'gpu-process', 'utility:<sub-type>', ... */
export function chromiumRole (cmd: string): string {
  const type = /--type=(\S+)/.exec(cmd)?.[1]
  if (type == null) { return 'browser' }
  if (type === 'utility') { return `utility:${/--utility-sub-type=(\S+)/.exec(cmd)?.[1] ?? '?'}` }
  return type
}

/** CPU time (user + system) a process has used so far, ms; 0 once it is gone (or without a pid). */
export function cpuMsOf (pid: number | undefined): number {
  return pid == null ? 0 : readProc(pid)?.cpuMs ?? 0
}

/** Resident memory of a process, MiB (null when it is gone or unknown). */
export function rssMiB (pid: number | undefined): number | null {
  if (pid == null) { return null }
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m == null ? null : Number(m[1]) / 1024
  } catch {
    return null
  }
}

/** A snapshot of CPU use: the machine, and our processes by pid. */
export interface CpuSnapshot {
  at: number
  machine: { busy: number, total: number }
  tree: Map<number, ProcInfo>
  harnessMs: number
}

/**
 * CPU use now. `pids`: only these processes (cheap enough to take every second while something is being timed);
 * without it, every process under this one (reads all of /proc).
 */
export function snapshot (pids?: Iterable<number>): CpuSnapshot {
  const at = Date.now()
  const machine = machineCpu()
  let tree: Map<number, ProcInfo>
  if (pids != null) {
    tree = new Map()
    for (const pid of pids) {
      const p = readProc(pid)
      if (p != null) { tree.set(pid, p) }
    }
  } else {
    tree = new Map(descendantsOf(process.pid, allProcs()).map(p => [p.pid, p]))
  }
  const u = process.cpuUsage()
  return { at, machine, tree, harnessMs: (u.user + u.system) / 1_000 }
}

export interface CpuWindow {
  wallMs: number
  cores: number
  /** Share of the machine's capacity (all cores) that was busy, %. */
  machineBusyPct: number
  /**
   * CPU ms used in the window, by group: what `group` calls each of our processes ('chromium:renderer',
   * 'chromium:gpu-process', 'relay', ... by default), 'harness' (this process) and 'other' (the rest of the machine).
   */
  byGroup: Record<string, number>
  /** CPU ms per pid of our processes (those that existed at the end). */
  byPid: Map<number, { cpuMs: number, role: string }>
}

/** The default grouping: chromium processes by role, relays, and 'other-child' for anything else we started. */
export function processGroup (p: ProcInfo): string {
  if (p.cmd.includes('chromium')) { return `chromium:${chromiumRole(p.cmd).replace(/^utility:.*/, 'utility')}` }
  return p.cmd.includes('freeflow.js relay') ? 'relay' : 'other-child'
}

/**
 * CPU used between two snapshots; `other` is everything on the machine that is not one of our processes (those in
 * the snapshots) nor this one. A process started after `a` counts from zero; one gone by `b` is left out.
 */
export function between (a: CpuSnapshot, b: CpuSnapshot, cores: number, group: (p: ProcInfo) => string = processGroup): CpuWindow {
  const byGroup: Record<string, number> = {}
  const byPid = new Map<number, { cpuMs: number, role: string }>()
  let ours = 0
  for (const p of b.tree.values()) {
    const used = Math.max(0, p.cpuMs - (a.tree.get(p.pid)?.cpuMs ?? 0))
    const role = group(p)
    byGroup[role] = (byGroup[role] ?? 0) + used
    byPid.set(p.pid, { cpuMs: used, role: chromiumRole(p.cmd) })
    ours += used
  }
  const harness = b.harnessMs - a.harnessMs
  byGroup.harness = harness
  const busy = b.machine.busy - a.machine.busy
  const total = b.machine.total - a.machine.total
  byGroup.other = Math.max(0, busy - ours - harness)
  return { wallMs: b.at - a.at, cores, machineBusyPct: total > 0 ? 100 * busy / total : 0, byGroup, byPid }
}

/** The processes outside `ours` (and this one) that used the most CPU from `before` (an `allProcs()`) to now. */
export function busiest (before: Map<number, ProcInfo>, ours: Set<number | undefined>, count = 5): Array<{ pid: number, cmd: string, cpuMs: number }> {
  return [...allProcs()].filter(([pid]) => pid !== process.pid && !ours.has(pid))
    .map(([pid, { cpuMs, cmd }]) => ({ pid, cmd: cmd.slice(0, 120), cpuMs: Math.round(cpuMs - (before.get(pid)?.cpuMs ?? 0)) }))
    .sort((x, y) => y.cpuMs - x.cpuMs).slice(0, count)
}
