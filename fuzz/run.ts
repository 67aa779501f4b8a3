/* eslint-disable no-console */
/**
 * `npm run fuzz`: feed every target (or one) for a time budget, print executions and crashes per target, and exit 1
 * if any target crashed. Crash inputs and stacks go to fuzz/crashes/<target>/ (not in git).
 *
 *   npm run fuzz -- [--seconds 60] [--target name]... [--seed n] [--list]
 *   npm run fuzz -- --target name --reproduce fuzz/crashes/name/crash-<hash>.bin
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { fuzz, reproduce } from './engine.ts'
import { target as bootstrap } from './targets/bootstrap.fuzz.ts'
import { target as callMessages } from './targets/call-messages.fuzz.ts'
import { target as callStream } from './targets/call-stream.fuzz.ts'
import { target as roomCodec } from './targets/room-codec.fuzz.ts'
import { target as roomEnvelope } from './targets/room-envelope.fuzz.ts'
import { target as roomHandshake } from './targets/room-handshake.fuzz.ts'
import { target as roomKey } from './targets/room-key.fuzz.ts'
import { target as sdp } from './targets/sdp.fuzz.ts'
import { target as turn } from './targets/turn.fuzz.ts'
import { target as webmFinish } from './targets/webm-finish.fuzz.ts'
import { target as webm } from './targets/webm.fuzz.ts'
import type { FuzzTarget } from './engine.ts'

/** Seconds per target when --seconds is not given: a quick pass; the release check is 600 (docs/fuzzing.md). */
const DEFAULT_SECONDS = 60

const TARGETS: FuzzTarget[] = [roomCodec, roomEnvelope, roomHandshake, callMessages, callStream, sdp, turn, bootstrap, roomKey, webm, webmFinish]

function fail (message: string): never {
  console.error(`fuzz: ${message}`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      seconds: { type: 'string', default: String(DEFAULT_SECONDS) },
      target: { type: 'string', multiple: true },
      seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
      reproduce: { type: 'string' },
      list: { type: 'boolean', default: false }
    }
  }).values
} catch (err: any) {
  fail(err.message)
}

if (args.list) {
  for (const t of TARGETS) { console.log(`${t.name.padEnd(16)} ${t.about}`) }
  process.exit(0)
}

const seconds = Number(args.seconds)
if (!Number.isFinite(seconds) || seconds <= 0) { fail(`--seconds must be a positive number, not '${args.seconds}'`) }
const seed = Number(args.seed)
if (!Number.isSafeInteger(seed)) { fail(`--seed must be an integer, not '${args.seed}'`) }
const wanted = args.target ?? TARGETS.map(t => t.name)
const unknown = wanted.filter(name => !TARGETS.some(t => t.name === name))
if (unknown.length > 0) { fail(`no target named ${unknown.join(', ')} (--list names them)`) }
const chosen = TARGETS.filter(t => wanted.includes(t.name))
const crashDir = fileURLToPath(new URL('../../fuzz/crashes', import.meta.url))

if (args.reproduce != null) {
  if (chosen.length !== 1) { fail('--reproduce needs exactly one --target') }
  const target = chosen[0]
  await target.seeds()
  const err = await reproduce(target, readFileSync(args.reproduce))
  if (err == null) {
    console.log(`${target.name}: no error`)
  } else {
    console.log(`${target.name}: ${target.expected(err) ? 'expected refusal' : 'CRASH'}`)
    console.log((err as Error).stack ?? String(err))
  }
  process.exit(err == null || target.expected(err) ? 0 : 1)
}

console.log(`fuzz: ${chosen.length} target(s), ${seconds} s each, seed ${seed}`)
let crashed = 0
for (const target of chosen) {
  const result = await fuzz(target, {
    seconds,
    seed,
    crashDir,
    onCrash: crash => { console.log(`  CRASH ${target.name}: ${crash.signature}\n        input: ${crash.file}`) }
  })
  crashed += result.crashes.length
  console.log(`${target.name.padEnd(16)} ${String(result.executions).padStart(9)} executions in ${result.seconds.toFixed(0)} s, ${result.crashes.length} crash(es)`)
}
console.log(crashed === 0 ? 'fuzz: no crashes' : `fuzz: ${crashed} distinct crash(es), inputs in ${crashDir}`)
process.exit(crashed === 0 ? 0 : 1)
