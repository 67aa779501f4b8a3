/* eslint-disable no-console */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { cleanup, sleep, startRelay, tempDir } from '../../harness/procs.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { Socket } from 'node:net'

/** The built web app the relay serves (dist/browser/app, from dist/test/integration/). */
const APP = fileURLToPath(new URL('../../browser/app/', import.meta.url))
/** Files this spec plants in the app folder: what a careless deploy could leave there. */
const PLANTED = { dotfile: '.hostile-http.json', dotdir: '.hostile-http', symlink: 'hostile-http-out.json' }
const READERS = 200

function rssMiB (pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024
}

function port (url: string): number {
  return Number(new URL(url).port)
}

/**
 * A client that sends a request, looks at the status line, then never reads again. Resolves with the status line,
 * or 'closed' when the server closed the connection without one.
 */
async function stalledReader (url: string, path: string, sockets: Socket[]): Promise<string> {
  return new Promise(resolve => {
    const socket = connect(port(url), '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: relay\r\n\r\n`)
    })
    sockets.push(socket)
    socket.once('data', (chunk: Buffer) => {
      socket.pause()
      resolve(chunk.subarray(0, 15).toString())
    })
    socket.on('error', () => {})
    socket.on('close', () => { resolve('closed') })
  })
}

describe('the relay\'s HTTP side against strangers', function () {
  this.timeout(90_000)
  let relay: RelayProc
  /** Serves source maps and may be embedded by one origin; its metrics flag names only a port. */
  let open: RelayProc
  const sockets: Socket[] = []

  before(async () => {
    const outside = join(tempDir(), 'secret.json')
    writeFileSync(outside, '{"secret":"outside the app"}')
    writeFileSync(join(APP, PLANTED.dotfile), '{"secret":"dotfile"}')
    mkdirSync(join(APP, PLANTED.dotdir), { recursive: true })
    writeFileSync(join(APP, PLANTED.dotdir, 'config.json'), '{"secret":"dot folder"}')
    rmSync(join(APP, PLANTED.symlink), { force: true })
    symlinkSync(outside, join(APP, PLANTED.symlink))
    relay = await startRelay({ args: ['--no-turn'] })
    open = await startRelay({ args: ['--no-turn', '--serve-source-maps', '--frame-ancestors', 'https://meet.example.org', '--metrics', '0', '--http-max-connections', '220'] })
  })

  after(async () => {
    sockets.forEach(s => s.destroy())
    rmSync(join(APP, PLANTED.dotfile), { force: true })
    rmSync(join(APP, PLANTED.dotdir), { recursive: true, force: true })
    rmSync(join(APP, PLANTED.symlink), { force: true })
    await cleanup()
  })

  it('serves only the built app: no dotfile, no symlink out of the folder, no source map unless asked for', async () => {
    const status = async (r: RelayProc, path: string): Promise<number> => (await fetch(`${r.http}${path}`)).status
    const seen = {
      index: await status(relay, '/'),
      script: await status(relay, '/main.js'),
      dotfile: await status(relay, `/${PLANTED.dotfile}`),
      dotdir: await status(relay, `/${PLANTED.dotdir}/config.json`),
      symlink: await status(relay, `/${PLANTED.symlink}`),
      encodedUp: await status(relay, '/..%2F..%2Fpackage.json'),
      map: await status(relay, '/main.js.map'),
      mapAsked: await status(open, '/main.js.map')
    }
    console.log(`      status by request: ${JSON.stringify(seen)}`)
    expect(seen).to.deep.equal({ index: 200, script: 200, dotfile: 404, dotdir: 404, symlink: 404, encodedUp: 404, map: 404, mapAsked: 200 })
  })

  it('every response carries the CSP, frame-ancestors, nosniff, no-referrer and the permissions policy', async () => {
    for (const path of ['/', '/main.js', '/healthz', '/missing.js']) {
      const h = (await fetch(`${relay.http}${path}`)).headers
      const csp = h.get('content-security-policy') ?? ''
      expect(csp, path).to.include("script-src 'self'").and.include("frame-ancestors 'none'").and.include("default-src 'none'")
      expect(h.get('x-frame-options'), path).to.equal('DENY')
      expect(h.get('x-content-type-options'), path).to.equal('nosniff')
      expect(h.get('referrer-policy'), path).to.equal('no-referrer')
      expect(h.get('permissions-policy'), path).to.include('camera=(self)').and.include('microphone=(self)').and.include('display-capture=(self)')
    }
    // --frame-ancestors: the one origin may embed the app, and X-Frame-Options (which cannot name it) is left out
    const h = (await fetch(`${open.http}/`)).headers
    expect(h.get('content-security-policy')).to.match(/frame-ancestors https:\/\/meet\.example\.org(;|$)/)
    expect(h.get('x-frame-options')).to.equal(null)
  })

  it('/metrics is not on the public listener, only on the metrics one (loopback when only a port is given)', async () => {
    expect((await fetch(`${relay.http}/metrics`)).status).to.equal(404)
    expect((await fetch(`${open.http}/metrics`)).status).to.equal(404)
    expect(relay.metrics).to.be.a('string')
    expect(new URL(open.metrics ?? '').hostname).to.equal('127.0.0.1')
    for (const r of [relay, open]) {
      const res = await fetch(`${r.metrics}/metrics`)
      expect(res.status).to.equal(200)
      expect(await res.text()).to.include('freeflow_relay_reservations')
    }
  })

  it('a client that sends half its headers is cut off within seconds', async () => {
    const socket = connect(port(relay.http ?? ''), '127.0.0.1')
    sockets.push(socket)
    socket.on('error', () => {})
    socket.resume()
    const t0 = Date.now()
    socket.write('GET / HTTP/1.1\r\nHost: relay\r\n')
    const closed = await Promise.race([new Promise(resolve => socket.once('close', () => { resolve(true) })), sleep(15_000).then(() => false)])
    console.log(`      half a request: ${closed ? `closed after ${Date.now() - t0} ms` : 'still open after 15 s'}`)
    expect(closed).to.equal(true)
  })

  it(`${READERS} clients that request the largest file and never read keep the relay's memory small`, async () => {
    const pid = open.proc.child.pid ?? 0
    const largest = readdirSync(APP).filter(f => !f.startsWith('.') && statSync(join(APP, f)).isFile())
      .map(f => ({ f, size: statSync(join(APP, f)).size })).sort((a, b) => b.size - a.size)[0]
    const before = rssMiB(pid)
    const statuses = await Promise.all(Array.from({ length: READERS }, async () => stalledReader(open.http ?? '', `/${largest.f}`, sockets)))
    // the relay writes until every socket's buffers are full: sample while it does
    let peak = 0
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, rssMiB(pid))
      await sleep(500)
    }
    const answered = statuses.filter(s => s.startsWith('HTTP/1.1 200')).length
    console.log(`      relay RSS with ${READERS} stalled readers of /${largest.f} (${(largest.size / 1048576).toFixed(1)} MiB): ${peak.toFixed(0)} MiB (before: ${before.toFixed(0)} MiB); ${answered} answered 200`)
    expect(answered).to.equal(READERS)
    expect(peak).to.be.below(300)
    expect((await fetch(`${open.http}/healthz`)).status).to.equal(200)
  })

  it('past --http-max-connections, new sockets are closed unanswered', async () => {
    // 220 silent sockets fill the cap (each held until the 5 s header deadline)
    await Promise.all(Array.from({ length: 220 }, async () => new Promise<void>(resolve => {
      const socket = connect(port(open.http ?? ''), '127.0.0.1', () => { resolve() })
      sockets.push(socket)
      socket.on('error', () => { resolve() })
    })))
    await sleep(200)
    const more = await Promise.all(Array.from({ length: 20 }, async () => stalledReader(open.http ?? '', '/healthz', sockets)))
    const refused = more.filter(s => s === 'closed').length
    console.log(`      20 requests while 220 silent sockets fill a cap of 220: ${refused} closed unanswered`)
    expect(refused).to.equal(20)
  })
})
