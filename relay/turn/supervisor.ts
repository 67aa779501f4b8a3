/**
 * coturn as a supervised child: started when its ports are free, up once it answers a STUN Binding request, checked
 * every few seconds, restarted with capped, jittered backoff when it exits or stops answering, stopped with the relay.
 * It runs in its own session (a Ctrl-C in the terminal reaches only the relay, which stops it) and, through
 * `setpriv --pdeathsig`, gets SIGTERM if the relay dies without stopping it.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { TypedEventEmitter } from 'main-event'
import { Backoff, sleep } from '../../protocols/util/backoff.ts'
import { findBinary } from './files.ts'
import { portsInUse, stunBinding } from './probe.ts'
import type { TurnStats } from './stats.ts'
import type { Logger } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'

export interface CoturnInit {
  binary: string
  configFile: string
  /** coturn's listening addresses: its ports must be free on each; the first one is asked for STUN. */
  listen: string[]
  /** Its ports (STUN/TURN, then TLS if any). */
  ports: number[]
  stats: TurnStats
  log: Logger
  /**
   * How long a fresh coturn may take to answer STUN, in ms (generous: a loaded host starts it slowly).
   *
   * @default 30_000
   */
  readyTimeout?: number
  /**
   * How often a running coturn is asked for STUN, in ms.
   *
   * @default 10_000
   */
  checkInterval?: number
  /**
   * Unanswered checks in a row after which it is restarted.
   *
   * @default 3
   */
  maxMisses?: number
  /**
   * First pause before a restart, in ms.
   *
   * @default 1_000
   */
  initialBackoff?: number
  /**
   * Longest pause before a restart, in ms.
   *
   * @default 60_000
   */
  maxBackoff?: number
}

export interface CoturnState {
  up: boolean
  reason?: string
  pid?: number
}

/** Lines of coturn's output kept to explain why it stopped. */
const TAIL_LINES = 20

/** After this long up, the next failure starts the backoff again from its first pause, in ms. */
const STABLE_AFTER = 60_000

/** How long coturn gets to exit after SIGTERM before SIGKILL, in ms. */
const KILL_GRACE = 5_000

export class Coturn extends TypedEventEmitter<{ change: CustomEvent<CoturnState> }> {
  state: CoturnState = { up: false, reason: 'starting' }
  private readonly init: Required<CoturnInit>
  private readonly tail: string[] = []
  private shutdown = new AbortController()
  private child?: ChildProcess
  private loop?: Promise<void>
  private setpriv?: string

  constructor (init: CoturnInit) {
    super()
    this.init = { readyTimeout: 30_000, checkInterval: 10_000, maxMisses: 3, initialBackoff: 1_000, maxBackoff: 60_000, ...init }
  }

  /** Start; resolves when coturn first answers, or its first start failed (it is then retried in the background). */
  async start (): Promise<void> {
    this.shutdown = new AbortController()
    this.setpriv = await findBinary('setpriv')
    let first: () => void = () => {}
    const started = new Promise<void>(resolve => { first = resolve })
    this.loop = this.run(() => { first() })
    await started
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    await this.loop
    await this.terminate(this.child)
  }

  private set (state: CoturnState): void {
    this.state = state
    this.safeDispatchEvent('change', { detail: { ...state } })
  }

  private async run (first: () => void): Promise<void> {
    const signal = this.shutdown.signal
    const backoff = new Backoff({ initial: this.init.initialBackoff, max: this.init.maxBackoff })
    while (!signal.aborted) {
      const startedAt = Date.now()
      let reason: string
      try {
        reason = await this.life(first)
      } catch (err: any) {
        reason = err.message ?? String(err)
      }
      await this.terminate(this.child)
      if (signal.aborted) { break }
      this.init.stats.reset()
      this.init.stats.restarts++
      this.init.log.error('TURN is down: %s', reason)
      this.set({ up: false, reason })
      first()
      if (Date.now() - startedAt > STABLE_AFTER) { backoff.reset() }
      await backoff.wait({ signal })
    }
  }

  /** One life of coturn: start it, wait until it answers, watch it. Resolves with why it ended. */
  private async life (first: () => void): Promise<string> {
    const signal = this.shutdown.signal
    const busy = await portsInUse(this.init.listen, this.init.ports)
    if (busy != null) { return `${busy} (another TURN server?)` }
    if (signal.aborted) { return 'stopped' }
    const child = this.spawn()
    const ended = new AbortController()
    const exited = new Promise<string>(resolve => {
      child.once('error', (err) => { ended.abort(); resolve(`turnserver could not run: ${err.message}`) })
      child.once('exit', (code, sig) => { ended.abort(); resolve(`turnserver exited (${sig ?? `code ${String(code)}`})${this.lastWords()}`) })
    })
    const watching = AbortSignal.any([signal, ended.signal])
    const ready = await this.waitReady(watching)
    if (!ready) {
      if (ended.signal.aborted) { return exited }
      return signal.aborted ? 'stopped' : `turnserver did not answer STUN within ${this.init.readyTimeout} ms`
    }
    this.init.log('TURN is up, pid %d', child.pid)
    this.set({ up: true, pid: child.pid })
    first()
    const unhealthy = await this.watch(watching)
    return unhealthy ?? (signal.aborted ? 'stopped' : await exited)
  }

  private spawn (): ChildProcess {
    const { binary, configFile } = this.init
    const [cmd, args] = this.setpriv != null
      ? [this.setpriv, ['--pdeathsig', 'TERM', '--', binary, '-c', configFile]]
      : [binary, ['-c', configFile]]
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    this.child = child
    this.tail.length = 0
    for (const stream of [child.stdout, child.stderr]) {
      if (stream == null) { continue }
      createInterface({ input: stream }).on('line', (line) => { this.onLine(line) })
    }
    return child
  }

  private onLine (line: string): void {
    this.init.stats.feed(line)
    this.tail.push(line)
    if (this.tail.length > TAIL_LINES) { this.tail.shift() }
    if (/ERROR|error [45]\d\d/.test(line)) { this.init.log('coturn: %s', line) } else { this.init.log.trace('coturn: %s', line) }
  }

  /** The last thing coturn said that looks like an error, for the reason people read. */
  private lastWords (): string {
    const line = [...this.tail].reverse().find(l => /ERROR|[Cc]annot|[Ee]rror|FATAL/.test(l))
    return line != null ? `: ${line.replace(/^\d+: : /, '').trim()}` : ''
  }

  private async check (): Promise<boolean> {
    return stunBinding(this.init.listen[0], this.init.ports[0], 2_000)
  }

  private async waitReady (signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.init.readyTimeout
    while (!signal.aborted && Date.now() < deadline) {
      if (await this.check()) { return !signal.aborted }
      await sleep(100, { signal })
    }
    return false
  }

  /** Ask for STUN now and then; undefined when watching ends, the reason when coturn stopped answering. */
  private async watch (signal: AbortSignal): Promise<string | undefined> {
    let misses = 0
    while (!signal.aborted) {
      await sleep(this.init.checkInterval, { signal })
      if (signal.aborted) { return undefined }
      misses = (await this.check()) ? 0 : misses + 1
      if (misses >= this.init.maxMisses && !signal.aborted) { return `turnserver stopped answering STUN (${misses} checks in a row)` }
    }
    return undefined
  }

  private async terminate (child: ChildProcess | undefined): Promise<void> {
    if (child?.pid == null || child.exitCode != null || child.signalCode != null) { return }
    const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, KILL_GRACE)
    await exited
    clearTimeout(timer)
  }
}
