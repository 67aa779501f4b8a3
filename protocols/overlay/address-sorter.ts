/**
 * The order libp2p dials a peer's addresses in: its own order (reachable before loopback, public before private,
 * through a relay last, signed before unsigned, TCP and WebSockets before others), except that among addresses
 * through a relay a plain circuit comes before WebRTC over that circuit. A browser is reachable only through relays,
 * and libp2p's own order dials it over WebRTC first: an SDP exchange through the relay, ICE, DTLS and SCTP before the
 * first byte, which measured 6 to 15 s for a late joiner's page on a busy machine (bench:call, a 4-person mesh on 2
 * cores), all of it before the room handshake could start, and a dial that can fail where the relay still carries.
 * The relayed connection is there as soon as the relay has spliced it. The direct WebRTC connection a call wants is
 * made by the direct service, which dials WebRTC addresses only, beside it.
 */
import { loopbackAddressLast, publicAddressesFirst, reliableTransportsFirst } from '@libp2p/utils'
import type { Address } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

function has (ma: Multiaddr, name: string): boolean {
  return ma.getComponents().some(c => c.name === name)
}

/**
 * Anything through a relay after everything else. libp2p's own rule (`circuitRelayAddressesLast`) counts only a plain
 * circuit, so it puts WebRTC through a relay ahead of it.
 */
export function relayedLast (a: Multiaddr, b: Multiaddr): 0 | 1 | -1 {
  const [ra, rb] = [has(a, 'p2p-circuit'), has(b, 'p2p-circuit')]
  return ra === rb ? 0 : ra ? 1 : -1
}

/** A plain circuit before WebRTC through one (other pairs: no opinion). */
export function plainCircuitFirst (a: Multiaddr, b: Multiaddr): 0 | 1 | -1 {
  const [wa, wb] = [has(a, 'webrtc'), has(b, 'webrtc')]
  return wa === wb ? 0 : wa ? 1 : -1
}

function certifiedFirst (a: Address, b: Address): 0 | 1 | -1 {
  if (a.isCertified === b.isCertified) { return 0 }
  return a.isCertified ? -1 : 1
}

/** A comparator for `connectionManager.addressSorter`. */
export function overlayAddressOrder (a: Address, b: Address): 0 | 1 | -1 {
  return loopbackAddressLast(a.multiaddr, b.multiaddr) ||
    publicAddressesFirst(a.multiaddr, b.multiaddr) ||
    relayedLast(a.multiaddr, b.multiaddr) ||
    plainCircuitFirst(a.multiaddr, b.multiaddr) ||
    certifiedFirst(a, b) ||
    reliableTransportsFirst(a.multiaddr, b.multiaddr)
}
