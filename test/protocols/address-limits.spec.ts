/**
 * Inbound connections per source address (protocols/overlay/address-limits.ts) and the relay's trusted proxies
 * (relay/forwarded.ts): an in-process relay on loopback, minimal libp2p clients and raw sockets from other loopback
 * addresses (Linux routes all of 127.0.0.0/8 to lo), and a small real HTTP proxy that adds X-Forwarded-For.
 */
import { createServer, connect } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { addressKeyOf, MAX_PENDING_PER_ADDRESS } from '../../protocols/overlay/address-limits.ts'
import { clientAddress } from '../../relay/forwarded.ts'
import { createRelay } from '../../relay/relay.ts'
import { until } from '../helpers/assert.ts'
import type { Relay } from '../../relay/relay.ts'
import type { Libp2p } from 'libp2p'
import type { Server, Socket } from 'node:net'

/** A libp2p node with nothing but TCP (from `from`), WebSockets, Noise and yamux. */
async function client (from = '127.0.0.1'): Promise<Libp2p> {
  return createLibp2p({
    transports: [tcp({ dialOpts: { localAddress: from } as any }), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false }
  })
}

/** true when a node at host:port answers multistream-select from `from` within `ms`. */
async function answered (host: string, port: number, from: string, ms = 3_000): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect({ host, port, localAddress: from })
    const lp = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])
    const done = (ok: boolean): void => { clearTimeout(timer); socket.destroy(); resolve(ok) }
    const timer = setTimeout(() => { done(false) }, ms)
    socket.on('connect', () => { socket.write(Buffer.concat([lp('/multistream/1.0.0\n'), lp('/noise\n')])) })
    socket.on('data', (d: Buffer) => { if (d.includes('/multistream/1.0.0\n')) { done(true) } })
    socket.on('error', () => { done(false) })
    socket.on('close', () => { done(false) })
  })
}

function hostPort (relay: Relay, ws = false): { host: string, port: number } {
  const addr = relay.node.getMultiaddrs().find(a => a.toString().includes('/ws') === ws)!
  const parts = addr.toString().split('/')
  return { host: parts[2], port: Number(parts[4]) }
}

/** A reverse proxy in front of a WebSocket listener: it appends the address it saw to X-Forwarded-For, as nginx does. */
async function proxy (target: { host: string, port: number }, forwardedFor: string): Promise<Server> {
  const forward = (inbound: Socket, head: Buffer): void => {
    const text = head.toString('latin1')
    const end = text.indexOf('\r\n\r\n')
    const withHeader = text.slice(0, end) + `\r\nX-Forwarded-For: ${forwardedFor}` + text.slice(end)
    const outbound = connect(target, () => {
      outbound.write(Buffer.from(withHeader, 'latin1'))
      inbound.pipe(outbound).pipe(inbound)
    })
    outbound.on('error', () => inbound.destroy())
    inbound.on('error', () => outbound.destroy())
  }
  const server = createServer((inbound: Socket) => {
    inbound.once('data', (head: Buffer) => { forward(inbound, head) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return server
}

describe('address limits', function () {
  this.timeout(60_000)

  it('one address is counted as its IPv4 address or its IPv6 /64; relayed and WebRTC connections are not counted', () => {
    const key = (a: string): string | undefined => addressKeyOf(multiaddr(a))
    expect(key('/ip4/192.0.2.7/tcp/4001')).to.equal('192.0.2.7')
    expect(key('/ip4/192.0.2.7/tcp/4002/ws/p2p/12D3KooWAowh6uumYk3xYYFizVUp3TUvTqzWGKNGaebBAqxmRjSp')).to.equal('192.0.2.7')
    expect(key('/ip6/2001:db8::2/tcp/4001')).to.equal('2001:db8:0:0::/64')
    expect(key('/ip6/2001:db8::ffff:1:2:3/tcp/4001')).to.equal(key('/ip6/2001:db8::2/tcp/4001'))
    expect(key('/ip6/2001:db8:0:1::2/tcp/4001')).to.not.equal(key('/ip6/2001:db8::2/tcp/4001'))
    expect(key('/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWAowh6uumYk3xYYFizVUp3TUvTqzWGKNGaebBAqxmRjSp/p2p-circuit')).to.equal(undefined)
    expect(key('/ip4/192.0.2.1/udp/4001/webrtc-direct')).to.equal(undefined)
    expect(addressKeyOf(undefined)).to.equal(undefined)
  })

  describe('on a relay', () => {
    let relay: Relay
    const clients: Libp2p[] = []

    before(async () => {
      relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], limits: { maxConnectionsPerIp: 3 } })
    })

    after(async () => {
      await Promise.all(clients.map(async c => c.stop()))
      await relay?.stop()
    })

    it('connections from one address stop at its cap, others still get in, and a closed one frees its place', async () => {
      const addr = relay.node.getMultiaddrs()[0]
      for (let i = 0; i < 4; i++) { clients.push(await client('127.0.0.2')) }
      const results = []
      for (const c of clients) { results.push(await c.dial(addr).then(() => 'open', (err: Error) => err.name)) }
      expect(results.slice(0, 3)).to.deep.equal(['open', 'open', 'open'])
      expect(results[3]).to.not.equal('open')
      const other = await client('127.0.0.3')
      clients.push(other)
      await other.dial(addr)
      await clients[0].hangUp(relay.node.peerId)
      await until('the relay saw the first client leave', () => relay.node.getConnections(clients[0].peerId).length === 0, 5_000)
      await clients[3].dial(addr)
    })

    it('silent sockets from one address hold at most its share of the pending slots', async () => {
      const open = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
      const { host, port } = hostPort(open)
      const silent: Socket[] = []
      try {
        for (let i = 0; i < MAX_PENDING_PER_ADDRESS; i++) {
          const s = connect({ host, port, localAddress: '127.0.0.4' })
          s.on('error', () => {})
          silent.push(s)
        }
        await until('the relay holds the silent sockets', () => silent.every(s => s.remoteAddress != null), 5_000)
        // one more from the same address is refused at once; from another it is answered
        expect(await answered(host, port, '127.0.0.4')).to.equal(false)
        expect(await answered(host, port, '127.0.0.5')).to.equal(true)
      } finally {
        silent.forEach(s => s.destroy())
        await open.stop()
      }
    })
  })

  describe('behind a trusted proxy', () => {
    let relay: Relay
    let node: Libp2p
    const servers: Server[] = []

    before(async () => {
      relay = await createRelay({
        privateKey: await generateKeyPair('Ed25519'),
        listen: ['/ip4/127.0.0.1/tcp/0/ws'],
        trustedProxies: new Set(['127.0.0.1'])
      })
      node = await client()
    })

    after(async () => {
      await node?.stop()
      servers.forEach(s => s.close())
      await relay?.stop()
    })

    it('the relay counts a WebSocket from a trusted proxy under the address in X-Forwarded-For', async () => {
      const server = await proxy(hostPort(relay, true), '198.51.100.7')
      servers.push(server)
      const port = (server.address() as { port: number }).port
      const conn = await node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${relay.node.peerId.toString()}`))
      await until('the relay has the connection', () => relay.node.getConnections(node.peerId).length > 0, 5_000)
      const seen = relay.node.getConnections(node.peerId)[0].remoteAddr.toString()
      expect(seen).to.match(/^\/ip4\/198\.51\.100\.7\/tcp\/\d+\/ws/)
      await conn.close()
    })

    it('X-Forwarded-For is read only from a configured proxy, right to left past other proxies', () => {
      const trusted = new Set(['192.0.2.1', '192.0.2.2'])
      expect(clientAddress('192.0.2.1', '198.51.100.7', trusted)).to.equal('198.51.100.7')
      expect(clientAddress('203.0.113.9', '198.51.100.7', trusted)).to.equal('203.0.113.9')
      expect(clientAddress('::ffff:192.0.2.1', '203.0.113.5, 198.51.100.7, 192.0.2.2', trusted)).to.equal('198.51.100.7')
      expect(clientAddress('192.0.2.1', undefined, trusted)).to.equal('192.0.2.1')
      expect(clientAddress('192.0.2.1', 'not an address', trusted)).to.equal('192.0.2.1')
      expect(clientAddress('192.0.2.1', '1.2.3.4,' + 'x'.repeat(2000), trusted)).to.equal('192.0.2.1')
    })
  })
})
