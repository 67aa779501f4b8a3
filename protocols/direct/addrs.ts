/**
 * Which of a peer's known addresses a dial over one transport may use. The peer store holds what identify and other
 * members said, and `openConnection` refuses a list whose addresses name different peers ("Multiaddrs must all have
 * the same peer id"): one stale or foreign address would make every dial fail. So only addresses whose last
 * `protocol` component is followed by nothing but `/p2p/<the peer>` are kept; an address without the id
 * (`.../p2p/RELAY/p2p-circuit/webrtc`) gets it.
 *
 * `'webrtc'` gives the direct WebRTC addresses (`.../p2p-circuit/webrtc/p2p/PEER`), for the direct service;
 * `'p2p-circuit'` the plain circuit relay addresses (`.../p2p-circuit/p2p/PEER`), for a limited connection through a
 * relay that need not wait for WebRTC (the room handshake).
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type DialVia = 'webrtc' | 'p2p-circuit'

export function addrsVia (via: DialVia, peerId: PeerId, addrs: Multiaddr[]): Multiaddr[] {
  const id = peerId.toString()
  const out = new Map<string, Multiaddr>()
  for (const ma of addrs) {
    const components = ma.getComponents()
    const at = components.findLastIndex(c => c.name === via)
    if (at < 0) { continue }
    const after = components.slice(at + 1)
    if (after.some(c => c.name !== 'p2p' || c.value !== id)) { continue }
    const full = after.length === 0 ? ma.encapsulate(`/p2p/${id}`) : ma
    out.set(full.toString(), full)
  }
  return [...out.values()]
}
