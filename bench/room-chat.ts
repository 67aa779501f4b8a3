/**
 * bench:room, part 2: chat. Peers in one room send lines round-robin at a fixed total rate; latency from the
 * sender's timestamp to each receiver's output, what was lost, late or duplicated, and who used the machine.
 */
import { cpus } from 'node:os'
import { newRoomKey, sleep, stop } from '../harness/procs.ts'
import { log } from './harness.ts'
import { pct, stats } from './report.ts'
import { awaitFullRoom, joinsSeen, startMembers, startRelays, STOP_GRACE } from './room-members.ts'
import { CHAT_DRAIN, CHAT_LATE, CpuWindow, JOIN_DEADLINE, QUANTILES } from './room-setup.ts'
import type { Member } from './room-members.ts'
import type { CpuUse, Stats } from './room-setup.ts'

export interface ChatResult {
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
  /** Per second of sending: latency of the messages written in it, and how busy the machine was (and by whom). */
  perSecond: Array<{ second: number, n: number, p50: number, p99: number, max: number, busyPct?: number, otherPct?: number }>
  histogram: Record<string, number>
  /** While sending (first write to the end of the drain): who used the machine. */
  cpu: CpuUse
  /** The peers' CPU over the settle pause before sending (heartbeats, gossipsub's own heartbeat): the idle floor. */
  idleCpu: CpuUse
  /**
   * CPU of all peers per delivered message, ms: (peers' CPU while sending - the idle floor over as long) / deliveries.
   * Every peer both sends and receives, so this includes sealing, signing and publishing each line once, spread over
   * its n - 1 deliveries.
   */
  cpuPerDeliveryMs: number
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

export async function chatBench (n: number, rate: number, seconds: number, settle: number): Promise<ChatResult> {
  const relays = await startRelays()
  const key = await newRoomKey()
  const members = startMembers(key, n, relays, 'chat')
  try {
    const t0 = Math.min(...members.map(m => m.spawnedAt))
    const full = await awaitFullRoom(members, Date.now() + JOIN_DEADLINE)
    const roomFullMs = full ? Math.max(...members.flatMap(m => joinsSeen(m, members).map(e => e?.at ?? 0))) - t0 : null
    if (!full) { log('the chat room did not come together; sending anyway') }
    const idle = new CpuWindow(members.map(m => m.proc))
    await sleep(settle)
    const idleCpu = idle.end(members.map(m => m.proc), [])

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
        if (wait > 0) { await sleep(wait) }
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
    while (deliveredNow() < sent.length * (n - 1) && Date.now() < stragglersUntil) { await sleep(200) }
    const cores = cpus().length

    const idOf = new Map(members.map(m => [m, m.proc.peerId]))
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
      for (const c of chats) { perId.set(c.id, (perId.get(c.id) ?? 0) + 1) }
      for (const count of perId.values()) { duplicates += count - 1 }
      toSender += chats.filter(c => c.from === idOf.get(r)).length
    }
    for (const s of sent) {
      for (const r of members) {
        if (r === s.sender) { continue }
        const got = r.proc.of('chat').filter(c => c.text === s.text)
        if (got.length === 0) {
          lost++
          lostDetail.push({ seq: s.seq, from: s.sender.name, to: r.name })
          continue
        }
        delivered++
        const c = got[0]
        if (c.history === true) { viaHistory++ }
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
      latency: stats(latencies, QUANTILES),
      stdinToTs: stats(stdinToTs, QUANTILES),
      endToEnd: stats(endToEnd, QUANTILES),
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
      idleCpu,
      cpuPerDeliveryMs: delivered > 0 ? Math.max(0, cpu.peersMs - idleCpu.peersMs * cpu.wallMs / Math.max(1, idleCpu.wallMs)) / delivered : 0,
      worst: worst.slice(0, 10),
      lostDetail: lostDetail.slice(0, 50)
    }
  } finally {
    await stop([...members.map(m => m.proc), relays.a.proc, relays.b.proc], STOP_GRACE)
  }
}
