/* eslint-disable no-console -- the spec prints the figures it measured under the flood, for the log */
/**
 * A stranger's trickle of silent TCP sockets from one address, and stalled readers of the web app's largest file,
 * against a real relay process: honest connections from other addresses still get their handshake answered, two
 * honest peers still meet, /healthz still answers. With libp2p's defaults (10 pending inbound connections, a 10 s
 * upgrade deadline) 12 silent sockets were enough to reset every next connection. Loopback's 127.0.0.0/8 gives the
 * attacker and the honest clients their own source addresses.
 */
import { connect } from 'node:net'
import { expect } from 'aegir/chai'
import { cleanup, newRoomKey, sleep, startPeer, startRelay } from '../../harness/procs.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { Socket } from 'node:net'

const ATTACKER = '127.0.0.2'
/** The attack of issue 10 item 1: this many new silent sockets … */
const SILENT_PER_TICK = 12
/** … every this many ms. */
const TICK_MS = 200
/** Item 2's stalled readers of the largest file, from the same address. */
const STALLED_READERS = 50

/** multistream-select's header, length-prefixed, then a proposal of Noise: what a libp2p dialler sends first. */
function multistreamHello (): Buffer {
  const lp = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])
  return Buffer.concat([lp('/multistream/1.0.0\n'), lp('/noise\n')])
}

/** One honest connection attempt from `from`: true when the relay answers multistream-select within `ms`. */
async function handshakeAnswered (host: string, port: number, from: string, ms = 5_000): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host, port, localAddress: from })
    let got = Buffer.alloc(0)
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => { done(false) }, ms)
    socket.on('connect', () => { socket.write(multistreamHello()) })
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.includes('/multistream/1.0.0\n')) { done(true) }
    })
    socket.on('error', () => { done(false) })
    socket.on('close', () => { done(false) })
  })
}

/** The attacker: SILENT_PER_TICK new sockets every TICK_MS that never send a byte, until stopped. */
function silentTrickle (host: string, port: number): { stop(): void, opened(): number } {
  const sockets = new Set<Socket>()
  let opened = 0
  const timer = setInterval(() => {
    for (let i = 0; i < SILENT_PER_TICK; i++) {
      const s = connect({ host, port, localAddress: ATTACKER })
      opened++
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
  }, TICK_MS)
  return {
    stop () {
      clearInterval(timer)
      sockets.forEach(s => s.destroy())
    },
    opened: () => opened
  }
}

/** Stalled readers: each asks for `path` and never reads the answer. */
function stalledReaders (url: URL, path: string): Socket[] {
  return Array.from({ length: STALLED_READERS }, () => {
    const s = connect({ host: url.hostname, port: Number(url.port), localAddress: ATTACKER })
    s.on('error', () => {})
    s.on('connect', () => {
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
      s.pause()
    })
    return s
  })
}

describe('a flood of silent connections from one address', function () {
  this.timeout(120_000)
  let relay: RelayProc

  before(async function () {
    if (process.env.FREEFLOW_TEST_NETNS !== '1') { this.skip() }
    relay = await startRelay()
  })

  after(async () => {
    await cleanup()
  })

  it('honest connections from other addresses are answered, two peers meet, /healthz answers', async () => {
    const tcp = relay.tcp().split('/')
    const host = tcp[2]
    const port = Number(tcp[4])
    const http = new URL(relay.http!)
    // the largest file the relay serves: its source map if it serves one
    const bigPath = (await fetch(new URL('/main.js.map', http))).ok ? '/main.js.map' : '/main.js'
    const readers = stalledReaders(http, bigPath)
    const trickle = silentTrickle(host, port)
    try {
      // let the trickle fill what it can: past the upgrade deadline, so that the slots it holds are steady
      await sleep(12_000)
      let answered = 0
      for (let i = 0; i < 10; i++) {
        if (await handshakeAnswered(host, port, `127.0.0.${3 + i}`)) { answered++ }
        await sleep(300)
      }
      const key = await newRoomKey()
      const alice = startPeer(key, 'alice', [relay.tcp()])
      const bob = startPeer(key, 'bob', [relay.tcp()])
      await Promise.all([alice.waitFor('ready', e => e.event === 'ready', 30_000), bob.waitFor('ready', e => e.event === 'ready', 30_000)])
      const readyAt = Math.max(...[alice, bob].map(p => p.of('ready')[0].at))
      let metAt = Number.NaN
      try {
        await Promise.all([
          alice.waitFor('bob joining', e => e.event === 'peer:join' && e.name === 'bob', 30_000),
          bob.waitFor('alice joining', e => e.event === 'peer:join' && e.name === 'alice', 30_000)
        ])
        metAt = Math.max(alice.of('peer:join')[0].at, bob.of('peer:join')[0].at)
      } catch {
        // they did not meet within 30 s: metAt stays NaN, printed as "never" and failed below
      }
      const healthStart = Date.now()
      const health = await fetch(new URL('/healthz', http), { signal: AbortSignal.timeout(5_000) }).then(r => r.status, () => 0)
      const healthMs = Date.now() - healthStart
      const meetMs = metAt - readyAt
      console.log(`      flood of ${SILENT_PER_TICK} silent sockets per ${TICK_MS} ms (${trickle.opened()} opened) and ${STALLED_READERS} stalled readers of ${bigPath} from ${ATTACKER}: ${answered}/10 honest handshakes answered, two peers met ${Number.isNaN(meetMs) ? 'never (30 s)' : `${Math.max(0, meetMs)} ms after both were ready`}, /healthz ${health} in ${healthMs} ms`)
      expect(answered).to.be.at.least(9)
      expect(meetMs).to.be.below(10_000)
      expect(health).to.equal(200)
    } finally {
      trickle.stop()
      readers.forEach(s => s.destroy())
    }
  })
})
