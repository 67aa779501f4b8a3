/**
 * The membership handshake (/freeflow/room/1.0.0) in both roles, on in-memory stream pairs (`streamPair` from
 * `@libp2p/utils`: two real libp2p 3.x streams over a mock muxer, no network). The side under test runs our code;
 * the other side is either our code too (a good pair) or driven frame by frame to misbehave. Every failure must end
 * in a typed rejection on our side and a reset on the other, within a short `handshakeTimeout`, never a hang.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, pbStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { MAX_PRE_PROOF_MESSAGE } from '../../protocols/room/constants.ts'
import { InvalidMessageError, NotAMemberError } from '../../protocols/room/errors.ts'
import { initiateHandshake, respondHandshake } from '../../protocols/room/handshake.ts'
import { Challenge, Hello, Proof, Role, Welcome } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys, membershipProof, toHex, verifyMembershipProof } from '../../protocols/room-key/index.ts'
import { rejection } from '../helpers/assert.ts'
import type { HandshakeInit, HandshakeParty } from '../../protocols/room/handshake.ts'
import type { ProofInput, RoomKeys } from '../../protocols/room-key/index.ts'
import type { PeerId, Stream } from '@libp2p/interface'

// the room-key test vectors (docs/protocols/room-key.md)
const KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'
const KEY_2 = 'aeibceqtcqkrmfyydenbwha5dyp4ar6u'
/** Small limits, so that a stalled or oversized frame ends the test quickly. */
const TIMEOUT = 500
const MAX_MESSAGE = 4096

interface TestParty extends HandshakeParty {
  /** Whom this party was asked to welcome: only peers that proved themselves. */
  asked: PeerId[]
}

function party (keys: RoomKeys, welcome: Partial<Welcome>): TestParty {
  const asked: PeerId[] = []
  return {
    keys,
    asked,
    welcomeFor: (remote) => {
      asked.push(remote)
      return { name: '', members: [], history: [], role: Role.PARTICIPANT, recordingSince: 0n, ...welcome }
    }
  }
}

/** What the hand-driven end sees next: a frame, a reset, a clean end, or nothing until the timeout. */
async function outcome (stream: Stream, ms = 2_000): Promise<'data' | 'reset' | 'end' | 'silence'> {
  try {
    await lpStream(stream).read({ signal: AbortSignal.timeout(ms) })
    return 'data'
  } catch (err: any) {
    if (err.name === 'TimeoutError') { return 'silence' }
  }
  // the reset may have come before this read started: the stream's state tells
  return stream.status === 'reset' ? 'reset' : 'end'
}

function nonce (): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(32))
}

describe('room handshake', () => {
  let keys: RoomKeys
  let keys2: RoomKeys
  let alice: PeerId
  let bob: PeerId
  let carol: PeerId

  before(async () => {
    keys = await deriveRoomKeys(KEY)
    keys2 = await deriveRoomKeys(KEY_2)
    alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    carol = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  function init (localPeer: PeerId, remotePeer: PeerId, extra: Partial<HandshakeInit> = {}): HandshakeInit {
    return { localPeer, remotePeer, handshakeTimeout: TIMEOUT, maxMessageSize: MAX_MESSAGE, historySize: 200, ...extra }
  }

  /** The room lookup of a responder that is in `p`'s room only. */
  function only (p: TestParty): (roomId: Uint8Array) => TestParty | undefined {
    return (roomId) => toHex(roomId) === toHex(p.keys.roomId) ? p : undefined
  }

  /** The transcript input of a handshake between alice (initiator) and bob (responder). */
  function transcript (initiatorNonce: Uint8Array, responderNonce: Uint8Array, initiator = alice, responder = bob): ProofInput {
    return { roomId: keys.roomId, initiator: initiator.toMultihash().bytes, responder: responder.toMultihash().bytes, initiatorNonce, responderNonce }
  }

  describe('a good pair of members', () => {
    it('both prove themselves and hand each other their Welcome, and both ends close', async () => {
      const [a, b] = await streamPair()
      const addr = multiaddr('/ip4/192.0.2.1/tcp/4001')
      const history = [crypto.getRandomValues(new Uint8Array(100))]
      const aliceSide = party(keys, { name: 'alice' })
      const bobSide = party(keys, {
        name: 'bob',
        members: [{ peerId: carol.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'carol', addrs: [addr.bytes as Uint8Array<ArrayBuffer>] }],
        history,
        role: Role.RECORDER,
        recordingSince: 1_764_036_000_000n
      })
      const [fromBob, responded] = await Promise.all([
        initiateHandshake(a, aliceSide, init(alice, bob)),
        respondHandshake(b, only(bobSide), init(bob, alice))
      ])
      expect(responded.party).to.equal(bobSide)
      expect(responded.welcome.name).to.equal('alice')
      expect(fromBob.name).to.equal('bob')
      expect(fromBob.role).to.equal(Role.RECORDER)
      expect(fromBob.recordingSince).to.equal(1_764_036_000_000n)
      expect(fromBob.members).to.have.length(1)
      expect(fromBob.members[0].name).to.equal('carol')
      expect(multiaddr(fromBob.members[0].addrs[0]).toString()).to.equal(addr.toString())
      expect(toHex(fromBob.history[0])).to.equal(toHex(history[0]))
      // each was asked for its Welcome once, for the peer the connection authenticated
      expect(aliceSide.asked.map(String)).to.deep.equal([bob.toString()])
      expect(bobSide.asked.map(String)).to.deep.equal([alice.toString()])
      expect(a.writeStatus).to.equal('closed')
      expect(b.writeStatus).to.equal('closed')
    })

    it('a Welcome over the pre-proof limit passes once its sender has proved itself, both ways', async () => {
      const [a, b] = await streamPair()
      // three history entries of 1 KiB each: a Welcome of about 3 KiB, under maxMessageSize (4 KiB)
      const history = Array.from({ length: 3 }, () => crypto.getRandomValues(new Uint8Array(1024)))
      const [fromBob, responded] = await Promise.all([
        initiateHandshake(a, party(keys, { name: 'alice', history }), init(alice, bob)),
        respondHandshake(b, only(party(keys, { name: 'bob', history })), init(bob, alice))
      ])
      expect(Welcome.encode(fromBob).byteLength).to.be.greaterThan(MAX_PRE_PROOF_MESSAGE)
      expect(fromBob.history.map(toHex)).to.deep.equal(history.map(toHex))
      expect(responded.welcome.history.map(toHex)).to.deep.equal(history.map(toHex))
    })
  })

  describe('the responder', () => {
    /** Start bob's side on one end, and hand the other end to the test. */
    async function responder (extra: Partial<HandshakeInit> = {}, options: { signal?: AbortSignal } = {}): Promise<{ peer: Stream, result: Promise<unknown>, bobSide: TestParty }> {
      const [a, b] = await streamPair()
      const bobSide = party(keys, { name: 'bob' })
      const result = respondHandshake(b, only(bobSide), init(bob, alice, extra), options)
      result.catch(() => {})
      return { peer: a, result, bobSide }
    }

    it('rejects a peer with another key (it knows the room id only) and tells it nothing', async () => {
      const { peer, result, bobSide } = await responder()
      const pb = pbStream(peer)
      const nI = nonce()
      await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nI }, Hello)
      const challenge = await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      // bob's proof is good, and useless to alice without the key
      expect(await verifyMembershipProof(keys.proofKey, 'responder', transcript(nI, challenge.nonce), challenge.proof)).to.equal(true)
      await pb.write({ proof: await membershipProof(keys2.proofKey, 'initiator', transcript(nI, challenge.nonce)) }, Proof)
      await pb.write({ name: 'mallory', members: [], history: [] }, Welcome)
      const err = await rejection(result)
      expect(err).to.be.instanceOf(NotAMemberError).with.property('message', 'peer could not prove it holds the room key')
      expect(await outcome(peer)).to.equal('reset')
      expect(bobSide.asked).to.be.empty()
    })

    it('rejects a Hello for a room it is not in, before any challenge', async () => {
      const { peer, result } = await responder()
      await pbStream(peer).write({ roomId: keys2.roomId as Uint8Array<ArrayBuffer>, nonce: nonce() }, Hello)
      expect(await rejection(result)).to.be.instanceOf(NotAMemberError).with.property('message', 'not in that room')
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a Hello whose nonce is not 32 bytes', async () => {
      for (const n of [0, 16, 31, 33]) {
        const { peer, result } = await responder()
        await pbStream(peer).write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: new Uint8Array(n) }, Hello)
        expect(await rejection(result), `${n} bytes`).to.be.instanceOf(InvalidMessageError).with.property('message', 'hello nonce must be 32 bytes')
        expect(await outcome(peer)).to.equal('reset')
      }
    })

    it('does not pass a replayed proof: the same Hello gets a fresh challenge', async () => {
      const nI = nonce()
      // a first handshake that succeeds with a proof for (nI, nR1)
      const first = await responder()
      const pb1 = pbStream(first.peer)
      await pb1.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nI }, Hello)
      const c1 = await pb1.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      const proof = await membershipProof(keys.proofKey, 'initiator', transcript(nI, c1.nonce))
      await pb1.write({ proof }, Proof)
      await pb1.write({ name: 'alice', members: [], history: [] }, Welcome)
      expect((await pb1.read(Welcome, { signal: AbortSignal.timeout(2_000) })).name).to.equal('bob')
      expect(((await first.result) as { welcome: Welcome }).welcome.name).to.equal('alice')
      // the same Hello and the same proof again
      const second = await responder()
      const pb2 = pbStream(second.peer)
      await pb2.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nI }, Hello)
      const c2 = await pb2.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      expect(toHex(c2.nonce)).to.not.equal(toHex(c1.nonce))
      await pb2.write({ proof }, Proof)
      await pb2.write({ name: 'alice', members: [], history: [] }, Welcome)
      expect(await rejection(second.result)).to.be.instanceOf(NotAMemberError)
      expect(await outcome(second.peer)).to.equal('reset')
      expect(second.bobSide.asked).to.be.empty()
    })

    it('does not pass a proof made for another initiator (a member relaying its own proof)', async () => {
      const { peer, result } = await responder()
      const pb = pbStream(peer)
      const nI = nonce()
      await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nI }, Hello)
      const challenge = await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      // right key and nonces, but the transcript names carol while the connection authenticated alice
      await pb.write({ proof: await membershipProof(keys.proofKey, 'initiator', transcript(nI, challenge.nonce, carol)) }, Proof)
      expect(await rejection(result)).to.be.instanceOf(NotAMemberError)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a frame of garbage with InvalidMessageError', async () => {
      for (let i = 0; i < 10; i++) {
        const { peer, result } = await responder()
        await lpStream(peer).write(crypto.getRandomValues(new Uint8Array(300)))
        expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
        expect(await outcome(peer)).to.equal('reset')
      }
    })

    it('rejects a truncated frame (the stream ends inside it) with InvalidMessageError', async () => {
      // a length prefix that announces 200 bytes, 2 of them, then the end; a prefix cut short; nothing at all
      for (const bytes of [[200, 1, 10, 16], [0xff], []]) {
        const { peer, result } = await responder()
        if (bytes.length > 0) { peer.send(Uint8Array.from(bytes)) }
        await peer.close()
        const err = await rejection(result)
        expect(err, JSON.stringify(bytes)).to.be.instanceOf(InvalidMessageError)
        expect(await outcome(peer)).to.equal('reset')
      }
    })

    it('cuts off a peer that stalls half-way through a frame at handshakeTimeout', async () => {
      const { peer, result } = await responder()
      peer.send(Uint8Array.from([200, 1, 10, 16]))
      const err = await rejection(result)
      expect(err.name).to.equal('TimeoutError')
      expect(await outcome(peer)).to.equal('reset')
    })

    it('cuts off a peer that stops after its Hello at handshakeTimeout', async () => {
      const { peer, result, bobSide } = await responder()
      const pb = pbStream(peer)
      await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nonce() }, Hello)
      await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      expect((await rejection(result)).name).to.equal('TimeoutError')
      expect(await outcome(peer)).to.equal('reset')
      expect(bobSide.asked).to.be.empty()
    })

    it('rejects a frame over maxMessageSize from its length prefix, without reading it', async () => {
      // the prefix alone: the responder must not wait for the 4,097 bytes it announces
      const { peer, result } = await responder()
      peer.send(Uint8Array.from([0x81, 0x20])) // varint 4097
      const err = await rejection(result)
      expect(err).to.be.instanceOf(InvalidMessageError)
      expect(err.message).to.match(/Message length too long/)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a Hello over the pre-proof limit (1 KiB) from its length prefix, though under maxMessageSize', async () => {
      const { peer, result, bobSide } = await responder()
      peer.send(Uint8Array.from([0x81, 0x08])) // varint 1025
      const err = await rejection(result)
      expect(err).to.be.instanceOf(InvalidMessageError)
      expect(err.message).to.match(/Message length too long - 1025 > 1024/)
      expect(await outcome(peer)).to.equal('reset')
      expect(bobSide.asked).to.be.empty()
    })

    it('rejects a Proof over the pre-proof limit, and sends no Welcome', async () => {
      const { peer, result, bobSide } = await responder()
      const pb = pbStream(peer)
      await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nonce() }, Hello)
      await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      await pb.write({ proof: new Uint8Array(2048) }, Proof)
      expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
      expect(await outcome(peer)).to.equal('reset')
      expect(bobSide.asked).to.be.empty()
    })

    it('rejects a length prefix far over the limit', async () => {
      const { peer, result } = await responder()
      peer.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))
      expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a Welcome over its limits (members, history) and sends none of its own', async () => {
      const member = { peerId: carol.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: 'c', addrs: [] }
      const welcomes: Array<Partial<Welcome>> = [
        { members: Array(257).fill(member) },
        { history: Array(5).fill(new Uint8Array(1)) },
        { members: [{ ...member, addrs: Array(17).fill(multiaddr('/ip4/192.0.2.1/tcp/1').bytes) }] }
      ]
      for (const extra of welcomes) {
        const { peer, result, bobSide } = await responder({ historySize: 4, maxMessageSize: 64 * 1024 })
        const pb = pbStream(peer)
        const nI = nonce()
        await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nI }, Hello)
        const challenge = await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
        await pb.write({ proof: await membershipProof(keys.proofKey, 'initiator', transcript(nI, challenge.nonce)) }, Proof)
        await pb.write({ name: 'alice', members: [], history: [], ...extra }, Welcome)
        const err = await rejection(result)
        expect(err).to.be.instanceOf(InvalidMessageError)
        expect(err.message).to.match(/^malformed Welcome: .*too many elements/)
        expect(await outcome(peer)).to.equal('reset')
        expect(bobSide.asked).to.be.empty()
      }
    })

    it("stops when the caller's signal aborts, with its reason", async () => {
      const controller = new AbortController()
      const { peer, result } = await responder({ handshakeTimeout: 10_000 }, { signal: controller.signal })
      const pb = pbStream(peer)
      await pb.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: nonce() }, Hello)
      await pb.read(Challenge, { signal: AbortSignal.timeout(2_000) })
      const reason = new Error('the service stopped')
      controller.abort(reason)
      expect(await rejection(result)).to.equal(reason)
      expect(await outcome(peer)).to.equal('reset')
    })
  })

  describe('the initiator', () => {
    /** Start alice's side on one end, and hand the other end to the test with alice's Hello read. */
    async function initiator (extra: Partial<HandshakeInit> = {}): Promise<{ peer: Stream, result: Promise<Welcome>, aliceSide: TestParty, hello: Hello }> {
      const [a, b] = await streamPair()
      const aliceSide = party(keys, { name: 'alice' })
      const result = initiateHandshake(a, aliceSide, init(alice, bob, extra))
      result.catch(() => {})
      const hello = await pbStream(b).read(Hello, { signal: AbortSignal.timeout(2_000) })
      return { peer: b, result, aliceSide, hello }
    }

    it('sends the room id and a fresh 32-byte nonce', async () => {
      const first = await initiator()
      const second = await initiator()
      expect(toHex(first.hello.roomId)).to.equal(toHex(keys.roomId))
      expect(first.hello.nonce).to.have.length(32)
      expect(toHex(first.hello.nonce)).to.not.equal(toHex(second.hello.nonce))
      first.peer.abort(new Error('done'))
      second.peer.abort(new Error('done'))
    })

    it('rejects a responder with another key, and sends it neither proof nor Welcome', async () => {
      const { peer, result, aliceSide, hello } = await initiator()
      const nR = nonce()
      await pbStream(peer).write({ nonce: nR, proof: await membershipProof(keys2.proofKey, 'responder', transcript(hello.nonce, nR)) }, Challenge)
      expect(await rejection(result)).to.be.instanceOf(NotAMemberError).with.property('message', 'peer could not prove it holds the room key')
      expect(await outcome(peer)).to.equal('reset')
      expect(aliceSide.asked).to.be.empty()
    })

    it('does not pass a replayed challenge: its own nonce is fresh every time', async () => {
      // a challenge that was good for an earlier Hello
      const earlier = await initiator()
      const nR = nonce()
      const replayed = { nonce: nR, proof: await membershipProof(keys.proofKey, 'responder', transcript(earlier.hello.nonce, nR)) }
      await pbStream(earlier.peer).write(replayed, Challenge)
      expect((await pbStream(earlier.peer).read(Proof, { signal: AbortSignal.timeout(2_000) })).proof).to.have.length(32)
      earlier.peer.abort(new Error('done'))
      await rejection(earlier.result)
      // the same challenge in the next handshake
      const { peer, result, aliceSide } = await initiator()
      await pbStream(peer).write(replayed, Challenge)
      expect(await rejection(result)).to.be.instanceOf(NotAMemberError)
      expect(await outcome(peer)).to.equal('reset')
      expect(aliceSide.asked).to.be.empty()
    })

    it('rejects a challenge whose nonce is not 32 bytes, even with a proof over it', async () => {
      const { peer, result, hello } = await initiator()
      const nR = new Uint8Array(16)
      await pbStream(peer).write({ nonce: nR, proof: await membershipProof(keys.proofKey, 'responder', transcript(hello.nonce, nR)) }, Challenge)
      expect(await rejection(result)).to.be.instanceOf(NotAMemberError)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a truncated challenge with InvalidMessageError', async () => {
      const { peer, result } = await initiator()
      peer.send(Uint8Array.from([70, 10, 32, 1, 2, 3]))
      await peer.close()
      expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a challenge over maxMessageSize from its length prefix', async () => {
      const { peer, result } = await initiator()
      peer.send(Uint8Array.from([0x81, 0x20]))
      expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a challenge over the pre-proof limit (1 KiB), though under maxMessageSize', async () => {
      const { peer, result, aliceSide } = await initiator()
      peer.send(Uint8Array.from([0x81, 0x08]))
      expect(await rejection(result)).to.be.instanceOf(InvalidMessageError)
      expect(await outcome(peer)).to.equal('reset')
      expect(aliceSide.asked).to.be.empty()
    })

    it('cuts off a responder that never answers at handshakeTimeout', async () => {
      const { peer, result } = await initiator()
      expect((await rejection(result)).name).to.equal('TimeoutError')
      expect(await outcome(peer)).to.equal('reset')
    })

    it('rejects a Welcome that does not decode, after sending its own', async () => {
      const { peer, result, aliceSide, hello } = await initiator()
      const pb = pbStream(peer)
      const nR = nonce()
      await pb.write({ nonce: nR, proof: await membershipProof(keys.proofKey, 'responder', transcript(hello.nonce, nR)) }, Challenge)
      const proof = await pb.read(Proof, { signal: AbortSignal.timeout(2_000) })
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', transcript(hello.nonce, nR), proof.proof)).to.equal(true)
      expect((await pb.read(Welcome, { signal: AbortSignal.timeout(2_000) })).name).to.equal('alice')
      await lpStream(pb.unwrap()).write(Uint8Array.from([0x0a, 0xff, 0xff, 0xff]))
      const err = await rejection(result)
      expect(err).to.be.instanceOf(InvalidMessageError)
      expect(err.message).to.match(/^malformed Welcome/)
      expect(aliceSide.asked).to.have.length(1)
    })
  })
})
