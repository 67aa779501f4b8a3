/**
 * The fuzzing engine behind `npm run fuzz`: fast-check draws inputs (raw bytes, and seeds of real messages mutated
 * the way libFuzzer's mutators do: bit flips, interesting bytes, cuts, inserts, repeats, splices of two seeds), each
 * target gets them for a fixed time, and every exception that the target does not name as a refusal is a crash: its
 * input and stack go to `fuzz/crashes/<target>/`. Not coverage-guided (jazzer.js's native addon needs glibc 2.38,
 * see docs/fuzzing.md); the seeds are what carries it past the first checks of each decoder.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'

export interface FuzzTarget {
  /** Short name, for `--target` and the crash folder. */
  name: string
  /** What it feeds, in one line. */
  about: string
  /** Valid or nearly valid inputs to mutate. */
  seeds(): Promise<Uint8Array[]>
  /** Feed one input; resolves or throws. */
  run(input: Uint8Array): Promise<void> | void
  /** Whether an error is how the code refuses bad input (anything else is a crash). */
  expected(err: unknown): boolean
}

export interface Crash {
  signature: string
  file: string
  error: string
}

export interface FuzzResult {
  target: string
  executions: number
  seconds: number
  crashes: Crash[]
}

/** Longest input drawn, in bytes: above every pre-proof limit (1 KiB) and most frames, small enough to run fast. */
const MAX_INPUT = 8192

/** Inputs drawn per fast-check sample: small enough that the time budget is kept to within a batch. */
const BATCH = 200

/** Bytes that sit on the edges of varints, lengths and EBML markers. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x08, 0x10, 0x1a, 0x12, 0x0a, 0x22]

type Mutation =
  | { kind: 'flip', pos: number, bit: number }
  | { kind: 'set', pos: number, byte: number }
  | { kind: 'cut', pos: number }
  | { kind: 'drop', pos: number, len: number }
  | { kind: 'insert', pos: number, bytes: Uint8Array }
  | { kind: 'repeat', pos: number, len: number, times: number }
  | { kind: 'splice', pos: number, other: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('cut' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('repeat' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), pos: fc.nat(), other: fc.nat() })
)

function mutate (input: Uint8Array, m: Mutation, seeds: Uint8Array[]): Uint8Array {
  const at = input.length === 0 ? 0 : m.pos % (input.length + 1)
  switch (m.kind) {
    case 'flip': {
      if (input.length === 0) { return input }
      const out = input.slice()
      out[m.pos % out.length] ^= 1 << m.bit
      return out
    }
    case 'set': {
      if (input.length === 0) { return Uint8Array.of(m.byte) }
      const out = input.slice()
      out[m.pos % out.length] = m.byte
      return out
    }
    case 'cut': return input.subarray(0, at)
    case 'drop': return concat([input.subarray(0, at), input.subarray(at + m.len)])
    case 'insert': return concat([input.subarray(0, at), m.bytes, input.subarray(at)])
    case 'repeat': {
      const part = input.subarray(at, at + m.len)
      return concat([input.subarray(0, at), ...Array.from({ length: m.times }, () => part), input.subarray(at)])
    }
    case 'splice': {
      const other = seeds[m.other % seeds.length]
      return concat([input.subarray(0, at), other.subarray(other.length === 0 ? 0 : m.pos % other.length)])
    }
  }
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(Math.min(MAX_INPUT, parts.reduce((n, p) => n + p.length, 0)))
  let o = 0
  for (const p of parts) {
    if (o >= out.length) { break }
    out.set(p.subarray(0, out.length - o), o)
    o += p.length
  }
  return out
}

/** Inputs for a target: a seed as it is, a seed mutated one to eight times, or bytes drawn from nothing. */
export function inputs (seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const raw = fc.uint8Array({ maxLength: 512 })
  if (seeds.length === 0) { return raw }
  const mutated = fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }))
    .map(([i, ms]) => ms.reduce((input, m) => mutate(input, m, seeds), seeds[i]))
  return fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 12, arbitrary: mutated },
    { weight: 2, arbitrary: raw }
  )
}

/** One line naming where an error came from: its name, message head and the first frame of our code. */
function signatureOf (err: unknown): string {
  const e = err as Error
  const frame = (e?.stack ?? '').split('\n').find(l => l.includes('/dist/protocols/') || l.includes('/dist/fuzz/')) ?? ''
  return `${e?.name ?? typeof err}: ${String(e?.message ?? err).slice(0, 80)} ${frame.trim()}`
}

export interface RunOptions {
  seconds: number
  seed: number
  crashDir: string
  /** Called for each new crash signature. */
  onCrash?(crash: Crash): void
}

/** Errors that escaped a target's promises while it ran (a handler's stray rejection is a crash of that target). */
let strays: unknown[] = []
process.on('unhandledRejection', err => { strays.push(err) })
process.on('uncaughtException', err => { strays.push(err) })

/** Feed `target` for `options.seconds`; returns executions and the distinct crashes (one file per signature). */
export async function fuzz (target: FuzzTarget, options: RunOptions): Promise<FuzzResult> {
  const seeds = await target.seeds()
  const arb = inputs(seeds)
  const started = Date.now()
  const until = started + options.seconds * 1000
  const crashes = new Map<string, Crash>()
  let executions = 0
  let batch = 0

  const record = (input: Uint8Array, err: unknown): void => {
    const signature = signatureOf(err)
    if (crashes.has(signature)) { return }
    const dir = join(options.crashDir, target.name)
    mkdirSync(dir, { recursive: true })
    const hash = createHash('sha1').update(input).digest('hex').slice(0, 16)
    const file = join(dir, `crash-${hash}.bin`)
    const error = (err as Error)?.stack ?? String(err)
    writeFileSync(file, input)
    writeFileSync(`${file}.txt`, `${signature}\n\n${error}\n`)
    const crash = { signature, file, error }
    crashes.set(signature, crash)
    options.onCrash?.(crash)
  }

  while (Date.now() < until) {
    for (const input of fc.sample(arb, { numRuns: BATCH, seed: options.seed + batch++ })) {
      strays = []
      try {
        await target.run(input)
      } catch (err) {
        if (!target.expected(err)) { record(input, err) }
      }
      // let stray rejections of this input surface before the next one
      await new Promise(resolve => setImmediate(resolve))
      for (const err of strays) { record(input, err) }
      executions++
      if (Date.now() >= until) { break }
    }
  }
  return { target: target.name, executions, seconds: (Date.now() - started) / 1000, crashes: [...crashes.values()] }
}

/** Run one saved input again (a crash file): throws what the target throws, expected or not. */
export async function reproduce (target: FuzzTarget, input: Uint8Array): Promise<unknown> {
  try {
    await target.run(input)
    return undefined
  } catch (err) {
    return err
  }
}
