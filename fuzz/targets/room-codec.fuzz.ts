/** Every room message decoder (protocols/room/codec.ts over pb/room.ts), and the multiaddrs of a decoded Welcome or Presence. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeAddrs, decodeChallenge, decodeEnvelope, decodeHello, decodePayload, decodeProof, decodeWelcome } from '../../protocols/room/codec.ts'
import { Challenge, Envelope, Hello, Payload, Presence, Proof, Role, Welcome } from '../../protocols/room/pb/room.ts'
import { choose, named, tagged } from './common.ts'
import type { FuzzTarget } from '../engine.ts'

const HISTORY = 200

export const target: FuzzTarget = {
  name: 'room-codec',
  about: 'Hello, Challenge, Proof, Welcome, Envelope, Payload decoders and the addresses they carry',
  async seeds () {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const id = peer.toMultihash().bytes as Uint8Array<ArrayBuffer>
    const addr = multiaddr('/ip4/192.0.2.1/tcp/4001/p2p/' + peer.toString()).bytes as Uint8Array<ArrayBuffer>
    const r32 = (): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(32))
    return [
      tagged(0, Hello.encode({ roomId: r32().subarray(0, 16), nonce: r32() })),
      tagged(1, Challenge.encode({ nonce: r32(), proof: r32() })),
      tagged(2, Proof.encode({ proof: r32() })),
      tagged(3, Welcome.encode({ name: 'bob', members: [{ peerId: id, name: 'carol', addrs: [addr, addr] }], history: [r32(), r32()], role: Role.RECORDER, recordingSince: 1_764_036_000_000n })),
      tagged(4, Envelope.encode({ from: id, payload: r32(), signature: new Uint8Array(64) })),
      tagged(5, Payload.encode({ ts: 1_764_036_000_000n, presence: { kind: Presence.Kind.JOIN, name: 'alice', addrs: [addr], role: Role.PARTICIPANT, recordingSince: 0n } })),
      tagged(5, Payload.encode({ ts: 1_764_036_000_000n, chat: { id: r32().subarray(0, 16), name: 'alice', text: 'hello there' } }))
    ]
  },
  run (input) {
    const [which, bytes] = choose(input, 6)
    switch (which) {
      case 0: decodeHello(bytes); break
      case 1: decodeChallenge(bytes); break
      case 2: decodeProof(bytes); break
      case 3: {
        const welcome = decodeWelcome(bytes, HISTORY)
        for (const m of welcome.members) { decodeAddrs(m.addrs) }
        break
      }
      case 4: decodeEnvelope(bytes); break
      case 5: {
        const payload = decodePayload(bytes)
        if (payload.presence != null) { decodeAddrs(payload.presence.addrs) }
        break
      }
    }
  },
  expected: named('InvalidMessageError')
}
