/**
 * Inbound connections counted per source address, so one address (or one IPv6 /64) cannot hold every pending
 * connection slot of a node with a public listener, nor every connection. libp2p counts pending inbound connections
 * only in total (`maxIncomingPendingConnections`) and limits only their rate per host (`inboundConnectionThreshold`):
 * a trickle of silent sockets from one address, each held until the upgrade deadline, filled the total and the next
 * honest connection was reset at once. Used by relays and peers alike through the connection gater
 * (`denyInboundConnection`); relayed and WebRTC connections are not counted (their address is a relay's).
 */
import { addressKey } from '../turn/limits.ts'
import type { Connection, MultiaddrConnection, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface AddressLimitsInit {
  /**
   * Inbound connections not yet upgraded (encryption and muxer not chosen) from one address at once.
   *
   * @default 16
   */
  maxPendingPerAddress?: number
  /**
   * Inbound connections, pending and established, from one address at once.
   *
   * @default 128
   */
  maxConnectionsPerAddress?: number
}

/** An office or a household behind one NAT opening the app at once: enough for their handshakes in flight, not for a flood. */
export const MAX_PENDING_PER_ADDRESS = 16

/** Established and pending together, from one address: an office of 50 behind one NAT, each reloading once. */
export const MAX_CONNECTIONS_PER_ADDRESS = 128

/**
 * The key a direct connection's remote address is counted under: an IPv4 address as it is, an IPv6 address by its /64
 * (one subscriber's usual allocation: the 2^64 addresses one home or host holds count as one); the same key TURN's
 * rate limits use. Undefined for relayed and WebRTC connections, whose address is a relay's or not a socket's. (libp2p
 * listens on IPv6 with `ipv6Only`, so no IPv4-mapped address arrives there.)
 */
export function addressKeyOf (addr: Multiaddr | undefined): string | undefined {
  if (addr == null) { return undefined }
  const components = addr.getComponents()
  if (components.some(c => c.name === 'p2p-circuit' || c.name === 'webrtc' || c.name === 'webrtc-direct')) { return undefined }
  return addressKey(addr)
}

/** A connection's remote address without the PeerId the upgrade appended: the text its raw connection had. */
function rawAddr (addr: Multiaddr): string {
  const components = addr.getComponents()
  const last = components[components.length - 1]
  return (last?.name === 'p2p' ? addr.decapsulateCode(last.code) : addr).toString()
}

export class AddressLimits {
  readonly maxPendingPerAddress: number
  readonly maxConnectionsPerAddress: number
  /** Open inbound raw connections per address key. */
  private readonly open = new Map<string, Set<MultiaddrConnection>>()
  /** Raw connections not yet upgraded, by remote address text. */
  private readonly pending = new Map<string, MultiaddrConnection>()

  constructor (init: AddressLimitsInit = {}) {
    this.maxPendingPerAddress = init.maxPendingPerAddress ?? MAX_PENDING_PER_ADDRESS
    this.maxConnectionsPerAddress = init.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS
  }

  /** Follow the node's connections: an upgraded one stops counting as pending. */
  follow (events: TypedEventTarget<Libp2pEvents>): void {
    events.addEventListener('connection:open', (evt: CustomEvent<Connection>) => {
      if (evt.detail.direction === 'inbound') { this.pending.delete(rawAddr(evt.detail.remoteAddr)) }
    })
  }

  /** Open and pending inbound connections from an address key now. */
  count (key: string): { open: number, pending: number } {
    const set = this.open.get(key)
    if (set == null) { return { open: 0, pending: 0 } }
    let pending = 0
    for (const c of set) {
      if (c.status !== 'open') {
        this.forget(key, c)
      } else if (this.pending.get(c.remoteAddr.toString()) === c) {
        pending++
      }
    }
    return { open: set.size, pending }
  }

  /** The connection gater's rule: true refuses the connection. */
  denyInboundConnection (maConn: MultiaddrConnection): boolean {
    const key = addressKeyOf(maConn.remoteAddr)
    if (key == null) { return false }
    const { open, pending } = this.count(key)
    if (open >= this.maxConnectionsPerAddress || pending >= this.maxPendingPerAddress) { return true }
    let set = this.open.get(key)
    if (set == null) { this.open.set(key, set = new Set()) }
    set.add(maConn)
    this.pending.set(maConn.remoteAddr.toString(), maConn)
    maConn.addEventListener('close', () => { this.forget(key, maConn) }, { once: true })
    return false
  }

  private forget (key: string, maConn: MultiaddrConnection): void {
    const set = this.open.get(key)
    set?.delete(maConn)
    if (set?.size === 0) { this.open.delete(key) }
    const addr = maConn.remoteAddr.toString()
    if (this.pending.get(addr) === maConn) { this.pending.delete(addr) }
  }
}
