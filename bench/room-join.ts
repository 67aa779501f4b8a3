/**
 * bench:room, part 1: joining. N peers spawned at once in a fresh room (fresh relays each round); spawn of
 * `freeflow join` -> every other member seen, the CPU it took, and one more peer joining the full room.
 */
import { cpus } from 'node:os'
import { newRoomKey, stop } from '../harness/procs.ts'
import { stats } from './report.ts'
import { awaitFullRoom, first, joinsSeen, startMembers, startRelays, STOP_GRACE } from './room-members.ts'
import { CpuWindow, JOIN_DEADLINE, procCpu, QUANTILES } from './room-setup.ts'
import type { Member, Relays } from './room-members.ts'
import type { CpuUse, Stats } from './room-setup.ts'
import type { FreeflowEvent } from '../harness/procs.ts'

export interface PeerJoin {
  name: string
  bootstrap: 'A' | 'B'
  /** spawn -> `ready` (process start-up: Node, module load, libp2p start, room joined). */
  readyMs: number | null
  /** spawn -> `bootstrap` connected. */
  bootstrapMs: number | null
  /** spawn -> first member seen. */
  firstSeenMs: number | null
  /** spawn -> last needed peer:join; null if not everyone was seen within the deadline. */
  allSeenMs: number | null
  /** allSeenMs - readyMs: the part after start-up. */
  afterReadyMs: number | null
  seen: number
  expected: number
  /** Of the joins seen, how many were reached only through a relay at the time. */
  relayedJoins: number
  /** CPU time this peer process used from spawn until the room was full (or the deadline). */
  cpuMs: number
  /** Of it, until `ready` (to within a 20 ms poll). */
  cpuToReadyMs: number | null
  stderrTail?: string
}

/** One more peer started once the room is full: joining a call that is already going. */
export interface LateJoin {
  bootstrap: 'A' | 'B'
  readyMs: number | null
  /** Its spawn -> it saw every member (null: not within the deadline). */
  allSeenMs: number | null
  /** Its spawn -> the last member saw it (null: not within the deadline). */
  seenByAllMs: number | null
  cpu: CpuUse
}

export interface JoinRound {
  round: number
  relayStartMs: number
  /** Last spawn - first spawn: how long starting "all at once" took in the harness. */
  spawnSpreadMs: number
  /** First spawn -> room full (or deadline): who used the machine meanwhile. */
  cpu: CpuUse
  peers: PeerJoin[]
  late?: LateJoin
}

function peerJoin (m: Member, members: Member[]): PeerJoin {
  const since = (e: FreeflowEvent | undefined): number | null => e == null ? null : e.at - m.spawnedAt
  const seen = joinsSeen(m, members).filter((e): e is FreeflowEvent => e != null)
  const all = seen.length === members.length - 1 ? Math.max(...seen.map(e => e.at), m.spawnedAt) : null
  const allSeenMs = all == null || all - m.spawnedAt > JOIN_DEADLINE ? null : all - m.spawnedAt
  const readyMs = since(first(m.proc, e => e.event === 'ready'))
  return {
    name: m.name,
    bootstrap: m.via,
    readyMs,
    bootstrapMs: since(first(m.proc, e => e.event === 'bootstrap' && e.connected === true)),
    firstSeenMs: seen.length === 0 ? null : Math.min(...seen.map(e => e.at)) - m.spawnedAt,
    allSeenMs,
    afterReadyMs: allSeenMs != null && readyMs != null ? allSeenMs - readyMs : null,
    seen: seen.length,
    expected: members.length - 1,
    relayedJoins: seen.filter(e => e.relayed === true).length,
    cpuMs: Math.round(procCpu(m.proc)),
    cpuToReadyMs: m.cpuAtReadyMs ?? null,
    ...(allSeenMs == null ? { stderrTail: m.proc.stderr.slice(-1000) } : {})
  }
}

async function lateJoin (key: string, members: Member[], relays: Relays, prefix: string): Promise<LateJoin> {
  const window = new CpuWindow([...members.map(m => m.proc), relays.a.proc, relays.b.proc])
  // it bootstraps from the relay the next member in line would have used
  const [late] = startMembers(key, 1, relays, prefix, members.length)
  const everyone = [...members, late]
  try {
    await awaitFullRoom(everyone, late.spawnedAt + JOIN_DEADLINE)
    const cpu = window.end(everyone.map(m => m.proc), [relays.a.proc, relays.b.proc])
    const mine = peerJoin(late, everyone)
    const id = late.proc.peerId
    const seenBy = members.map(m => id == null ? undefined : first(m.proc, e => e.event === 'peer:join' && e.peerId === id))
    const last = seenBy.every(e => e != null) ? Math.max(...seenBy.map(e => e?.at ?? 0)) - late.spawnedAt : null
    return { bootstrap: late.via, readyMs: mine.readyMs, allSeenMs: mine.allSeenMs, seenByAllMs: last != null && last <= JOIN_DEADLINE ? last : null, cpu }
  } finally {
    await stop([late.proc], STOP_GRACE)
  }
}

export async function joinRound (n: number, round: number): Promise<JoinRound> {
  const relays = await startRelays()
  const key = await newRoomKey()
  const relayProcs = [relays.a.proc, relays.b.proc]
  const window = new CpuWindow(relayProcs, { whoElse: true })
  const prefix = `n${n}r${round}`
  const members = startMembers(key, n, relays, prefix)
  try {
    const deadline = Math.max(...members.map(m => m.spawnedAt)) + JOIN_DEADLINE
    const full = await awaitFullRoom(members, deadline)
    const cpu = window.end(members.map(m => m.proc), relayProcs)
    const peers = members.map(m => peerJoin(m, members))
    const spawns = members.map(m => m.spawnedAt)
    const late = full ? await lateJoin(key, members, relays, prefix) : undefined
    return { round, relayStartMs: relays.startMs, spawnSpreadMs: Math.max(...spawns) - Math.min(...spawns), cpu, peers, late }
  } finally {
    await stop([...members.map(m => m.proc), ...relayProcs], STOP_GRACE)
  }
}

export interface JoinSummary {
  n: number
  rounds: number
  samples: number
  failures: number
  ready: Stats
  allSeen: Stats
  afterReady: Stats
  firstSeen: Stats
  /** The slowest peer of each round (null where a peer failed). */
  roundMax: Array<number | null>
  relayedJoinShare: number
  /** CPU one peer used from spawn to the room being full, and how busy the machine was meanwhile. */
  peerCpuMs: Stats
  peerCpuToReadyMs: Stats
  /** (CPU used by the peers and relays) / cores: the least wall time the round could take on this machine. */
  cpuFloorMs: Stats
  /** First spawn -> room full. */
  fullMs: Stats
  machineBusyPct: Stats
  /** Share of the machine's capacity used by processes outside this bench (other test runs...), %. */
  otherPct: Stats
  late: { samples: number, failures: number, ready: Stats, allSeen: Stats, seenByAll: Stats }
}

export function summariseJoin (n: number, rounds: JoinRound[]): JoinSummary {
  const peers = rounds.flatMap(r => r.peers)
  const values = (f: (p: PeerJoin) => number | null): number[] => peers.map(f).filter((v): v is number => v != null)
  const seen = peers.reduce((s, p) => s + p.seen, 0)
  const lates = rounds.map(r => r.late).filter((l): l is LateJoin => l != null)
  const lateValues = (f: (l: LateJoin) => number | null): number[] => lates.map(f).filter((v): v is number => v != null)
  const cores = cpus().length
  return {
    n,
    rounds: rounds.length,
    samples: peers.length,
    failures: peers.filter(p => p.allSeenMs == null).length,
    ready: stats(values(p => p.readyMs), QUANTILES),
    allSeen: stats(values(p => p.allSeenMs), QUANTILES),
    afterReady: stats(values(p => p.afterReadyMs), QUANTILES),
    firstSeen: stats(values(p => p.firstSeenMs), QUANTILES),
    roundMax: rounds.map(r => r.peers.some(p => p.allSeenMs == null) ? null : Math.max(...r.peers.map(p => p.allSeenMs ?? 0))),
    relayedJoinShare: seen === 0 ? 0 : peers.reduce((s, p) => s + p.relayedJoins, 0) / seen,
    peerCpuMs: stats(values(p => p.cpuMs), QUANTILES),
    peerCpuToReadyMs: stats(values(p => p.cpuToReadyMs), QUANTILES),
    cpuFloorMs: stats(rounds.map(r => (r.cpu.peersMs + r.cpu.relaysMs) / cores), QUANTILES),
    fullMs: stats(rounds.map(r => r.cpu.wallMs), QUANTILES),
    machineBusyPct: stats(rounds.map(r => r.cpu.busyPct), QUANTILES),
    otherPct: stats(rounds.map(r => 100 * r.cpu.otherMs / Math.max(1, r.cpu.wallMs * cores)), QUANTILES),
    late: {
      samples: lates.length,
      failures: lates.filter(l => l.allSeenMs == null || l.seenByAllMs == null).length,
      ready: stats(lateValues(l => l.readyMs), QUANTILES),
      allSeen: stats(lateValues(l => l.allSeenMs), QUANTILES),
      seenByAll: stats(lateValues(l => l.seenByAllMs), QUANTILES)
    }
  }
}
