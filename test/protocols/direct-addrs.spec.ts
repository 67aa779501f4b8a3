/**
 * The addresses a direct dial uses: only WebRTC ones, each naming the peer it dials, so that one foreign or stale
 * address in the peer store cannot make `openConnection` refuse the whole list.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { addrsVia } from '../../protocols/direct/addrs.ts'
import type { PeerId } from '@libp2p/interface'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('direct dial addresses', () => {
  it('keeps WebRTC addresses of the peer, adds its id where missing, drops what names another peer', async () => {
    const [peer, relay, other] = await Promise.all([newPeerId(), newPeerId(), newPeerId()])
    const circuit = `/ip4/127.0.0.1/tcp/4002/ws/p2p/${relay.toString()}/p2p-circuit`
    const addrs = [
      multiaddr(`${circuit}/webrtc/p2p/${peer.toString()}`),
      multiaddr(`${circuit}/webrtc`),
      multiaddr(`${circuit}/webrtc/p2p/${other.toString()}`),
      multiaddr(`${circuit}/p2p/${peer.toString()}`),
      multiaddr('/ip4/127.0.0.1/tcp/4001')
    ]
    const kept = addrsVia('webrtc', peer, addrs).map(a => a.toString())
    // the first two are the same address once the id is added
    expect(kept).to.deep.equal([`${circuit}/webrtc/p2p/${peer.toString()}`])
    // and every address kept names this peer alone, as openConnection requires
    for (const a of addrsVia('webrtc', peer, addrs)) { expect(a.getComponents().filter(c => c.name === 'p2p').at(-1)?.value).to.equal(peer.toString()) }
  })

  it('nothing to dial without a WebRTC address', async () => {
    const peer = await newPeerId()
    expect(addrsVia('webrtc', peer, [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peer.toString()}`)])).to.deep.equal([])
  })

  it('plain circuit addresses of the peer, for a handshake that need not wait for WebRTC', async () => {
    const [peer, relay, other] = await Promise.all([newPeerId(), newPeerId(), newPeerId()])
    const circuit = `/ip4/127.0.0.1/tcp/4002/ws/p2p/${relay.toString()}/p2p-circuit`
    const addrs = [
      multiaddr(`${circuit}/p2p/${peer.toString()}`),
      multiaddr(circuit),
      multiaddr(`${circuit}/p2p/${other.toString()}`),
      multiaddr(`${circuit}/webrtc/p2p/${peer.toString()}`),
      multiaddr('/ip4/127.0.0.1/tcp/4001')
    ]
    expect(addrsVia('p2p-circuit', peer, addrs).map(a => a.toString())).to.deep.equal([`${circuit}/p2p/${peer.toString()}`])
    expect(addrsVia('p2p-circuit', peer, [multiaddr(`${circuit}/webrtc`)])).to.deep.equal([])
  })
})
