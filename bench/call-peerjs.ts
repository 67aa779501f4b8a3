/**
 * bench:call, the second baseline: what a person could pick instead of FreeFlow. PeerJS 1.5 in the same browser,
 * with its own signalling server (the `peer` package's PeerServer, a central server that knows everyone) on
 * loopback. A host opens its Peer and waits `settle` ms; the joiner, its camera already open as FreeFlow's preview is
 * before Join, opens its Peer and calls the host with its stream; the host answers with its own. Measured like a
 * FreeFlow join: the joiner's start -> the first frame of the host's video shown in the joiner's page
 * (requestVideoFrameCallback). iceServers [] on both sides, as on loopback FreeFlow needs none either.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { sleep } from '../harness/procs.ts'
import { CAMERA, JOIN_DEADLINE, QUANTILES } from './call-setup.ts'
import { log } from './harness.ts'
import { ms, stats } from './report.ts'
import type { Stats } from './call-setup.ts'
import type { Browser, BrowserContext, Page } from 'playwright-core'

export interface PeerjsRun {
  index: number
  /** joiner's start -> its Peer open (registered with the server), ms */
  openMs?: number
  /** joiner's start -> the host's stream arrived, ms */
  streamMs?: number
  /** joiner's start -> the first frame of the host's video shown, ms */
  firstFrameMs?: number
  error?: string
}

export interface PeerjsResult {
  /** the versions measured */
  peerjs: string
  server: string
  runs: number
  failures: number
  open: Stats
  stream: Stats
  firstFrame: Stats
  detail: PeerjsRun[]
}

const require = createRequire(import.meta.url)
const PEERJS_SCRIPT = require.resolve('peerjs/dist/peerjs.min.js')

/** A package's version, from its package.json (neither package exports that file). */
function versionOf (pkg: string): string {
  const entry = require.resolve(pkg)
  const dir = entry.slice(0, entry.lastIndexOf(`node_modules/${pkg}/`) + `node_modules/${pkg}/`.length)
  return (JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { version: string }).version
}

/**
 * The PeerServer on 127.0.0.1, on a free port, in a process of its own (as a real one would be; its timers would also
 * keep this process alive); resolves with its port and a way to stop it.
 */
async function startServer (): Promise<{ port: number, close(): Promise<void> }> {
  const code = "import('peer').then(({ PeerServer }) => { PeerServer({ host: '127.0.0.1', port: 0, path: '/peerjs' }, (s) => { console.log(s.address().port) }) })"
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: dirname(require.resolve('peer')), stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n')[0]
      if (out.includes('\n')) { Number(line) > 0 ? resolve(Number(line)) : reject(new Error(`PeerServer said: ${line}`)) }
    })
    child.once('exit', (code) => { reject(new Error(`PeerServer exited (${String(code)}) before it listened`)) })
  })
  return { port, close: async () => { child.kill('SIGTERM'); await exited } }
}

/** A page on the PeerServer's origin (loopback: a secure context) with PeerJS loaded and the camera open. */
async function peerjsPage (browser: Browser, port: number): Promise<{ context: BrowserContext, page: Page }> {
  const origin = `http://127.0.0.1:${port}`
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  await context.grantPermissions(['camera', 'microphone'], { origin })
  const page = await context.newPage()
  await page.goto(`${origin}/peerjs`)
  await page.setContent('<!doctype html><title>PeerJS baseline</title><video id="remote" autoplay muted playsinline></video>')
  await page.addScriptTag({ path: PEERJS_SCRIPT })
  await page.evaluate(async (camera) => {
    (globalThis as any).local = await navigator.mediaDevices.getUserMedia({ video: camera, audio: true })
  }, CAMERA)
  return { context, page }
}

async function peerjsRun (browser: Browser, port: number, index: number, settle: number): Promise<PeerjsRun> {
  const run: PeerjsRun = { index }
  const pages: Array<{ context: BrowserContext }> = []
  try {
    const host = await peerjsPage(browser, port)
    pages.push(host)
    const joiner = await peerjsPage(browser, port)
    pages.push(joiner)
    const options = { host: '127.0.0.1', port, path: '/peerjs', secure: false, config: { iceServers: [] } }
    const hostId: string = await host.page.evaluate(async (opts) => new Promise<string>((resolve, reject) => {
      const g = globalThis as any
      const peer = new g.peerjs.Peer(undefined, opts)
      peer.on('error', (err: Error) => { reject(err) })
      peer.on('open', (id: string) => { resolve(id) })
      peer.on('call', (call: any) => { call.answer(g.local) })
      g.peer = peer
    }), options)
    await sleep(settle)
    const marks = await joiner.page.evaluate(async ({ opts, hostId, deadline }) => new Promise<Record<string, number>>((resolve, reject) => {
      const g = globalThis as any
      const marks: Record<string, number> = {}
      const start = performance.now()
      const timer = setTimeout(() => { reject(new Error(`no frame within ${deadline} ms (${JSON.stringify(marks)})`)) }, deadline)
      const peer = new g.peerjs.Peer(undefined, opts)
      g.peer = peer
      peer.on('error', (err: Error) => { clearTimeout(timer); reject(err) })
      peer.on('open', () => {
        marks.open = performance.now() - start
        const call = peer.call(hostId, g.local)
        call.on('stream', (remote: MediaStream) => {
          if (marks.stream != null) { return }
          marks.stream = performance.now() - start
          const video = document.getElementById('remote') as HTMLVideoElement
          video.srcObject = remote
          video.requestVideoFrameCallback(() => {
            marks.firstFrame = performance.now() - start
            clearTimeout(timer)
            resolve(marks)
          })
          void video.play().catch(() => {})
        })
      })
    }), { opts: options, hostId, deadline: JOIN_DEADLINE })
    run.openMs = Math.round(marks.open)
    run.streamMs = Math.round(marks.stream)
    run.firstFrameMs = Math.round(marks.firstFrame)
  } catch (err: any) {
    run.error = String(err?.message ?? err).slice(0, 300)
  } finally {
    await Promise.all(pages.map(async p => p.context.close().catch(() => {})))
  }
  return run
}

/** `runs` PeerJS joins, one after another, each between two fresh pages. */
export async function peerjsBaseline (browser: Browser, runs: number, settle: number): Promise<PeerjsResult> {
  const server = await startServer()
  const detail: PeerjsRun[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const run = await peerjsRun(browser, server.port, i, settle)
      detail.push(run)
      log(`peerjs ${i + 1}/${runs}: ${run.error != null ? `FAIL ${run.error}` : `open ${ms(run.openMs)} ms, stream ${ms(run.streamMs)} ms, first frame ${ms(run.firstFrameMs)} ms`}`)
    }
  } finally {
    await server.close()
  }
  const ok = detail.filter(r => r.error == null)
  return {
    peerjs: versionOf('peerjs'),
    server: versionOf('peer'),
    runs,
    failures: runs - ok.length,
    open: stats(ok.map(r => r.openMs), QUANTILES),
    stream: stats(ok.map(r => r.streamMs), QUANTILES),
    firstFrame: stats(ok.map(r => r.firstFrameMs), QUANTILES),
    detail
  }
}
