/**
 * Where every RTCPeerConnection of a peer gets its ICE servers: the relays' STUN/TURN (the TURN client's
 * credentials), then the ones named explicitly, never a third party's. Real libp2p nodes in this process: a relay with
 * the credentials service (no coturn: the URLs are only handed out), peers from the overlay, calls with werift's
 * RTCPeerConnection. Short credential lifetimes make a renewal happen within a test.
 */
import { execFile } from 'node:child_process'
import { createHash, createHmac } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { RTCPeerConnection as NodeDatachannelPeerConnection } from 'node-datachannel/polyfill'
import { MediaStream as WeriftStream, MediaStreamTrack as WeriftTrack } from 'werift'
import { createPeer, defaultWebRTCBind, nodeWebRTCConfiguration } from '../../node/peer.ts'
import { weriftIce } from '../../node/record.ts'
import { RTCPeerConnectionForNode } from '../../node/werift-pc.ts'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import { IceConfig } from '../../protocols/turn/index.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { until } from '../helpers/assert.ts'
import type { Call, CallServiceApi, PeerStateEvent } from '../../protocols/call/index.ts'
import type { Room, RoomServiceApi } from '../../protocols/room/index.ts'
import type { TurnClient } from '../../protocols/turn/index.ts'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ room: RoomServiceApi, call: CallServiceApi, turn: TurnClient, ice: IceConfig }>

const BIN = fileURLToPath(new URL('../../../bin/freeflow.js', import.meta.url))
/** What the relay hands out: nothing listens there (the discard port), the URLs only travel. */
const RELAY_URLS = ['stun:127.0.0.1:9', 'turn:127.0.0.1:9?transport=udp', 'turn:127.0.0.1:9?transport=tcp']
/** Seconds a credential lives: renewed after 75% of it. */
const TTL = 10

/** A camera stream as werift sends one (no frames are needed for the call to connect). */
function camera (): MediaStream {
  return new WeriftStream([new WeriftTrack({ kind: 'video' }), new WeriftTrack({ kind: 'audio' })]) as unknown as MediaStream
}

/** The libp2p WebRTC transport of a node, with the options it was made with. */
function webrtcTransport (node: Libp2p): { init: { rtcConfiguration?: RTCConfiguration | (() => RTCConfiguration | Promise<RTCConfiguration>) } } {
  const transports: any[] = (node as any).components.transportManager.getTransports()
  const found = transports.find(t => t[Symbol.toStringTag] === '@libp2p/webrtc')
  if (found == null) { throw new Error('no WebRTC transport') }
  return found
}

async function transportConfig (node: Libp2p): Promise<RTCConfiguration> {
  const rtc = webrtcTransport(node).init.rtcConfiguration
  if (typeof rtc !== 'function') { throw new Error('the WebRTC transport was given a fixed configuration, not a function read per connection') }
  return rtc()
}

describe('ICE servers for every RTCPeerConnection', function () {
  this.timeout(120_000)
  let relay: Libp2p
  let relayAddr: string
  let key: string
  let nodes: Node[] = []
  const calls: Call[] = []

  async function node (init: { bootstrap?: boolean | string, iceServers?: RTCIceServer[], call?: boolean, relayMediaOnly?: boolean } = {}): Promise<Node> {
    const bind = defaultWebRTCBind()
    const n = await createLibp2p(overlayOptions({
      role: 'peer',
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      call: init.call === true ? { stallInterval: 2_000 } : undefined,
      iceServers: init.iceServers,
      relayMediaOnly: init.relayMediaOnly,
      bootstrap: init.bootstrap === false ? undefined : [typeof init.bootstrap === 'string' ? init.bootstrap : relayAddr],
      transports: [tcp()],
      rtcExtra: bind != null ? { bindAddress: bind } : undefined
    })) as unknown as Node
    nodes.push(n)
    return n
  }

  before(async () => {
    relay = await createLibp2p(overlayOptions({
      role: 'relay',
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      transports: [tcp()],
      turnServer: { secret: 'a test secret', urls: () => RELAY_URLS, ttl: TTL }
    }))
    relayAddr = relay.getMultiaddrs()[0].toString()
    key = (await promisify(execFile)(process.execPath, [BIN, 'room', 'new'])).stdout.trim()
  })

  afterEach(async () => {
    for (const c of calls.splice(0)) { c.hangUp() }
    await Promise.all(nodes.map(async n => n.stop()))
    nodes = []
  })

  after(async () => {
    await relay?.stop()
  })

  it('libp2p\'s WebRTC transport reads the relay\'s STUN/TURN servers with the credentials held at each connection', async () => {
    const n = await node({ iceServers: [{ urls: 'stun:192.0.2.1:3478' }] })
    await until('TURN credentials from the relay', () => n.services.turn.iceServers().length > 0)
    const [creds] = n.services.turn.credentials()
    const config = await transportConfig(n)
    expect(config.iceServers).to.deep.equal([
      { urls: RELAY_URLS, username: creds.username, credential: creds.credential },
      { urls: 'stun:192.0.2.1:3478' }
    ])
    expect(config.iceTransportPolicy).to.equal('all')
    // renewed credentials are what the next connection gets
    await until('renewed', () => n.services.turn.credentials()[0]?.username !== creds.username, TTL * 1000 + 5_000)
    expect((await transportConfig(n)).iceServers?.[0]).to.have.property('username', n.services.turn.credentials()[0].username)
  })

  it('with no relay credentials, no server at all: never a third party\'s (libp2p would add public STUN servers to a missing list)', async () => {
    const n = await node({ bootstrap: false })
    const config = await transportConfig(n)
    expect(config.iceServers).to.deep.equal([])
    expect(n.services.ice.configuration()).to.deep.equal({ iceServers: [], iceTransportPolicy: 'all' })
    // werift falls back to Google's STUN server when it has none: the recorder gives it one that answers nothing
    expect(weriftIce(n.services.ice).configuration().iceServers).to.deep.equal([{ urls: 'stun:127.0.0.1:9' }])
  })

  it('a call\'s connections get the relay\'s servers when made, and renewed credentials without interrupting the call', async () => {
    const a = await node({ call: true })
    const b = await node({ call: true })
    await until('TURN credentials on both', () => a.services.turn.iceServers().length > 0 && b.services.turn.iceServers().length > 0)
    const ra: Room = await a.services.room.join(key, { name: 'A' })
    const rb: Room = await b.services.room.join(key, { name: 'B' })
    await a.dial(b.getMultiaddrs()[0])
    await until('members of each other', () => ra.isMember(b.peerId) && rb.isMember(a.peerId))
    const states: PeerStateEvent[] = []
    const callA = a.services.call.join(ra, { RTCPeerConnection: RTCPeerConnectionForNode })
    const callB = b.services.call.join(rb, { RTCPeerConnection: RTCPeerConnectionForNode })
    calls.push(callA, callB)
    callA.addEventListener('peer-state', ({ detail }) => { states.push(detail) })
    callA.setStream('camera', camera())
    await until('connected', () => states.at(-1)?.state === 'connected')
    const pc = callA.peerConnection(b.peerId)!
    // the renewal is watched from a connection whose ICE has settled, not only one the call counts as connected
    await until('ICE connected', () => ['connected', 'completed'].includes(pc.iceConnectionState))
    const first = a.services.turn.credentials()[0].username
    const servers = (): RTCIceServer[] => pc.getConfiguration().iceServers ?? []
    expect(servers().find(s => s.username != null)).to.deep.include({ urls: RELAY_URLS, username: first })
    // renewal: the live connection is given the new credentials, and stays connected
    await until('renewed credentials reach the live connection', () => servers().some(s => s.username != null && s.username !== first), TTL * 1000 + 5_000)
    expect(servers().find(s => s.username != null)?.username).to.equal(a.services.turn.credentials()[0].username)
    expect(pc.iceConnectionState).to.be.oneOf(['connected', 'completed'])
    expect(states.map(s => s.state)).to.not.include.members(['reconnecting', 'unreachable', 'closed'])
  })

  it('hide my address: with no TURN credentials the call waits (no connection, no host candidate), and calls through TURN once they come', async () => {
    // members meet through a relay that serves no TURN; the TURN relay is reached only later
    const plain = await createLibp2p(overlayOptions({ role: 'relay', privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], transports: [tcp()] }))
    try {
      const plainAddr = plain.getMultiaddrs()[0].toString()
      const a = await node({ call: true, relayMediaOnly: true, bootstrap: plainAddr })
      const b = await node({ call: true, bootstrap: plainAddr })
      // no DCUtR (it swaps observed addresses), no AutoNAT (it has others dial this peer back)
      expect(Object.keys((a as any).services)).to.not.include.members(['dcutr'])
      expect(Object.keys((a as any).services)).to.not.include.members(['autoNAT'])
      expect(Object.keys((b as any).services)).to.include.members(['dcutr', 'autoNAT'])
      expect(await transportConfig(a)).to.deep.include({ iceServers: [], iceTransportPolicy: 'relay' })
      const ra: Room = await a.services.room.join(key, { name: 'A' })
      const rb: Room = await b.services.room.join(key, { name: 'B' })
      await a.dial(b.getMultiaddrs()[0])
      await until('members of each other', () => ra.isMember(b.peerId) && rb.isMember(a.peerId))
      const states: PeerStateEvent[] = []
      const callA = a.services.call.join(ra, { RTCPeerConnection: RTCPeerConnectionForNode })
      callA.addEventListener('peer-state', ({ detail }) => { states.push(detail) })
      const callB = b.services.call.join(rb, { RTCPeerConnection: RTCPeerConnectionForNode })
      calls.push(callA, callB)
      callA.setStream('camera', camera())
      callB.setStream('camera', camera())
      await sleep(3_000)
      // B calls A, A makes nothing: no RTCPeerConnection would have anything but host candidates
      expect(states.map(s => s.state)).to.deep.equal(['waiting-relay'])
      expect(callA.peerConnection(b.peerId)).to.equal(undefined)
      await a.dial(relay.getMultiaddrs()[0])
      await until('a connection with B once credentials came', () => callA.peerConnection(b.peerId) != null, 15_000)
      const config = callA.peerConnection(b.peerId)!.getConfiguration()
      expect(config.iceTransportPolicy).to.equal('relay')
      expect(config.iceServers?.some(s => s.username != null)).to.equal(true)
      expect(states.map(s => s.state)).to.deep.equal(['waiting-relay', 'calling'])
    } finally {
      await plain.stop()
    }
  })

  it('hide my address on the command line\'s peer: its own addresses are the relay\'s circuit only, its WebRTC goes through TURN', async () => {
    const p = await createPeer({ privateKey: await generateKeyPair('Ed25519'), bootstrap: [relayAddr], relayMediaOnly: true })
    nodes.push(p as unknown as Node)
    await until('a reservation on the relay', () => p.getMultiaddrs().length > 0)
    await until('TURN credentials', () => (p.services.turn as TurnClient).iceServers().length > 0)
    // a few identify rounds, in which the relay tells the peer the address it sees
    await sleep(2_000)
    const addrs = p.getMultiaddrs().map(String)
    expect(addrs.every(a => a.includes('/p2p-circuit')), addrs.join(' ')).to.equal(true)
    expect(await transportConfig(p as unknown as Libp2p)).to.have.property('iceTransportPolicy', 'relay')
  })

  it('the command line takes extra servers as URLs, and refuses a bad one in one line with exit code 2', async () => {
    const run = async (...args: string[]): Promise<{ code: number, stderr: string }> => {
      try {
        await promisify(execFile)(process.execPath, [BIN, 'join', key, '--name', 'X', '--bootstrap', relayAddr, ...args], { timeout: 20_000 })
        return { code: 0, stderr: '' }
      } catch (err: any) {
        return { code: err.code, stderr: err.stderr }
      }
    }
    for (const [args, said] of [
      [['--ice-server', 'turn:user:pass@192.0.2.1'], /is not a STUN or TURN URL/],
      [['--ice-server', 'http://192.0.2.1'], /is not a STUN or TURN URL/],
      [['--ice-server', 'turn:192.0.2.1:3478?transport=udp'], /needs --ice-username and --ice-credential/],
      [['--ice-server', 'stun:192.0.2.1', '--ice-username', 'u'], /go with a turn: or turns:/],
      [['--ice-server', 'stun:192.0.2.1:70000'], /port must be 1-65535/],
      [['--relay-media-only', '--listen', '/ip4/127.0.0.1/tcp/0'], /would publish it/]
    ] as Array<[string[], RegExp]>) {
      const { code, stderr } = await run(...args)
      expect(code, args.join(' ')).to.equal(2)
      expect(stderr.split('\n')[0], args.join(' ')).to.match(said)
    }
  })
})

describe('IceConfig', () => {
  it('puts explicit servers after the relays\', keeps the policy, and tells whether a relay candidate can be had', () => {
    const ice = new IceConfig({ iceServers: [{ urls: ['turns:192.0.2.7:5349'], username: 'u', credential: 'p' }], relayOnly: true })
    expect(ice.configuration()).to.deep.equal({ iceServers: [{ urls: ['turns:192.0.2.7:5349'], username: 'u', credential: 'p' }], iceTransportPolicy: 'relay' })
    expect(ice.canRelay()).to.equal(true)
    expect(new IceConfig({ iceServers: [{ urls: 'stun:192.0.2.7' }] }).canRelay()).to.equal(false)
  })
})

/**
 * A TURN server's first two steps, enough to see what a client presents: the first Allocate is refused (401 with
 * realm and nonce), the second carries USERNAME and MESSAGE-INTEGRITY (RFC 5389, 15.3-15.4), which are checked here.
 */
async function turnAuthAttempt (makeClient: (url: string) => { close(): void }): Promise<{ username?: string, integrity: boolean }> {
  const sock = createSocket('udp4')
  await new Promise<void>(resolve => { sock.bind(0, '127.0.0.1', resolve) })
  const attr = (type: number, value: Buffer): Buffer => {
    const b = Buffer.alloc(4 + value.length + (4 - value.length % 4) % 4)
    b.writeUInt16BE(type, 0)
    b.writeUInt16BE(value.length, 2)
    value.copy(b, 4)
    return b
  }
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no authenticated Allocate within 10 s')) }, 10_000)
      sock.on('message', (msg, from) => {
        const attrs = new Map<number, { at: number, value: Buffer }>()
        for (let i = 20; i + 4 <= msg.length;) {
          const len = msg.readUInt16BE(i + 2)
          attrs.set(msg.readUInt16BE(i), { at: i, value: msg.subarray(i + 4, i + 4 + len) })
          i += 4 + len + (4 - len % 4) % 4
        }
        const username = attrs.get(0x0006)?.value.toString()
        const mi = attrs.get(0x0008)
        if (username == null || mi == null) {
          const error = Buffer.concat([Buffer.from([0, 0, 4, 1]), Buffer.from('Unauthorized')])
          const body = Buffer.concat([attr(0x0009, error), attr(0x0014, Buffer.from('freeflow')), attr(0x0015, Buffer.from('nonce-1234'))])
          const header = Buffer.alloc(20)
          header.writeUInt16BE(0x0113, 0)
          header.writeUInt16BE(body.length, 2)
          msg.copy(header, 4, 4, 20)
          sock.send(Buffer.concat([header, body]), from.port, from.address)
          return
        }
        clearTimeout(timer)
        // the HMAC covers the message up to MESSAGE-INTEGRITY, its length field counting that attribute
        const signed = Buffer.from(msg.subarray(0, mi.at))
        signed.writeUInt16BE(mi.at - 20 + 24, 2)
        const key = createHash('md5').update(`${username}:freeflow:${TURN_CREDENTIAL}`).digest()
        resolve({ username, integrity: createHmac('sha1', key).update(signed).digest().equals(mi.value) })
      })
      const client = makeClient(`turn:127.0.0.1:${sock.address().port}?transport=udp`)
      sock.once('close', () => { client.close() })
    })
  } finally {
    sock.close()
  }
}

/** A credential as a relay gives one: the username holds a ':', the base64 credential '+', '/' or '='. */
const TURN_USERNAME = '1767225600:090c041ac659c524'
const TURN_CREDENTIAL = '0fy7iFpg26o7Do+YIAsPBW8Dy4U='

describe('libp2p\'s WebRTC in Node (node-datachannel) and a relay\'s TURN credential', function () {
  this.timeout(30_000)

  async function attempt (rewrite: (config: RTCConfiguration) => RTCConfiguration): Promise<{ username?: string, integrity: boolean }> {
    return turnAuthAttempt((url) => {
      const config = rewrite({ iceServers: [{ urls: [url], username: TURN_USERNAME, credential: TURN_CREDENTIAL }], iceTransportPolicy: 'relay' })
      const pc = new NodeDatachannelPeerConnection(config as any)
      pc.createDataChannel('probe')
      void pc.createOffer().then(async offer => { await pc.setLocalDescription(offer) }).catch(() => {})
      return pc
    })
  }

  it('as given, the username is cut at its \':\' (what the Node peer did before)', async () => {
    expect((await attempt(c => c)).username).to.equal('1767225600')
  })

  it('percent-encoded by the Node peer, TURN gets the username and credential intact', async () => {
    expect(await attempt(nodeWebRTCConfiguration)).to.deep.equal({ username: TURN_USERNAME, integrity: true })
  })
})
