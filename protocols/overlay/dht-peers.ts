/**
 * Which peers a DHT client may take into its routing table. kad-dht adds every peer named in a response (closer
 * peers and providers) to its routing table, and pings each new one, which dials it. A room lookup's providers are
 * members, most of them browsers reachable only through a relay: the ping dialled each of them by PeerId (libp2p
 * tries the `/p2p-circuit/webrtc` address first, so a whole WebRTC connection) and then failed, since a member serves
 * no DHT. In bench:call the room handshake joined that dial (libp2p's dial queue merges dials to one peer) and waited
 * for WebRTC instead of running over the relayed connection. A peer whose only addresses go through a relay cannot be
 * a DHT server worth asking (servers are relays and peers started with `dhtServer`, on addresses of their own), so
 * a DHT client drops relayed addresses before a peer is considered, and a peer left without any is ignored.
 *
 * Only for DHT clients: a server's mapper also shapes the providers it returns to others, and those must keep their
 * relay addresses.
 */
import type { PeerInfoMapper } from '@libp2p/kad-dht'

export function withoutRelayedAddrs (mapper: PeerInfoMapper): PeerInfoMapper {
  return (info) => {
    const mapped = mapper(info)
    return { ...mapped, multiaddrs: mapped.multiaddrs.filter(ma => !ma.getComponents().some(c => c.name === 'p2p-circuit')) }
  }
}
