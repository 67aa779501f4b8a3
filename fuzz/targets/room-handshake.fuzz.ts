/**
 * The room handshake's responder (respondHandshake) on a real in-memory stream pair (`streamPair` from
 * @libp2p/utils). Either every byte the initiator sends comes from the fuzzer, or the initiator sends a good Hello,
 * answers the Challenge with a valid proof (it holds the room key) and then the fuzzer writes the rest: the Welcome
 * frames that are read only after the proof, with the larger limit.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { respondHandshake } from '../../protocols/room/handshake.ts'
import { Challenge, Hello, Proof, Role, Welcome } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys, membershipProof, toHex } from '../../protocols/room-key/index.ts'
import { choose, lp, named, pair, ROOM_KEY, tagged } from './common.ts'
import type { FuzzTarget } from '../engine.ts'
import type { HandshakeInit, HandshakeParty } from '../../protocols/room/handshake.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { PeerId } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

let keys: RoomKeys
let alice: PeerId
let bob: PeerId
let init: HandshakeInit
let party: HandshakeParty

export const target: FuzzTarget = {
  name: 'room-handshake',
  about: 'respondHandshake on a stream pair: all bytes fuzzed, or fuzzed frames after a valid Hello and proof',
  async seeds () {
    keys = await deriveRoomKeys(ROOM_KEY)
    alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    init = { localPeer: bob, remotePeer: alice, handshakeTimeout: 2_000, maxMessageSize: 16 * 1024, historySize: 200 }
    party = { keys, welcomeFor: () => ({ name: 'bob', members: [], history: [], role: Role.PARTICIPANT, recordingSince: 0n }) }
    const welcome = Welcome.encode({ name: 'alice', members: [{ peerId: alice.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'alice', addrs: [] }], history: [new Uint8Array(40)], role: Role.PARTICIPANT, recordingSince: 0n })
    const hello = Hello.encode({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: new Uint8Array(32).fill(1) })
    return [
      tagged(0, lp(hello, Proof.encode({ proof: new Uint8Array(32) }), welcome)),
      tagged(1, lp(welcome)),
      tagged(1, lp(welcome, welcome))
    ]
  },
  async run (input) {
    const [which, bytes] = choose(input, 2)
    const [a, b] = await pair()
    const find = (roomId: Uint8Array): HandshakeParty | undefined => toHex(roomId) === toHex(keys.roomId) ? party : undefined
    const responded = respondHandshake(b, find, init)
    // the initiator's end: its reads and writes may fail once the responder resets; that is the responder's answer
    const initiator = (async () => {
      if (which === 1) {
        const frames = lpStream(a)
        const nonce = crypto.getRandomValues(new Uint8Array(32))
        await frames.write(Hello.encode({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce }))
        const challenge = Challenge.decode(await frames.read() as Uint8ArrayList)
        const input = { roomId: keys.roomId, initiator: alice.toMultihash().bytes, responder: bob.toMultihash().bytes, initiatorNonce: nonce, responderNonce: challenge.nonce }
        await frames.write(Proof.encode({ proof: await membershipProof(keys.proofKey, 'initiator', input) }))
        frames.unwrap()
      }
      a.send(bytes)
      await a.close()
    })().catch(() => {})
    try {
      await responded
    } finally {
      await initiator
      a.abort(new Error('done'))
    }
  },
  expected: named('InvalidMessageError', 'NotAMemberError', 'StreamResetError', 'StreamStateError')
}
