/**
 * `npm run bench:room`: how fast a room comes together and how fast chat moves through it, measured with real
 * `freeflow` processes on loopback. Two relays form one DHT (B bootstraps from A); peers alternate their bootstrap
 * between A and B, so half of them can only be found across relays. Not a test: it asserts nothing, prints a
 * table and writes bench/results/room.json. The goals it is read against are in GOALS.
 *
 * Options: node dist/bench/room.js [--sizes 2,5,10] [--rounds 3] [--chat-peers 8] [--chat-rate 20] [--chat-seconds 15] [--chat-settle 1000]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem, platform, release } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { cleanup, run, sleep, startPeer, startRelay, type FreeflowEvent, type Proc, type RelayProc } from '../test/helpers/procs.js'
import { allProcs, machineCpu, readProc, type ProcInfo } from './cpu.js'
import { ms, pct, table } from './report.js'

const GOALS = {
  /** Every member sees every other one within this many ms of starting `join`, at N = 10. */
  joinAllSeenMs: 2_000,
  joinAtN: 10,
  /** 99th percentile of chat latency, sender's clock to receiver's output, in ms. */
  chatP99Ms: 100
}

/** A peer that has not seen everyone this long after its spawn has failed. */
const JOIN_DEADLINE = 30_000
/** After every member of the chat room saw everyone: let gossipsub build its mesh (heartbeat is 1 s). */
const CHAT_SETTLE = 1_000
/** After the last chat line: time for stragglers (and for duplicates to show up). */
const CHAT_DRAIN = 4_000
/** Then, while deliveries are still missing, wait up to this much longer: what arrives is late, what does not is lost. */
const CHAT_LATE = 15_000
/** Share of the machine other processes may use during a phase before its timings are flagged as disturbed, %. */
const DISTURBED_PCT = 10
/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 10 * 60_000
/** Loopback only: relays listen here (the harness adds --http 127.0.0.1:0), peers use the harness default. */
const RELAY_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))

// ---- small statistics ----

interface Stats { n: number, p50: number, p90: number, p99: number, max: number }

function stats (values: number[]): Stats {
  return { n: values.length, p50: pct(values, 50), p90: pct(values, 90), p99: pct(values, 99), max: pct(values, 100) }
}

// ---- CPU accounting (Linux /proc; zeros elsewhere) ----
// Every peer runs on this one machine, so start-up and joining compete for its cores, and so do any other
// processes on it (other test runs): a round records how busy the machine was and who used the time.

/** CPU time (user + system) a process has used so far, in ms; 0 once it is gone. */
function procCpu (p: Proc): number {
  const pid = p.child.pid
  if (pid == null || !p.running) return 0
  return readProc(pid)?.cpuMs ?? 0
}

function ownCpu (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1_000
}

interface CpuUse {
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

class CpuWindow {
  private readonly wall = Date.now()
  private readonly machine = machineCpu()
  private readonly harness = ownCpu()
  private readonly before = new Map<Proc, number>()
  private readonly everything?: Map<number, ProcInfo>

  /** procs already running when the window opens; ones started later count from 0. */
  constructor (procs: Proc[], options: { whoElse?: boolean } = {}) {
    procs.forEach(p => this.before.set(p, procCpu(p)))
    if (options.whoElse === true) this.everything = allProcs()
  }

  /** Close the window; call while the processes still run. */
  end (peers: Proc[], relays: Proc[]): CpuUse {
    const machine = machineCpu()
    const used = (list: Proc[]): number => list.reduce((sum, p) => sum + Math.max(0, procCpu(p) - (this.before.get(p) ?? 0)), 0)
    const busy = machine.busy - this.machine.busy
    const total = machine.total - this.machine.total
    const peersMs = used(peers)
    const relaysMs = used(relays)
    const harnessMs = ownCpu() - this.harness
    const otherMs = Math.max(0, Math.round(busy - peersMs - relaysMs - harnessMs))
    const wallMs = Date.now() - this.wall
    let topOther: CpuUse['topOther']
    if (this.everything != null && otherMs > wallMs * cpus().length * DISTURBED_PCT / 100) {
      const ours = new Set([process.pid, ...[...peers, ...relays].map(p => p.child.pid)])
      topOther = [...allProcs()].filter(([pid]) => !ours.has(pid))
        .map(([pid, { cpuMs, cmd }]) => ({ pid, cmd: cmd.slice(0, 120), cpuMs: Math.round(cpuMs - (this.everything?.get(pid)?.cpuMs ?? 0)) }))
        .sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5)
    }
    return {
      wallMs,
      busyPct: total > 0 ? 100 * busy / total : 0,
      peersMs: Math.round(peersMs),
      relaysMs: Math.round(relaysMs),
      harnessMs: Math.round(harnessMs),
      otherMs,
      ...(topOther != null ? { topOther } : {})
    }
  }
}

// ---- processes ----

/** SIGTERM, then SIGKILL after a grace period; resolves when all have exited. */
async function stopAll (procs: Proc[], graceMs = 5_000): Promise<void> {
  procs.forEach(p => { p.kill('SIGTERM') })
  const exited = Promise.all(procs.map(async p => p.exited))
  await Promise.race([exited, sleep(graceMs)])
  procs.forEach(p => { p.kill('SIGKILL') })
  await exited
}

async function newRoomKey (): Promise<string> {
  const { code, stdout, stderr } = await run(['room', 'new'])
  if (code !== 0) throw new Error(`freeflow room new failed: ${stderr}`)
  return stdout.trim()
}

interface Relays { a: RelayProc, b: RelayProc, startMs: number }

/** Relay A, then relay B bootstrapped from A's TCP address; resolves once B reports it reached A. */
async function startRelays (): Promise<Relays> {
  const t0 = Date.now()
  const a = await startRelay({ listen: RELAY_LISTEN })
  const b = await startRelay({ listen: RELAY_LISTEN, args: ['--bootstrap', a.tcp()] })
  await b.proc.waitFor('relay B reaching relay A', e => e.event === 'bootstrap' && e.connected === true, 15_000)
  return { a, b, startMs: Date.now() - t0 }
}

interface Member {
  proc: Proc
  name: string
  /** Which relay it bootstraps from. */
  via: 'A' | 'B'
  spawnedAt: number
  cpuAtReadyMs?: number
}

/** Start n peers at once in a fresh room, alternating their bootstrap relay (A for even indexes, B for odd). */
function startMembers (key: string, n: number, relays: Relays, prefix: string, firstIndex = 0): Member[] {
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

function first (p: Proc, match: (e: FreeflowEvent) => boolean): FreeflowEvent | undefined {
  return p.events.find(match)
}

function peerIdOf (m: Member): string | undefined {
  return first(m.proc, e => e.event === 'ready')?.peerId
}

/** The first peer:join of each other member, by peer id (undefined where not seen yet). */
function joinsSeen (m: Member, members: Member[]): Array<FreeflowEvent | undefined> {
  return members.filter(o => o !== m).map(o => {
    const id = peerIdOf(o)
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
async function awaitFullRoom (members: Member[], deadline: number): Promise<boolean> {
  const note = (): void => {
    for (const m of members) {
      if (m.cpuAtReadyMs == null && m.proc.events.some(e => e.event === 'ready')) m.cpuAtReadyMs = Math.round(procCpu(m.proc))
    }
  }
  while (Date.now() < deadline) {
    note()
    if (members.every(m => sawEveryone(m, members))) return true
    if (members.some(m => !m.proc.running)) return false
    await sleep(20)
  }
  note()
  return members.every(m => sawEveryone(m, members))
}

// ---- 1. join: spawn to everyone seen ----

interface PeerJoin {
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
interface LateJoin {
  bootstrap: 'A' | 'B'
  readyMs: number | null
  /** Its spawn -> it saw every member (null: not within the deadline). */
  allSeenMs: number | null
  /** Its spawn -> the last member saw it (null: not within the deadline). */
  seenByAllMs: number | null
  cpu: CpuUse
}

interface JoinRound {
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
    const id = peerIdOf(late)
    const seenBy = members.map(m => id == null ? undefined : first(m.proc, e => e.event === 'peer:join' && e.peerId === id))
    const last = seenBy.every(e => e != null) ? Math.max(...seenBy.map(e => e?.at ?? 0)) - late.spawnedAt : null
    return { bootstrap: late.via, readyMs: mine.readyMs, allSeenMs: mine.allSeenMs, seenByAllMs: last != null && last <= JOIN_DEADLINE ? last : null, cpu }
  } finally {
    await stopAll([late.proc])
  }
}

async function joinRound (n: number, round: number): Promise<JoinRound> {
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
    await stopAll([...members.map(m => m.proc), ...relayProcs])
  }
}

interface JoinSummary {
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

function summariseJoin (n: number, rounds: JoinRound[]): JoinSummary {
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
    ready: stats(values(p => p.readyMs)),
    allSeen: stats(values(p => p.allSeenMs)),
    afterReady: stats(values(p => p.afterReadyMs)),
    firstSeen: stats(values(p => p.firstSeenMs)),
    roundMax: rounds.map(r => r.peers.some(p => p.allSeenMs == null) ? null : Math.max(...r.peers.map(p => p.allSeenMs ?? 0))),
    relayedJoinShare: seen === 0 ? 0 : peers.reduce((s, p) => s + p.relayedJoins, 0) / seen,
    peerCpuMs: stats(values(p => p.cpuMs)),
    peerCpuToReadyMs: stats(values(p => p.cpuToReadyMs)),
    cpuFloorMs: stats(rounds.map(r => (r.cpu.peersMs + r.cpu.relaysMs) / cores)),
    fullMs: stats(rounds.map(r => r.cpu.wallMs)),
    machineBusyPct: stats(rounds.map(r => r.cpu.busyPct)),
    otherPct: stats(rounds.map(r => 100 * r.cpu.otherMs / Math.max(1, r.cpu.wallMs * cores))),
    late: {
      samples: lates.length,
      failures: lates.filter(l => l.allSeenMs == null || l.seenByAllMs == null).length,
      ready: stats(lateValues(l => l.readyMs)),
      allSeen: stats(lateValues(l => l.allSeenMs)),
      seenByAll: stats(lateValues(l => l.seenByAllMs))
    }
  }
}

// ---- 2. chat: latency and exactly-once ----

interface ChatResult {
  peers: number
  ratePerSecond: number
  seconds: number
  /** spawn of the first peer -> every member saw every other one (null: never, within the deadline). */
  roomFullMs: number | null
  settleMs: number
  sent: number
  expectedDeliveries: number
  delivered: number
  lost: number
  duplicates: number
  toSender: number
  /** Deliveries that came as history (a re-handshake) rather than live. */
  viaHistory: number
  latency: Stats
  /** Harness writes the line -> sender stamps ts: stdin, readline, and the sender's event loop. */
  stdinToTs: Stats
  /** Harness writes the line -> receiver's line reaches the harness: everything. */
  endToEnd: Stats
  /** Achieved sending rate: messages / (last write - first write). */
  achievedRate: number
  /** Latency p50 and max for each second of sending. */
  /** Per second of sending: latency of the messages written in it, and how busy the machine was (and by whom). */
  perSecond: Array<{ second: number, n: number, p50: number, p99: number, max: number, busyPct?: number, otherPct?: number }>
  histogram: Record<string, number>
  /** While sending (first write to the end of the drain): who used the machine. */
  cpu: CpuUse
  worst: Array<{ seq: number, from: string, to: string, latencyMs: number }>
  lostDetail: Array<{ seq: number, from: string, to: string }>
}

const BUCKETS = [5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000]

function histogram (values: number[]): Record<string, number> {
  const out: Record<string, number> = {}
  const edges = [-Infinity, ...BUCKETS, Infinity]
  for (let i = 1; i < edges.length; i++) {
    const [lower, upper] = [edges[i - 1], edges[i]]
    out[upper === Infinity ? `>${lower}` : `<=${upper}`] = values.filter(v => v > lower && v <= upper).length
  }
  return out
}

async function chatBench (n: number, rate: number, seconds: number, settle: number): Promise<ChatResult> {
  const relays = await startRelays()
  const key = await newRoomKey()
  const members = startMembers(key, n, relays, 'chat')
  try {
    const t0 = Math.min(...members.map(m => m.spawnedAt))
    const full = await awaitFullRoom(members, Date.now() + JOIN_DEADLINE)
    const roomFullMs = full ? Math.max(...members.flatMap(m => joinsSeen(m, members).map(e => e?.at ?? 0))) - t0 : null
    if (!full) process.stderr.write('bench: the chat room did not come together; sending anyway\n')
    await sleep(settle)

    // round-robin over senders at a fixed total rate, paced against the clock so lateness does not accumulate
    const total = Math.round(rate * seconds)
    const interval = 1_000 / rate
    const sent: Array<{ seq: number, sender: Member, text: string, writtenAt: number }> = []
    const relayProcs = [relays.a.proc, relays.b.proc]
    const peerProcs = members.map(m => m.proc)
    const everyone = [...peerProcs, ...relayProcs]
    const window = new CpuWindow(everyone, { whoElse: true })
    const start = Date.now()
    // one CPU sample a second, to line latency up with what else the machine was doing
    const samples: CpuUse[] = []
    let slice = new CpuWindow(everyone)
    const sampler = setInterval(() => {
      samples.push(slice.end(peerProcs, relayProcs))
      slice = new CpuWindow(everyone)
    }, 1_000)
    let lastWrite = start
    let cpu: CpuUse
    try {
      for (let seq = 0; seq < total; seq++) {
        const due = start + seq * interval
        const wait = due - Date.now()
        if (wait > 0) await sleep(wait)
        const sender = members[seq % n]
        const text = `bench ${seq} from ${sender.name}`
        sent.push({ seq, sender, text, writtenAt: Date.now() })
        sender.proc.send(text)
      }
      lastWrite = Date.now()
      await sleep(CHAT_DRAIN)
      cpu = window.end(peerProcs, relayProcs)
    } finally {
      clearInterval(sampler)
    }
    // a slow delivery is late, not lost: give stragglers up to CHAT_LATE more before counting what is missing
    const texts = new Set(sent.map(x => x.text))
    const deliveredNow = (): number => members.reduce((sum, r) => sum + new Set(r.proc.of('chat').filter(c => texts.has(c.text)).map(c => c.text)).size, 0)
    const stragglersUntil = Date.now() + CHAT_LATE
    while (deliveredNow() < sent.length * (n - 1) && Date.now() < stragglersUntil) await sleep(200)
    const cores = cpus().length

    const idOf = new Map(members.map(m => [m, peerIdOf(m)]))
    const latencies: number[] = []
    const stdinToTs: number[] = []
    const endToEnd: number[] = []
    const perSecond = new Map<number, number[]>()
    const worst: ChatResult['worst'] = []
    const lostDetail: ChatResult['lostDetail'] = []
    let delivered = 0
    let lost = 0
    let duplicates = 0
    let toSender = 0
    let viaHistory = 0
    const bySenderTs = new Map<string, number>()
    for (const r of members) {
      const chats = r.proc.of('chat')
      const perId = new Map<string, number>()
      for (const c of chats) perId.set(c.id, (perId.get(c.id) ?? 0) + 1)
      for (const count of perId.values()) duplicates += count - 1
      toSender += chats.filter(c => c.from === idOf.get(r)).length
    }
    for (const s of sent) {
      for (const r of members) {
        if (r === s.sender) continue
        const got = r.proc.of('chat').filter(c => c.text === s.text)
        if (got.length === 0) {
          lost++
          lostDetail.push({ seq: s.seq, from: s.sender.name, to: r.name })
          continue
        }
        delivered++
        const c = got[0]
        if (c.history === true) viaHistory++
        const latency = c.at - c.ts
        latencies.push(latency)
        endToEnd.push(c.at - s.writtenAt)
        if (!bySenderTs.has(s.text)) {
          bySenderTs.set(s.text, c.ts)
          stdinToTs.push(c.ts - s.writtenAt)
        }
        const second = Math.floor((s.writtenAt - start) / 1_000)
        perSecond.set(second, [...(perSecond.get(second) ?? []), latency])
        worst.push({ seq: s.seq, from: s.sender.name, to: r.name, latencyMs: latency })
      }
    }
    worst.sort((a, b) => b.latencyMs - a.latencyMs)
    return {
      peers: n,
      ratePerSecond: rate,
      seconds,
      roomFullMs,
      settleMs: settle,
      sent: sent.length,
      expectedDeliveries: sent.length * (n - 1),
      delivered,
      lost,
      duplicates,
      toSender,
      viaHistory,
      latency: stats(latencies),
      stdinToTs: stats(stdinToTs),
      endToEnd: stats(endToEnd),
      achievedRate: sent.length > 1 ? (sent.length - 1) / ((lastWrite - start) / 1_000) : 0,
      perSecond: [...perSecond.entries()].sort((a, b) => a[0] - b[0])
        .map(([second, v]) => ({
          second,
          n: v.length,
          p50: pct(v, 50),
          p99: pct(v, 99),
          max: pct(v, 100),
          busyPct: samples[second] != null ? Math.round(samples[second].busyPct) : undefined,
          otherPct: samples[second] != null ? Math.round(100 * samples[second].otherMs / (samples[second].wallMs * cores)) : undefined
        })),
      histogram: histogram(latencies),
      cpu,
      worst: worst.slice(0, 10),
      lostDetail: lostDetail.slice(0, 50)
    }
  } finally {
    await stopAll([...members.map(m => m.proc), relays.a.proc, relays.b.proc])
  }
}

// ---- report ----

function printReport (join: JoinSummary[], chat: ChatResult | undefined, rounds: number): void {
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
  if (disturbed.length > 0) out.push(`  warning: other work on this machine took more than ${DISTURBED_PCT}% of it during: ${disturbed.join(', ')}; timings there are inflated (who: cpu.topOther in the JSON)`)
  process.stdout.write(out.join('\n') + '\n')
}

// ---- main ----

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '2,5,10' },
      rounds: { type: 'string', default: '3' },
      'chat-peers': { type: 'string', default: '8' },
      'chat-rate': { type: 'string', default: '20' },
      'chat-seconds': { type: 'string', default: '15' },
      'chat-settle': { type: 'string', default: String(CHAT_SETTLE) }
    }
  })
  const sizes = values.sizes.split(',').map(Number).filter(n => n >= 2)
  const rounds = Number(values.rounds)
  const chatPeers = Number(values['chat-peers'])
  const started = new Date()
  const loadBefore = loadavg()

  const join: JoinSummary[] = []
  const joinRounds: Record<number, JoinRound[]> = {}
  for (const n of sizes) {
    joinRounds[n] = []
    for (let r = 0; r < rounds; r++) {
      const result = await joinRound(n, r)
      joinRounds[n].push(result)
      const worst = result.peers.some(p => p.allSeenMs == null) ? 'FAIL' : `${Math.max(...result.peers.map(p => p.allSeenMs ?? 0))} ms`
      process.stderr.write(`bench: join N=${n} round ${r + 1}/${rounds}: slowest peer ${worst}\n`)
    }
    join.push(summariseJoin(n, joinRounds[n]))
  }
  let chat: ChatResult | undefined
  if (chatPeers >= 2) {
    chat = await chatBench(chatPeers, Number(values['chat-rate']), Number(values['chat-seconds']), Number(values['chat-settle']))
    process.stderr.write(`bench: chat done, p99 ${ms(chat.latency.p99)} ms\n`)
  }

  printReport(join, chat, rounds)
  const cpu = cpus()
  const report = {
    date: started.toISOString(),
    durationMs: Date.now() - started.getTime(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      platform: platform(),
      kernel: release(),
      node: process.version,
      /** 1, 5 and 15 minute load averages when the bench started and ended (other work on the machine skews times). */
      loadavgStart: loadBefore,
      loadavgEnd: loadavg()
    },
    setup: {
      relays: 'two, started fresh for every round (and for the chat run); B bootstraps from A\'s TCP address; loopback only',
      peers: 'all spawned at once, bootstrapping from A, B, A, B, ...; listen /ip4/127.0.0.1/tcp/0 and /p2p-circuit',
      joinDeadlineMs: JOIN_DEADLINE,
      chatSettleMs: chat?.settleMs ?? CHAT_SETTLE,
      chatDrainMs: CHAT_DRAIN,
      chatLateMs: CHAT_LATE
    },
    goals: GOALS,
    join: join.map(s => ({ ...s, detail: joinRounds[s.n] })),
    chat
  }
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(`${RESULTS}room.json`, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`\nwrote ${RESULTS}room.json\n`)
}

let finished = false
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${WATCHDOG / 60_000} minutes; stopping everything\n`)
  void cleanup().finally(() => process.exit(1))
}, WATCHDOG)
function onSignal (sig: NodeJS.Signals): void {
  if (finished) return
  process.stderr.write(`bench: ${sig}; stopping every process\n`)
  void cleanup().finally(() => process.exit(130))
}
process.once('SIGINT', onSignal)
process.once('SIGTERM', onSignal)

try {
  await main()
} catch (err: any) {
  process.stderr.write(`bench: failed - ${err.stack ?? err}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
  finished = true
  clearTimeout(watchdog)
}
