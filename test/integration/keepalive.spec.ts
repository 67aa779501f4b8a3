/**
 * A busy machine answers late, not never. libp2p's connection monitor pings every connection and aborts it when one
 * ping fails; with its defaults (a ping every 10 s, 5 s to answer, one ping stream at a time) a page or process that
 * stalls for a few seconds (a laptop under a 3-way call, a garbage collection, a tab in the background) lost its
 * relay, and with it every member reached through it. Here the relay process is frozen (SIGSTOP) for 16 s: the
 * peer's connection to it must still be the same open connection afterwards, and carry a stream.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { cleanup, sleep, startRelay } from '../../harness/procs.ts'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import type { RelayProc } from '../../harness/procs.ts'
import type { Libp2p } from 'libp2p'

describe('keep-alive on a machine that stalls', function () {
  this.timeout(120_000)
  let relay: RelayProc
  let node: Libp2p | undefined

  before(async () => {
    relay = await startRelay({ args: ['--no-turn'], http: false })
  })

  after(async () => {
    await node?.stop()
    await cleanup()
  })

  it('a relay frozen for 16 s keeps its connection to the peer', async () => {
    node = await createLibp2p(overlayOptions({
      role: 'peer',
      privateKey: await generateKeyPair('Ed25519'),
      listen: [],
      transports: [tcp()],
      turn: false
    }))
    const conn = await node.dial(multiaddr(relay.tcp()))
    // the monitor has pinged at least once before the stall
    await sleep(16_000)
    expect(conn.status).to.equal('open')
    relay.proc.child.kill('SIGSTOP')
    try {
      await sleep(16_000)
    } finally {
      relay.proc.child.kill('SIGCONT')
    }
    // time for pings sent during the stall to be answered, or to fail
    await sleep(10_000)
    expect(conn.status, 'the connection to the relay after its 16 s stall').to.equal('open')
    expect(node.getConnections(conn.remotePeer).map(c => c.id)).to.include(conn.id)
    // and it still carries a stream
    const rtt = await (node.services as any).ping.ping(conn.remoteAddr, { signal: AbortSignal.timeout(10_000) })
    expect(rtt).to.be.a('number')
  })
})
