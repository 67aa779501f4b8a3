/**
 * CPU accounting for the benches from Linux /proc: the whole machine, and every process on it or under this one
 * (the chromium that playwright launched, relays, peers). Zeros where /proc is missing.
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
  try { pids = readdirSync('/proc').filter(d => /^\d+$/.test(d)) } catch {}
  for (const pid of pids) {
    const p = readProc(Number(pid))
    if (p != null) out.set(p.pid, p)
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
  if (type == null) return 'browser'
  if (type === 'utility') return `utility:${/--utility-sub-type=(\S+)/.exec(cmd)?.[1] ?? '?'}`
  return type
}

/** A snapshot of CPU use: the machine, and our own process tree by pid. */
export interface CpuSnapshot {
  at: number
  machine: { busy: number, total: number }
  tree: Map<number, ProcInfo>
  harnessMs: number
}

export function snapshot (): CpuSnapshot {
  const procs = allProcs()
  const u = process.cpuUsage()
  return {
    at: Date.now(),
    machine: machineCpu(),
    tree: new Map(descendantsOf(process.pid, procs).map(p => [p.pid, p])),
    harnessMs: (u.user + u.system) / 1_000
  }
}

export interface CpuWindow {
  wallMs: number
  cores: number
  /** Share of the machine's capacity (all cores) that was busy, %. */
  machineBusyPct: number
  /** CPU ms used in the window, by group ('chromium:renderer', 'chromium:gpu-process', 'relay', 'harness', 'other'). */
  byGroup: Record<string, number>
  /** CPU ms per pid of our tree (processes that existed at the end). */
  byPid: Map<number, { cpuMs: number, role: string }>
}

/** CPU used between two snapshots; `other` is everything on the machine that is not under this process. */
export function between (a: CpuSnapshot, b: CpuSnapshot, cores: number): CpuWindow {
  const byGroup: Record<string, number> = {}
  const byPid = new Map<number, { cpuMs: number, role: string }>()
  let ours = 0
  for (const p of b.tree.values()) {
    const used = Math.max(0, p.cpuMs - (a.tree.get(p.pid)?.cpuMs ?? 0))
    const role = p.cmd.includes('chromium') ? `chromium:${chromiumRole(p.cmd).replace(/^utility:.*/, 'utility')}` : (p.cmd.includes('freeflow.js relay') ? 'relay' : 'other-child')
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
