/**
 * The overlay's dial order: a peer that relays alone reach (a browser) is dialled on a plain circuit before WebRTC
 * through the same relay; everything else keeps libp2p's order (direct before relayed, TCP before WebSockets).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { overlayAddressOrder } from '../../protocols/overlay/address-sorter.ts'

describe('overlay address order', () => {
  it('a plain circuit before WebRTC through a relay, and both after direct addresses', async () => {
    const [relay, peer] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')].map(async k => peerIdFromPrivateKey(await k)))
    const circuit = `/ip4/198.51.100.7/tcp/4002/ws/p2p/${relay.toString()}/p2p-circuit`
    const addrs = [
      `${circuit}/webrtc/p2p/${peer.toString()}`,
      `${circuit}/p2p/${peer.toString()}`,
      '/ip4/198.51.100.9/tcp/4002/ws',
      '/ip4/198.51.100.9/tcp/4001'
    ]
    const sorted = addrs.map(a => ({ multiaddr: multiaddr(a), isCertified: false })).sort(overlayAddressOrder).map(a => a.multiaddr.toString())
    expect(sorted).to.deep.equal([addrs[3], addrs[2], addrs[1], addrs[0]])
  })
})
