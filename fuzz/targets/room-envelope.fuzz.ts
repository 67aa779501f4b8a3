/**
 * openEnvelope with a real room key: the fuzzed bytes are either sealed with the room's chat key first (so they reach
 * the Envelope and Payload decoders and the signature check, as a member's message would) or opened as they are.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openEnvelope, sealEnvelope } from '../../protocols/room/envelope.ts'
import { Payload, Presence, Role } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys, open, seal } from '../../protocols/room-key/index.ts'
import { choose, named, ROOM_KEY, tagged } from './common.ts'
import type { FuzzTarget } from '../engine.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'

let keys: RoomKeys

export const target: FuzzTarget = {
  name: 'room-envelope',
  about: 'openEnvelope with a real room key: sealed fuzz (decoders, PeerId, signature) and raw fuzz (the seal)',
  async seeds () {
    keys = await deriveRoomKeys(ROOM_KEY)
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const payloads: Payload[] = [
      { ts: 1_764_036_000_000n, chat: { id: new Uint8Array(16), name: 'alice', text: 'hi' } },
      { ts: 1_764_036_000_000n, presence: { kind: Presence.Kind.HEARTBEAT, name: 'alice', addrs: [], role: Role.PARTICIPANT, recordingSince: 0n } }
    ]
    const seeds: Uint8Array[] = []
    for (const payload of payloads) {
      const sealed = await sealEnvelope(keys, peer, key, payload)
      // the plaintext, to be sealed again by run(); and the sealed bytes as they travel
      seeds.push(tagged(0, await open(keys.chatKey, sealed, keys.roomId)), tagged(1, sealed))
    }
    return seeds
  },
  async run (input) {
    const [which, bytes] = choose(input, 2)
    await openEnvelope(keys, which === 0 ? await seal(keys.chatKey, bytes, keys.roomId) : bytes)
  },
  expected: named('InvalidMessageError', 'SealError')
}
