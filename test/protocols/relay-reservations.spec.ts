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
import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

describe('relay reservations of departed peers', function () {
  this.timeout(60_000)
  let relay: Awaited<ReturnType<typeof createRelay>>

  /** A peer that is reachable only through the relay, and asks it for a reservation. */
  async function peer (): Promise<Libp2p> {
    return createLibp2p(overlayOptions({
      role: 'peer',
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/p2p-circuit'],
      bootstrap: [relay.node.getMultiaddrs()[0].toString()],
      transports: [tcp()]
    }))
  }

  /** Such a peer, once it holds its reservation. */
  async function reserved (): Promise<Libp2p> {
    const n = await peer()
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
    // the relay's own gater, watched: what it decided for each peer that asked
    const gater = (relay.node as any).components.connectionGater
    const real = gater.denyInboundRelayReservation
    const decided = new Map<string, boolean>()
    gater.denyInboundRelayReservation = async (p: PeerId): Promise<boolean> => {
      const deny: boolean = await real(p)
      decided.set(p.toString(), deny)
      return deny
    }
    const nodes: Libp2p[] = []
    try {
      nodes.push(await reserved(), await reserved())
      const third = await peer()
      nodes.push(third)
      await until('the relay decided on the third peer', () => decided.has(third.peerId.toString()), 15_000)
      expect(nodes.map(n => decided.get(n.peerId.toString()))).to.deep.equal([false, false, true])
      expect(relay.node.services.relay.reservations.has(third.peerId)).to.equal(false)
    } finally {
      gater.denyInboundRelayReservation = real
      await Promise.all(nodes.map(async n => n.stop()))
    }
  })
})
