/** bench:room's processes: two relays that form one DHT, and room members spread over them. */
import { sleep, startPeer, startRelay } from '../harness/procs.ts'
import { procCpu } from './room-setup.ts'
import type { FreeflowEvent, Proc, RelayProc } from '../harness/procs.ts'

/** Loopback only: relays listen here (harness/procs.ts adds --http 127.0.0.1:0), peers use its default. */
const RELAY_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']
/** Stopping: SIGKILL for what has not exited this long after SIGTERM, ms. */
export const STOP_GRACE = 5_000

export interface Relays { a: RelayProc, b: RelayProc, startMs: number }

/** Relay A, then relay B bootstrapped from A's TCP address; resolves once B reports it reached A. */
export async function startRelays (): Promise<Relays> {
  const t0 = Date.now()
  const a = await startRelay({ listen: RELAY_LISTEN })
  const b = await startRelay({ listen: RELAY_LISTEN, args: ['--bootstrap', a.tcp()] })
  await b.proc.waitFor('relay B reaching relay A', e => e.event === 'bootstrap' && e.connected === true, 15_000)
  return { a, b, startMs: Date.now() - t0 }
}

export interface Member {
  proc: Proc
  name: string
  /** Which relay it bootstraps from. */
  via: 'A' | 'B'
  spawnedAt: number
  cpuAtReadyMs?: number
}

/** Start n peers at once in a fresh room, alternating their bootstrap relay (A for even indexes, B for odd). */
export function startMembers (key: string, n: number, relays: Relays, prefix: string, firstIndex = 0): Member[] {
  const members: Member[] = []
  for (let i = firstIndex; i < firstIndex + n; i++) {
    const via = i % 2 === 0 ? 'A' : 'B'
    const name = `${prefix}-${i}`
    const spawnedAt = Date.now()
    const proc = startPeer(key, name, [(via === 'A' ? relays.a : relays.b).tcp()])
    members.push({ proc, name, via, spawnedAt })
  }
  return members
}

export function first (p: Proc, match: (e: FreeflowEvent) => boolean): FreeflowEvent | undefined {
  return p.events.find(match)
}

/** The first peer:join of each other member, by peer id (undefined where not seen yet). */
export function joinsSeen (m: Member, members: Member[]): Array<FreeflowEvent | undefined> {
  return members.filter(o => o !== m).map(o => {
    const id = o.proc.peerId
    return id == null ? undefined : first(m.proc, e => e.event === 'peer:join' && e.peerId === id)
  })
}

function sawEveryone (m: Member, members: Member[]): boolean {
  return joinsSeen(m, members).every(e => e != null)
}

/**
 * Poll until every member saw every other one (or one has exited), or the deadline passes. On the way, note the
 * CPU time each member had used when its `ready` showed up (to within a poll).
 */
export async function awaitFullRoom (members: Member[], deadline: number): Promise<boolean> {
  const note = (): void => {
    for (const m of members) {
      if (m.cpuAtReadyMs == null && m.proc.events.some(e => e.event === 'ready')) { m.cpuAtReadyMs = Math.round(procCpu(m.proc)) }
    }
  }
  while (Date.now() < deadline) {
    note()
    if (members.every(m => sawEveryone(m, members))) { return true }
    if (members.some(m => !m.proc.running)) { return false }
    await sleep(20)
  }
  note()
  return members.every(m => sawEveryone(m, members))
}
