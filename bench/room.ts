/**
 * `npm run bench:room`: how fast a room comes together and how fast chat moves through it, measured with real
 * `freeflow` processes on loopback. Two relays form one DHT (B bootstraps from A); peers alternate their bootstrap
 * between A and B, so half of them can only be found across relays. Not a test: it asserts nothing, prints a
 * table and writes bench/results/room.json. The goals it is read against are in GOALS (room-setup.ts). Run it in a
 * loopback-only namespace:
 *
 * unshare -n sh -c 'ip link set lo up && npm run bench:room'
 *
 * Options: node dist/bench/room.js [--sizes 2,5,10] [--rounds 3] [--chat-peers 8] [--chat-rate 20] [--chat-seconds 15] [--chat-settle 1000]
 *
 * A short run: node dist/bench/room.js --sizes 2 --rounds 1 --chat-peers 2 --chat-rate 5 --chat-seconds 2
 */
import { parseArgs } from 'node:util'
import { log, runBench } from './harness.ts'
import { ms } from './report.ts'
import { chatBench } from './room-chat.ts'
import { joinRound, summariseJoin } from './room-join.ts'
import { roomReport } from './room-report.ts'
import { CHAT_DRAIN, CHAT_LATE, CHAT_SETTLE, GOALS, JOIN_DEADLINE } from './room-setup.ts'
import type { ChatResult } from './room-chat.ts'
import type { JoinRound, JoinSummary } from './room-join.ts'

/** The whole bench, at most; then everything is stopped and it exits non-zero. */
const WATCHDOG = 10 * 60_000

await runBench({ name: 'room', watchdogMs: WATCHDOG }, async (bench) => {
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

  const join: JoinSummary[] = []
  const joinRounds: Record<number, JoinRound[]> = {}
  for (const n of sizes) {
    joinRounds[n] = []
    for (let r = 0; r < rounds; r++) {
      const result = await joinRound(n, r)
      joinRounds[n].push(result)
      const worst = result.peers.some(p => p.allSeenMs == null) ? 'FAIL' : `${Math.max(...result.peers.map(p => p.allSeenMs ?? 0))} ms`
      log(`join N=${n} round ${r + 1}/${rounds}: slowest peer ${worst}`)
    }
    join.push(summariseJoin(n, joinRounds[n]))
  }
  let chat: ChatResult | undefined
  if (chatPeers >= 2) {
    chat = await chatBench(chatPeers, Number(values['chat-rate']), Number(values['chat-seconds']), Number(values['chat-settle']))
    log(`chat done, p99 ${ms(chat.latency.p99)} ms`)
  }

  const json = {
    date: bench.started.toISOString(),
    durationMs: bench.elapsed(),
    machine: bench.machine(),
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
  return { text: roomReport(join, chat, rounds), json }
})
