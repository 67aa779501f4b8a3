/* eslint-disable no-console -- a stress spec tells the people who run it what it counted */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { cleanup, run, startPeer, startRelay } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { withRetry } from '../../protocols/dial/index.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * `@libp2p/webrtc` 6.0.33: the answerer may close the dialer's `init` data channel before the dialer sees it open,
 * and the dialer then waited for ever for an `open` event (about 1 dial in 10 hung on these machines). Patched at
 * install (patches/@libp2p+webrtc+*.patch) and guarded by a deadline and a retry on every dial. Here: many
 * relayed WebRTC dials between two Node peers in separate processes, none hanging.
 */
const DIALS = Number(process.env.RACE_DIALS ?? 100)
const TIMEOUT = 10_000

/** One dial with its retries, checked and closed; what went wrong, or undefined. */
async function dialOnce (dialer: PeerNode, addr: Multiaddr, counts: { retried: number, closeErrors: number, slowest: number }): Promise<string | undefined> {
  const started = Date.now()
  try {
    const conn = await withRetry(async signal => dialer.dial(addr, { signal, force: true }), {
      attempts: 3,
      timeout: TIMEOUT,
      onRetry: () => { counts.retried++ }
    })
    counts.slowest = Math.max(counts.slowest, Date.now() - started)
    expect(conn.remoteAddr.toString()).to.include('/webrtc')
    expect(conn.limits, 'a WebRTC connection is direct, not limited by the relay').to.equal(undefined)
    // closing is not what is under test: a close that times out is counted, and the connection aborted
    await conn.close({ signal: AbortSignal.timeout(TIMEOUT) }).catch((err: Error) => { counts.closeErrors++; conn.abort(err) })
    return undefined
  } catch (err: any) {
    return `${err.name}: ${err.message}`
  }
}

describe('@libp2p/webrtc init-channel race: many relayed WebRTC dials', function () {
  this.timeout(240_000)
  let relay: RelayProc
  let target: Proc
  let dialer: PeerNode

  before(async () => {
    relay = await startRelay({ http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    target = startPeer(key, 'target', [relay.tcp()], { listen: ['/p2p-circuit', '/webrtc'] })
    await target.waitFor('ready', e => e.event === 'ready')
    dialer = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/p2p-circuit', '/webrtc'], iceServers: [] })
    await dialer.dial(multiaddr(relay.tcp()))
  })

  after(async () => {
    await dialer?.stop()
    await cleanup()
  })

  it(`${DIALS} dials over /p2p-circuit/webrtc all end in a direct connection, none hanging`, async () => {
    const targetId = target.of('ready')[0].peerId
    const addr = multiaddr(`${relay.tcp()}/p2p-circuit/webrtc/p2p/${targetId}`)
    // the target needs its reservation before it can be reached at all
    await withRetry(async signal => dialer.dial(addr, { signal, force: true }), {
      attempts: 20,
      timeout: TIMEOUT,
      backoff: 500,
      onRetry: (n, err) => { if (process.env.RACE_VERBOSE != null) { console.log(`      warm-up ${n}: ${err.name} ${err.message}`) } }
    }).then(async c => c.close())
    const counts = { retried: 0, closeErrors: 0, slowest: 0 }
    const failures: string[] = []
    for (let i = 0; i < DIALS; i++) {
      const started = Date.now()
      const failure = await dialOnce(dialer, addr, counts)
      if (failure != null) { failures.push(`dial ${i}: ${failure}`) }
      if (process.env.RACE_VERBOSE != null) { console.log(`      dial ${i}: ${Date.now() - started} ms, ${counts.retried} retried so far`) }
    }
    const { retried, closeErrors, slowest } = counts
    console.log(`      ${DIALS} dials, ${retried} attempts retried, slowest dial ${slowest} ms, ${closeErrors} closes timed out`)
    // a dial that hung past its deadlines would never have settled (withRetry abandons it: test/protocols/dial.spec.ts)
    expect(failures).to.deep.equal([])
    expect(target.running).to.equal(true)
  })
})
