/**
 * What every bench does around its measurements: a watchdog that stops everything when a run overruns,
 * SIGINT/SIGTERM handling, cleanup of the processes (harness/procs.ts) and browsers it started, the machine it ran
 * on, and its output: a text report on stdout and JSON in bench/results/<name>.json. A bench is one call:
 * `await runBench({ name: 'room', watchdogMs }, async (bench) => ({ text, json }))`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, platform, release, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../harness/browser.ts'
import { cleanup } from '../harness/procs.ts'
import type { Browser } from 'playwright-core'

/** Where the benches write their JSON: bench/results/ (from dist/bench/). */
export const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))

/** A browser that does not close within this long is left to playwright's exit handler, ms. */
const BROWSER_CLOSE_GRACE = 10_000

export interface BenchSpec {
  /** The JSON goes to bench/results/<name>.json. */
  name: string
  /** The whole run, at most; then everything is stopped and the bench exits 1. */
  watchdogMs: number
}

export interface MachineInfo extends Record<string, unknown> {
  cpus: number
  cpuModel: string
  memoryBytes: number
  platform: string
  kernel: string
  node: string
  /** 1, 5 and 15 minute load averages when the bench started and ended (other work on the machine skews times). */
  loadavgStart: number[]
  loadavgEnd: number[]
}

export interface Bench {
  /** When the run started. */
  readonly started: Date
  /** Milliseconds since the start. */
  elapsed(): number
  /** Debian's chromium (harness/browser.ts), closed when the run ends, overruns or is interrupted. */
  launch(extraArgs?: string[]): Promise<Browser>
  /** The machine, as every bench's JSON describes it; `extra` goes after `node`. */
  machine(extra?: Record<string, unknown>): MachineInfo
}

export interface BenchOutput {
  /** The report for people (tables and notes), printed on stdout. */
  text: string
  /** Written to bench/results/<name>.json. */
  json: Record<string, unknown>
}

/** A progress line for people, on stderr (stdout carries the report). */
export function log (text: string): void {
  process.stderr.write(`bench: ${text}\n`)
}

/**
 * Run one bench: `main` measures and returns its report; this prints the text, writes the JSON, and stops every
 * process and browser it started whatever happens. Sets a non-zero exit code when `main` throws.
 */
export async function runBench (spec: BenchSpec, main: (bench: Bench) => Promise<BenchOutput>): Promise<void> {
  const browsers = new Set<Browser>()
  const loadavgStart = loadavg()
  const started = new Date()
  let finished = false

  const stopEverything = async (): Promise<void> => {
    const open = [...browsers]
    browsers.clear()
    await Promise.all(open.map(async b => {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([b.close().catch(() => {}), new Promise(resolve => { timer = setTimeout(resolve, BROWSER_CLOSE_GRACE) })])
      clearTimeout(timer)
    }))
    await cleanup()
  }
  const watchdog = setTimeout(() => {
    log(`still running after ${spec.watchdogMs / 60_000} minutes; stopping everything`)
    void stopEverything().finally(() => process.exit(1))
  }, spec.watchdogMs)
  const onSignal = (sig: NodeJS.Signals): void => {
    if (finished) { return }
    log(`${sig}; stopping every process`)
    void stopEverything().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const bench: Bench = {
    started,
    elapsed: () => Date.now() - started.getTime(),
    launch: async (extraArgs = []) => {
      if (!existsSync(CHROMIUM)) { throw new Error(`chromium not found at ${CHROMIUM} (apt-get install -y chromium)`) }
      // as harness/browser.ts launches it, but without playwright's own signal handlers: on SIGINT they close the
      // browser and exit at once, leaving the relays and peers running
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false })
      browsers.add(browser)
      return browser
    },
    machine: (extra = {}) => {
      const cpu = cpus()
      return {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? 'unknown',
        memoryBytes: totalmem(),
        platform: platform(),
        kernel: release(),
        node: process.version,
        ...extra,
        loadavgStart,
        loadavgEnd: loadavg()
      }
    }
  }

  try {
    const { text, json } = await main(bench)
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
    mkdirSync(RESULTS, { recursive: true })
    const file = `${RESULTS}${spec.name}.json`
    writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
    process.stdout.write(`\nwrote ${file}\n`)
  } catch (err: any) {
    log(`failed - ${err.stack ?? err}`)
    process.exitCode = 1
  } finally {
    await stopEverything()
    finished = true
    clearTimeout(watchdog)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
