/**
 * Which of a peer's known addresses a direct WebRTC dial may use. The peer store holds what identify and other
 * members said, and `openConnection` refuses a list whose addresses name different peers ("Multiaddrs must all have
 * the same peer id"): one stale or foreign address would make every direct dial fail. So only WebRTC addresses are
 * kept, each ending in the peer's own id: an address without one (`.../p2p/RELAY/p2p-circuit/webrtc`) gets it, one
 * that names another peer after `/webrtc` is dropped.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export function webrtcAddrsFor (peerId: PeerId, addrs: Multiaddr[]): Multiaddr[] {
  const id = peerId.toString()
  const out = new Map<string, Multiaddr>()
  for (const ma of addrs) {
    const components = ma.getComponents()
    const at = components.findLastIndex(c => c.name === 'webrtc')
    if (at < 0) { continue }
    const named = components.slice(at + 1).filter(c => c.name === 'p2p').map(c => c.value)
    if (named.some(v => v !== id)) { continue }
    const full = named.length === 0 ? ma.encapsulate(`/p2p/${id}`) : ma
    out.set(full.toString(), full)
  }
  return [...out.values()]
}

/**
 * A peer's plain circuit relay addresses (`.../p2p/RELAY/p2p-circuit`), each ending in the peer's own id: what a
 * limited connection through a relay is dialled on, without waiting for WebRTC.
 */
export function circuitAddrsFor (peerId: PeerId, addrs: Multiaddr[]): Multiaddr[] {
  const id = peerId.toString()
  const out = new Map<string, Multiaddr>()
  for (const ma of addrs) {
    const components = ma.getComponents()
    const at = components.findLastIndex(c => c.name === 'p2p-circuit')
    if (at < 0) { continue }
    const after = components.slice(at + 1)
    if (after.some(c => c.name !== 'p2p' || c.value !== id)) { continue }
    const full = after.length === 0 ? ma.encapsulate(`/p2p/${id}`) : ma
    out.set(full.toString(), full)
  }
  return [...out.values()]
}
