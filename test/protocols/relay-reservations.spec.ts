/**
 * A relay's reservations end with their peer's last connection. The circuit relay server keeps a reservation until
 * its TTL (hours), so a person who reloaded the page a few times filled their address's share (8 by default) with
 * reservations of departed peers and could no longer be reached; seen in browser.spec, where a test's late pages
 * got no reservation. In-process relay and peers, over TCP on loopback.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import type { Libp2p } from 'libp2p'

describe('relay reservations of departed peers', function () {
  this.timeout(60_000)
  let relay: Awaited<ReturnType<typeof createRelay>>

  /** A peer reachable only through the relay, once it holds its reservation. */
  async function reserved (): Promise<Libp2p> {
    const n = await createLibp2p(overlayOptions({
      role: 'peer',
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/p2p-circuit'],
      bootstrap: [relay.node.getMultiaddrs()[0].toString()],
      transports: [tcp()]
    }))
    try {
      await until('a reservation on the relay', () => n.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit')), 15_000)
    } catch (err) {
      await n.stop()
      throw err
    }
    return n
  }

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: { maxReservationsPerIp: 2 } })
  })

  after(async () => {
    await relay?.stop()
  })

  it('three peers from one address, one after another, each reserving and leaving: the next still gets a reservation', async () => {
    const reservations = relay.node.services.relay.reservations
    for (let i = 0; i < 3; i++) {
      const n = await reserved()
      expect(reservations.has(n.peerId)).to.equal(true)
      await n.stop()
      await until(`peer ${i + 1}'s reservation released`, () => !reservations.has(n.peerId), 10_000)
    }
    const last = await reserved()
    expect([...relay.node.services.relay.reservations.keys()].map(String)).to.deep.equal([last.peerId.toString()])
    await last.stop()
  })

  it('the share per address still holds while its peers are connected', async () => {
    const held = [await reserved(), await reserved()]
    const third = createLibp2p(overlayOptions({
      role: 'peer',
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/p2p-circuit'],
      bootstrap: [relay.node.getMultiaddrs()[0].toString()],
      transports: [tcp()]
    }))
    const n = await third
    try {
      // refused: it never shows a circuit address while the two hold theirs
      await new Promise(resolve => setTimeout(resolve, 3_000))
      expect(n.getMultiaddrs().filter(ma => ma.toString().includes('/p2p-circuit'))).to.deep.equal([])
      expect(relay.node.services.relay.reservations.has(n.peerId)).to.equal(false)
    } finally {
      await n.stop()
      await Promise.all(held.map(async h => h.stop()))
    }
  })
})
