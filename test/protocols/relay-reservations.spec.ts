/* eslint-disable no-console -- the office test prints how many reservations it got, for the log */
/**
 * A relay's reservations end with their peer's last connection. The circuit relay server keeps a reservation until
 * its TTL (hours), so a person who reloaded the page a few times filled their address's share (8 by default) with
 * reservations of departed peers and could no longer be reached; seen in browser.spec, where a test's late pages
 * got no reservation. In-process relay and peers, over TCP on loopback.
 */
import { execFileSync } from 'node:child_process'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import { createRelay, DEFAULT_LIMITS } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

/**
 * The least a peer that is reachable only through a relay needs (TCP from `from`, the circuit relay transport,
 * identify), dialling `relay` to reserve a slot there: cheap enough for fifty in one process.
 */
async function reserving (relay: Multiaddr, from: string): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/p2p-circuit'] },
    transports: [tcp({ dialOpts: { localAddress: from } as any }), circuitRelayTransport({ reservationCompletionTimeout: 10_000 })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    connectionGater: { denyDialMultiaddr: () => false }
  })
  await node.dial(relay)
  return node
}

/** A node holds a reservation once it announces a circuit address. */
function hasReservation (node: Libp2p): boolean {
  return node.getMultiaddrs().some(ma => ma.toString().includes('/p2p-circuit'))
}

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

  it('a peer that reloads 20 times (a new PeerId each time, from one address) is still reachable', async () => {
    const reservations = relay.node.services.relay.reservations
    for (let i = 0; i < 20; i++) {
      const n = await reserved()
      expect(reservations.has(n.peerId)).to.equal(true)
      // a reload: the page goes and the next one comes at once, no waiting for the relay to notice
      await n.stop()
    }
    const last = await reserved()
    await until('the departed peers\' reservations released', () => reservations.size === 1, 10_000)
    expect([...reservations.keys()].map(String)).to.deep.equal([last.peerId.toString()])
    // reachable: another peer opens a connection to it through the relay
    const caller = await peer()
    try {
      const circuit = multiaddr(`${relay.node.getMultiaddrs()[0].toString()}/p2p-circuit/p2p/${last.peerId.toString()}`)
      const conn = await caller.dial(circuit)
      expect(conn.remotePeer.equals(last.peerId)).to.equal(true)
    } finally {
      await caller.stop()
      await last.stop()
    }
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

describe('relay reservations of an office behind one address', function () {
  this.timeout(120_000)
  let relay: Awaited<ReturnType<typeof createRelay>>
  const nodes: Libp2p[] = []

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await relay?.stop()
  })

  it('the defaults let 50 peers behind one address all hold a reservation, and one address still cannot take every slot', async () => {
    expect(DEFAULT_LIMITS.maxReservationsPerIp).to.be.at.least(50)
    expect(DEFAULT_LIMITS.maxReservationsPerIp * 16).to.be.at.most(DEFAULT_LIMITS.maxReservations)
    const addr = relay.node.getMultiaddrs()[0]
    // as an office arrives: ten at once, ten a second (INBOUND_CONNECTIONS_PER_SECOND refuses a faster burst from
    // one address; the app's bootstrap dials again)
    for (let i = 0; i < 50; i += 10) {
      const started = Date.now()
      nodes.push(...await Promise.all(Array.from({ length: 10 }, async () => reserving(addr, '127.0.0.2'))))
      await new Promise(resolve => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - started))))
    }
    await until('50 reservations', () => nodes.every(hasReservation), 30_000)
    const held = [...relay.node.services.relay.reservations.values()].filter(r => r.addr.toString().startsWith('/ip4/127.0.0.2/')).length
    console.log(`      50 peers from 127.0.0.2: ${nodes.filter(hasReservation).length} hold a reservation (relay counts ${held} from that address)`)
    expect(held).to.equal(50)
  })
})

describe('relay reservations per IPv6 /64', function () {
  this.timeout(60_000)
  let relay: Awaited<ReturnType<typeof createRelay>>
  const nodes: Libp2p[] = []
  const added: string[] = []

  before(async function () {
    // documentation addresses on loopback: only inside the test's own network namespace (npm test makes one)
    if (process.env.FREEFLOW_TEST_NETNS !== '1') { this.skip() }
    for (const a of ['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8:0:1::2']) {
      execFileSync('ip', ['-6', 'addr', 'replace', `${a}/128`, 'dev', 'lo', 'nodad'])
      added.push(a)
    }
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip6/2001:db8::1/tcp/0'], limits: { maxReservationsPerIp: 1 } })
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await relay?.stop()
    // the namespace is shared by every later spec: a global address left on lo becomes an ICE candidate of every
    // later in-process WebRTC connection, and signal-channel.spec and webrtc-race.spec then never got a direct one
    for (const a of added.splice(0)) { execFileSync('ip', ['-6', 'addr', 'del', `${a}/128`, 'dev', 'lo']) }
  })

  it('two addresses in one /64 count as one address; another /64 is another', async () => {
    const addr = relay.node.getMultiaddrs()[0]
    const first = await reserving(addr, '2001:db8::2')
    nodes.push(first)
    await until('the first reservation', () => hasReservation(first), 15_000)
    const sameNet = await reserving(addr, '2001:db8::3')
    const otherNet = await reserving(addr, '2001:db8:0:1::2')
    nodes.push(sameNet, otherNet)
    await until('the other /64\'s reservation', () => hasReservation(otherNet), 15_000)
    const reservations = relay.node.services.relay.reservations
    expect(reservations.has(first.peerId)).to.equal(true)
    expect(reservations.has(otherNet.peerId)).to.equal(true)
    expect(reservations.has(sameNet.peerId)).to.equal(false)
  })
})
