/**
 * A small STUN/TURN client for tests (RFC 8489 STUN, RFC 8656 TURN): Binding, Allocate with the long-term credential
 * mechanism (the REST username and credential are its username and password), Refresh, CreatePermission, and Send
 * and Data indications, over UDP, TCP or TLS. Enough to ask a real coturn what a browser would ask it, and to see
 * exactly which error it answers.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { connect as netConnect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Socket as UdpSocket } from 'node:dgram'
import type { Socket } from 'node:net'

const MAGIC = 0x2112a442
const METHOD = { binding: 0x001, allocate: 0x003, refresh: 0x004, send: 0x006, data: 0x007, createPermission: 0x008 }
const CLASS = { request: 0, indication: 1, success: 2, error: 3 }
const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedAddressFamily: 0x0017,
  requestedTransport: 0x0019,
  xorMappedAddress: 0x0020
}

export interface Address { family: 4 | 6, address: string, port: number }

/** A STUN error response: `code` is its ERROR-CODE (401 Unauthorized, 486 Allocation Quota Reached, ...). */
export class StunError extends Error {
  static readonly name = 'StunError'
  readonly name = 'StunError'
  constructor (readonly code: number, reason: string) {
    super(`${code} ${reason}`)
  }
}

interface Message { type: number, txid: Buffer, attrs: Map<number, Buffer> }

function messageType (method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
}

function classOf (type: number): number {
  return ((type >> 4) & 1) | ((type >> 7) & 2)
}

function attribute (type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt16BE(type, 0)
  head.writeUInt16BE(value.length, 2)
  return Buffer.concat([head, value, Buffer.alloc((4 - value.length % 4) % 4)])
}

function xorAddress (addr: Address, txid: Buffer): Buffer {
  const out = Buffer.alloc(addr.family === 4 ? 8 : 20)
  out[1] = addr.family === 4 ? 1 : 2
  out.writeUInt16BE(addr.port ^ (MAGIC >>> 16), 2)
  const key = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), txid])
  const raw = addr.family === 4 ? Buffer.from(addr.address.split('.').map(Number)) : ipv6Bytes(addr.address)
  for (let i = 0; i < raw.length; i++) { out[4 + i] = raw[i] ^ key[i] }
  return out
}

function ipv6Bytes (text: string): Buffer {
  const [head, tail] = text.split('::')
  const parts = (s?: string): string[] => s == null || s === '' ? [] : s.split(':')
  const h = parts(head)
  const t = parts(tail)
  const groups = tail == null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  return Buffer.from(groups.flatMap(g => { const n = parseInt(g, 16); return [n >> 8, n & 0xff] }))
}

function readXorAddress (value: Buffer, txid: Buffer): Address {
  const family = value[1] === 1 ? 4 : 6
  const key = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), txid])
  const raw = Buffer.from(value.subarray(4, family === 4 ? 8 : 20).map((b, i) => b ^ key[i]))
  const address = family === 4
    ? [...raw].join('.')
    : Array.from({ length: 8 }, (_, i) => raw.readUInt16BE(i * 2).toString(16)).join(':').replace(/(^|:)0(:0)+(:|$)/, '::')
  return { family, address, port: value.readUInt16BE(2) ^ (MAGIC >>> 16) }
}

/** Encode a message; with `key`, MESSAGE-INTEGRITY (HMAC-SHA1 over everything before it) ends it. */
function encode (method: number, cls: number, txid: Buffer, attrs: Buffer[], key?: Buffer): Buffer {
  const body = Buffer.concat(attrs)
  const head = Buffer.alloc(20)
  head.writeUInt16BE(messageType(method, cls), 0)
  head.writeUInt16BE(body.length + (key != null ? 24 : 0), 2)
  head.writeUInt32BE(MAGIC, 4)
  txid.copy(head, 8)
  if (key == null) { return Buffer.concat([head, body]) }
  const mac = createHmac('sha1', key).update(Buffer.concat([head, body])).digest()
  return Buffer.concat([head, body, attribute(ATTR.messageIntegrity, mac)])
}

function decode (buf: Buffer): Message {
  const attrs = new Map<number, Buffer>()
  const end = 20 + buf.readUInt16BE(2)
  for (let at = 20; at + 4 <= end;) {
    const type = buf.readUInt16BE(at)
    const len = buf.readUInt16BE(at + 2)
    if (!attrs.has(type)) { attrs.set(type, buf.subarray(at + 4, at + 4 + len)) }
    at += 4 + len + (4 - len % 4) % 4
  }
  return { type: buf.readUInt16BE(0), txid: buf.subarray(8, 20), attrs }
}

function errorOf (msg: Message): StunError {
  const v = msg.attrs.get(ATTR.errorCode)
  if (v == null) { return new StunError(0, 'error response without ERROR-CODE') }
  return new StunError((v[2] & 7) * 100 + v[3], v.subarray(4).toString('utf8'))
}

export type Transport = 'udp' | 'tcp' | 'tls'

/** A request's attributes, or a function of its transaction id (an IPv6 XOR address needs it). */
type Attrs = Buffer[] | ((txid: Buffer) => Buffer[])

export interface TurnClientInit {
  host: string
  port: number
  transport?: Transport
  /**
   * Per-request deadline, in ms.
   *
   * @default 5_000
   */
  timeout?: number
}

/** One client socket to a STUN/TURN server; an allocation made on it lives as long as the socket (or its lifetime). */
export class TurnClient {
  private readonly pending = new Map<string, (m: Message) => void>()
  private readonly dataListeners: Array<(from: Address, data: Buffer) => void> = []
  private udp?: UdpSocket
  private stream?: Socket
  private buffered = Buffer.alloc(0)
  private realm = ''
  private nonce = Buffer.alloc(0)
  private key?: Buffer
  private username = ''
  private closed = false
  private password = ''

  private constructor (private readonly init: Required<TurnClientInit>) {}

  static async connect (init: TurnClientInit): Promise<TurnClient> {
    const client = new TurnClient({ transport: 'udp', timeout: 5_000, ...init })
    await client.open()
    return client
  }

  private async open (): Promise<void> {
    const { host, port, transport } = this.init
    if (transport === 'udp') {
      this.udp = createSocket(host.includes(':') ? 'udp6' : 'udp4')
      this.udp.on('message', (buf) => { this.receive(buf) })
      await new Promise<void>((resolve, reject) => {
        this.udp!.once('error', reject)
        this.udp!.connect(port, host, () => { resolve() })
      })
      return
    }
    const socket = transport === 'tls'
      ? tlsConnect({ host, port, rejectUnauthorized: false })
      : netConnect({ host, port })
    this.stream = socket
    socket.on('data', (d: Buffer) => { this.frame(d) })
    socket.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.once(transport === 'tls' ? 'secureConnect' : 'connect', () => { resolve() })
    })
  }

  /** STUN over TCP and TLS: each message's own length frames it. */
  private frame (d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d])
    while (this.buffered.length >= 20) {
      const len = 20 + this.buffered.readUInt16BE(2)
      if (this.buffered.length < len) { return }
      this.receive(this.buffered.subarray(0, len))
      this.buffered = this.buffered.subarray(len)
    }
  }

  private receive (buf: Buffer): void {
    if (buf.length < 20 || buf.readUInt32BE(4) !== MAGIC) { return }
    const msg = decode(buf)
    if (msg.type === messageType(METHOD.data, CLASS.indication)) {
      const peer = msg.attrs.get(ATTR.xorPeerAddress)
      const data = msg.attrs.get(ATTR.data)
      if (peer != null && data != null) { this.dataListeners.forEach(l => { l(readXorAddress(peer, msg.txid), data) }) }
      return
    }
    this.pending.get(msg.txid.toString('hex'))?.(msg)
  }

  private write (buf: Buffer): void {
    if (this.udp != null) { this.udp.send(buf) } else { this.stream!.write(buf) }
  }

  private async transact (method: number, build: Attrs, authenticated: boolean): Promise<Message> {
    const txid = randomBytes(12)
    const attrs = typeof build === 'function' ? build(txid) : build
    const all = authenticated
      ? [...attrs, attribute(ATTR.username, Buffer.from(this.username)), attribute(ATTR.realm, Buffer.from(this.realm)), attribute(ATTR.nonce, this.nonce)]
      : attrs
    const buf = encode(method, CLASS.request, txid, all, authenticated ? this.key : undefined)
    const id = txid.toString('hex')
    if (this.closed) { throw new Error('the client is closed') }
    let deadline: ReturnType<typeof setTimeout> | undefined
    let again: ReturnType<typeof setInterval> | undefined
    try {
      return await new Promise<Message>((resolve, reject) => {
        deadline = setTimeout(() => { reject(new Error(`no STUN answer within ${this.init.timeout} ms`)) }, this.init.timeout)
        // UDP loses packets: send again, as RFC 8489 clients do (TCP and TLS deliver once)
        if (this.udp != null) { again = setInterval(() => { if (!this.closed) { this.write(buf) } }, 500) }
        this.pending.set(id, resolve)
        this.write(buf)
      })
    } finally {
      clearTimeout(deadline)
      clearInterval(again)
      this.pending.delete(id)
    }
  }

  /** A request with long-term credentials: the first try learns REALM and NONCE from the 401 (or a 438 stale nonce). */
  private async authed (method: number, attrs: Attrs): Promise<Message> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const msg = await this.transact(method, attrs, this.key != null && this.nonce.length > 0)
      if (classOf(msg.type) === CLASS.success) { return msg }
      const err = errorOf(msg)
      const realm = msg.attrs.get(ATTR.realm)
      const nonce = msg.attrs.get(ATTR.nonce)
      const retry = (err.code === 401 && this.realm === '') || err.code === 438
      if (!retry || nonce == null) { throw err }
      if (realm != null) { this.realm = realm.toString('utf8') }
      this.nonce = Buffer.from(nonce)
      this.key = this.keyFor(this.password)
    }
    throw new StunError(401, 'Unauthorized after retries')
  }

  private keyFor (password: string): Buffer {
    return createHash('md5').update(`${this.username}:${this.realm}:${password}`).digest()
  }

  /** STUN Binding: where the server sees this socket. */
  async binding (): Promise<Address> {
    const msg = await this.transact(METHOD.binding, [], false)
    if (classOf(msg.type) !== CLASS.success) { throw errorOf(msg) }
    const mapped = msg.attrs.get(ATTR.xorMappedAddress)
    if (mapped == null) { throw new Error('Binding success without XOR-MAPPED-ADDRESS') }
    return readXorAddress(mapped, msg.txid)
  }

  /** TURN Allocate (UDP relay). `family` asks for a relayed address of that family (REQUESTED-ADDRESS-FAMILY). */
  async allocate (username: string, password: string, options: { family?: 4 | 6, lifetime?: number } = {}): Promise<{ relayed: Address, mapped?: Address, lifetime: number }> {
    this.username = username
    this.password = password
    this.realm = ''
    this.nonce = Buffer.alloc(0)
    this.key = undefined
    const attrs = [attribute(ATTR.requestedTransport, Buffer.from([17, 0, 0, 0]))]
    if (options.family != null) { attrs.push(attribute(ATTR.requestedAddressFamily, Buffer.from([options.family === 4 ? 1 : 2, 0, 0, 0]))) }
    if (options.lifetime != null) { const l = Buffer.alloc(4); l.writeUInt32BE(options.lifetime); attrs.push(attribute(ATTR.lifetime, l)) }
    const msg = await this.authed(METHOD.allocate, attrs)
    const relayed = msg.attrs.get(ATTR.xorRelayedAddress)
    if (relayed == null) { throw new Error('Allocate success without XOR-RELAYED-ADDRESS') }
    const mapped = msg.attrs.get(ATTR.xorMappedAddress)
    return {
      relayed: readXorAddress(relayed, msg.txid),
      mapped: mapped != null ? readXorAddress(mapped, msg.txid) : undefined,
      lifetime: msg.attrs.get(ATTR.lifetime)?.readUInt32BE(0) ?? 0
    }
  }

  /** Refresh the allocation; lifetime 0 deletes it. Returns the lifetime granted. */
  async refresh (lifetime: number): Promise<number> {
    const l = Buffer.alloc(4)
    l.writeUInt32BE(lifetime)
    const msg = await this.authed(METHOD.refresh, [attribute(ATTR.lifetime, l)])
    return msg.attrs.get(ATTR.lifetime)?.readUInt32BE(0) ?? 0
  }

  async createPermission (peer: Address): Promise<void> {
    await this.authed(METHOD.createPermission, (txid) => [attribute(ATTR.xorPeerAddress, xorAddress(peer, txid))])
  }

  /** A Send indication: `data` leaves the relayed address towards `peer` (which needs a permission). */
  send (peer: Address, data: Buffer): void {
    const txid = randomBytes(12)
    this.write(encode(METHOD.send, CLASS.indication, txid, [attribute(ATTR.xorPeerAddress, xorAddress(peer, txid)), attribute(ATTR.data, data)]))
  }

  /** Data indications: what peers sent to the relayed address. */
  onData (listener: (from: Address, data: Buffer) => void): void {
    this.dataListeners.push(listener)
  }

  close (): void {
    if (this.closed) { return }
    this.closed = true
    this.udp?.close()
    this.stream?.destroy()
  }
}
