/**
 * Real `freeflow` processes for integration tests and benchmarks: each is a separate Node process on loopback,
 * talking JSON lines; a test waits for the events a person would see.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

/** bin/freeflow.js, from dist/harness/. */
export const BIN = fileURLToPath(new URL('../../bin/freeflow.js', import.meta.url))

export type FreeflowEvent = Record<string, any> & { event: string, at: number }

const live = new Set<Proc>()
const dirs: string[] = []

export function tempDir (prefix = 'freeflow-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

export class Proc {
  readonly child: ChildProcess
  readonly events: FreeflowEvent[] = []
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  private readonly waiters = new Set<() => void>()

  constructor (readonly label: string, args: string[], prefix: string[] = [], env: Record<string, string> = {}) {
    const cmd = prefix.length > 0 ? prefix[0] : process.execPath
    const argv = prefix.length > 0 ? [...prefix.slice(1), process.execPath, BIN, ...args] : [BIN, ...args]
    this.child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    live.add(this)
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push({ ...JSON.parse(line), at: Date.now() })
      } catch {
        this.events.push({ event: 'non-json', line, at: Date.now() })
      }
      this.waiters.forEach(w => { w() })
    })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise(resolve => {
      this.child.on('exit', (code, signal) => {
        live.delete(this)
        this.waiters.forEach(w => { w() })
        resolve({ code, signal })
      })
    })
  }

  /** The PeerId its `ready` event reported (`join`, `record`), undefined before that. */
  get peerId (): string | undefined {
    return this.events.find(e => e.event === 'ready')?.peerId
  }

  get running (): boolean {
    return this.child.exitCode == null && this.child.signalCode == null
  }

  /** Resolve with the first event (past or future) that matches; reject after timeoutMs with what was seen. */
  async waitFor (what: string, match: (e: FreeflowEvent) => boolean, timeoutMs = 20_000): Promise<FreeflowEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(match)
        if (found != null) {
          done()
          resolve(found)
        } else if (!this.running) {
          done()
          reject(new Error(`${this.label} exited before ${what}; stderr: ${this.stderr.slice(-2000)}`))
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(this.events.map(e => e.event))}; stderr: ${this.stderr.slice(-2000)}`))
      }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.waiters.delete(check) }
      this.waiters.add(check)
      check()
    })
  }

  of (event: string): FreeflowEvent[] {
    return this.events.filter(e => e.event === event)
  }

  send (line: string): void {
    this.child.stdin!.write(line + '\n')
  }

  kill (signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) { this.child.kill(signal) }
  }
}

export interface RelayProc {
  proc: Proc
  peerId: string
  addrs: string[]
  http: string | null
  /** The metrics listener's URL (GET /metrics), null without one. */
  metrics: string | null
  /** The relay's TCP address of one family (not WebSockets). */
  tcp(family?: 4 | 6): string
  ws(): string
}

export async function startRelay (options: { listen?: string[], args?: string[], prefix?: string[], http?: boolean } = {}): Promise<RelayProc> {
  const listen = options.listen ?? ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']
  const args = ['relay', '--json', '--data-dir', join(tempDir(), 'relay'), ...listen.flatMap(l => ['--listen', l])]
  if (options.http !== false) { args.push('--http', '127.0.0.1:0') }
  // metrics on a listener of their own, beside the public one
  if (options.http !== false && !(options.args ?? []).includes('--metrics')) { args.push('--metrics', '127.0.0.1:0') }
  // every relay runs coturn: on a free port (several relays share one test namespace), relaying to loopback peers
  // (the test namespace has nothing else), unless the test sets TURN up itself
  if (!(options.args ?? []).some(a => a.startsWith('--turn') || a === '--no-turn')) { args.push('--turn-port', '0', '--turn-allow-private') }
  const proc = new Proc('relay', [...args, ...(options.args ?? [])], options.prefix)
  const ready = await proc.waitFor('listening', e => e.event === 'listening', 30_000)
  const addrs: string[] = ready.addrs
  return {
    proc,
    peerId: ready.peerId,
    addrs,
    http: ready.http,
    metrics: ready.metrics,
    tcp (family = 4) {
      const found = addrs.find(a => a.startsWith(`/ip${family}/`) && !a.includes('/ws'))
      if (found == null) { throw new Error(`relay has no IPv${family} TCP address: ${addrs.join(' ')}`) }
      return found
    },
    ws () {
      const found = addrs.find(a => a.includes('/ws'))
      if (found == null) { throw new Error('relay has no WebSocket address') }
      return found
    }
  }
}

export interface PeerOptions {
  listen?: string[]
  prefix?: string[]
  dataDir?: string
  args?: string[]
  /** Output for people instead of JSON lines: every line is a `non-json` event with its `line`. */
  human?: boolean
  /** More environment variables for the process. */
  env?: Record<string, string>
}

export function startPeer (roomKey: string, name: string, bootstrap: string[], options: PeerOptions = {}): Proc {
  const listen = options.listen ?? ['/ip4/127.0.0.1/tcp/0', '/p2p-circuit']
  // an empty roomKey: none on the command line (FREEFLOW_ROOM_KEY or --key-file in options)
  const args = ['join', ...(roomKey === '' ? [] : [roomKey]), ...(options.human === true ? [] : ['--json']), '--name', name, '--data-dir', options.dataDir ?? join(tempDir(), name),
    ...bootstrap.flatMap(b => ['--bootstrap', b]), ...listen.flatMap(l => ['--listen', l]), ...(options.args ?? [])]
  return new Proc(name, args, options.prefix, options.env)
}

/** Run `freeflow` to completion (for one-shot commands). */
export async function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  return { code, stdout, stderr }
}

/** A fresh room key from `freeflow room new`. */
export async function newRoomKey (): Promise<string> {
  const { code, stdout, stderr } = await run(['room', 'new'])
  if (code !== 0) { throw new Error(`freeflow room new failed: ${stderr}`) }
  return stdout.trim()
}

/** SIGTERM, then SIGKILL after a grace period; resolves when all have exited. */
export async function stop (procs: Proc[], graceMs = 3_000): Promise<void> {
  procs.forEach(p => { p.kill('SIGTERM') })
  const exited = Promise.all(procs.map(async p => p.exited))
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([exited, new Promise(resolve => { timer = setTimeout(resolve, graceMs) })])
  clearTimeout(timer)
  procs.forEach(p => { p.kill('SIGKILL') })
  await exited
}

/** Stop every process still running (SIGKILL after a grace period) and remove temporary folders. */
export async function cleanup (): Promise<void> {
  await stop([...live])
  while (dirs.length > 0) { rmSync(dirs.pop()!, { recursive: true, force: true }) }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
