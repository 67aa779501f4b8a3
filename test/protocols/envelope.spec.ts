/**
 * The sealed, signed envelope that carries presence and chat on the room topic and in history: round trip with
 * real Ed25519 keys, forged authors, wrong rooms, garbage and oversized input. openEnvelope must fail only with
 * SealError (does not open under this room's key) or InvalidMessageError (opens, but is not a valid envelope).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { sha256 } from 'multiformats/hashes/sha2'
import { MAX_ENVELOPE_BYTES } from '../../protocols/room/constants.ts'
import { openEnvelope, sealEnvelope } from '../../protocols/room/envelope.ts'
import { InvalidMessageError } from '../../protocols/room/errors.ts'
import { Envelope, Payload, Presence, Role } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys, open, seal, SealError, utf8 } from '../../protocols/room-key/index.ts'
import { rejection } from '../helpers/assert.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

// the room-key test vectors (docs/protocols/room-key.md)
const KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'
const KEY_2 = 'aeibceqtcqkrmfyydenbwha5dyp4ar6u'

/** Deterministic bytes (mulberry32), so a failing garbage case can be reproduced. */
function prng (seed: number): (n: number) => Uint8Array<ArrayBuffer> {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) & 0xff
  }
  return (n) => Uint8Array.from({ length: n }, next)
}

/** What sealEnvelope signs: "freeflow/v1/envelope" | roomId | payload (see docs/protocols/room.md). */
function sigTranscript (roomId: Uint8Array, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array([...utf8('freeflow/v1/envelope'), ...roomId, ...payload])
}

/** Seal hand-made envelope fields under a room's key, as a (malicious) member could. */
async function sealRaw (keys: RoomKeys, env: { from: Uint8Array, payload: Uint8Array, signature: Uint8Array }): Promise<Uint8Array> {
  return seal(keys.chatKey, Envelope.encode(env as Envelope), keys.roomId)
}

function chat (text: string, ts = 1_700_000_000_000n): Payload {
  return { ts, chat: { id: Uint8Array.from({ length: 16 }, (_, i) => i), name: 'alice', text } }
}

describe('envelope', () => {
  let keys: RoomKeys
  let keys2: RoomKeys
  let skA: PrivateKey
  let skB: PrivateKey
  let alice: PeerId
  let bob: PeerId

  before(async () => {
    keys = await deriveRoomKeys(KEY)
    keys2 = await deriveRoomKeys(KEY_2)
    skA = await generateKeyPair('Ed25519')
    skB = await generateKeyPair('Ed25519')
    alice = peerIdFromPrivateKey(skA)
    bob = peerIdFromPrivateKey(skB)
  })

  async function invalid (sealed: Uint8Array, message?: RegExp): Promise<void> {
    const err = await rejection(openEnvelope(keys, sealed))
    expect(err).to.be.instanceOf(InvalidMessageError)
    expect(err.name).to.equal('InvalidMessageError')
    if (message != null) {
      expect(err.message).to.match(message)
    }
  }

  describe('round trip', () => {
    it('opens a chat message with its author and payload', async () => {
      const sealed = await sealEnvelope(keys, alice, skA, chat('hello'))
      const opened = await openEnvelope(keys, sealed)
      expect(opened.from.equals(alice)).to.equal(true)
      expect(opened.payload.ts).to.equal(1_700_000_000_000n)
      expect(opened.payload.presence).to.equal(undefined)
      expect(opened.payload.chat?.text).to.equal('hello')
      expect(opened.payload.chat?.name).to.equal('alice')
      expect([...opened.payload.chat?.id ?? []]).to.deep.equal([...Array(16).keys()])
    })

    it('opens presence with its kind, name and addresses', async () => {
      const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip6/::1/tcp/4002/ws')]
      for (const kind of [Presence.Kind.JOIN, Presence.Kind.HEARTBEAT, Presence.Kind.LEAVE]) {
        const sealed = await sealEnvelope(keys, bob, skB, { ts: 5n, presence: { kind, name: 'bob', addrs: addrs.map(a => a.bytes as Uint8Array<ArrayBuffer>), role: Role.PARTICIPANT, recordingSince: 0n } })
        const opened = await openEnvelope(keys, sealed)
        expect(opened.from.equals(bob)).to.equal(true)
        expect(opened.payload.chat).to.equal(undefined)
        expect(opened.payload.presence?.kind).to.equal(kind)
        expect(opened.payload.presence?.name).to.equal('bob')
        expect(opened.payload.presence?.addrs.map(b => multiaddr(b).toString())).to.deep.equal(addrs.map(a => a.toString()))
        expect(opened.payload.presence?.role).to.equal(Role.PARTICIPANT)
        expect(opened.payload.presence?.recordingSince).to.equal(0n)
      }
    })

    it('opens a recorder\'s presence with its role and when it started recording', async () => {
      const sealed = await sealEnvelope(keys, bob, skB, { ts: 5n, presence: { kind: Presence.Kind.HEARTBEAT, name: 'rec', addrs: [], role: Role.RECORDER, recordingSince: 1_764_036_000_000n } })
      const presence = (await openEnvelope(keys, sealed)).payload.presence
      expect(presence?.role).to.equal(Role.RECORDER)
      expect(presence?.recordingSince).to.equal(1_764_036_000_000n)
    })

    it('is sealed: the plaintext does not appear, and every seal differs', async () => {
      const a = await sealEnvelope(keys, alice, skA, chat('a very recognisable sentence'))
      const b = await sealEnvelope(keys, alice, skA, chat('a very recognisable sentence'))
      expect(Buffer.from(a).includes(Buffer.from('recognisable'))).to.equal(false)
      expect(Buffer.from(a).includes(Buffer.from(alice.toMultihash().bytes))).to.equal(false)
      expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(false)
    })

    it('carries the author PeerId and a 64-byte signature over "freeflow/v1/envelope" | roomId | payload', async () => {
      const sealed = await sealEnvelope(keys, alice, skA, chat('hello'))
      const env = Envelope.decode(await open(keys.chatKey, sealed, keys.roomId))
      expect(Buffer.from(env.from).equals(Buffer.from(alice.toMultihash().bytes))).to.equal(true)
      expect(env.signature).to.have.length(64)
      expect(await alice.publicKey!.verify(sigTranscript(keys.roomId, env.payload), env.signature)).to.equal(true)
    })
  })

  describe('authorship', () => {
    it('rejects an envelope signed by A that claims to be from B', async () => {
      const forged = await sealEnvelope(keys, bob, skA, chat('I am bob'))
      await invalid(forged, /^bad author signature$/)
    })

    it('rejects a payload changed after signing', async () => {
      const sealed = await sealEnvelope(keys, alice, skA, chat('pay bob 10'))
      const env = Envelope.decode(await open(keys.chatKey, sealed, keys.roomId))
      const payload = Payload.encode(chat('pay bob 1000'))
      await invalid(await sealRaw(keys, { ...env, payload }), /^bad author signature$/)
    })

    it("rejects a signature made for another room, re-sealed under this room's key", async () => {
      // a member of both rooms moving alice's words from one room to the other
      const payload = Payload.encode(chat('said in room 2'))
      const signature = await skA.sign(sigTranscript(keys2.roomId, payload))
      await invalid(await sealRaw(keys, { from: alice.toMultihash().bytes, payload, signature }), /^bad author signature$/)
      // and the same envelope is accepted in the room it was signed for
      const opened = await openEnvelope(keys2, await sealRaw(keys2, { from: alice.toMultihash().bytes, payload, signature }))
      expect(opened.from.equals(alice)).to.equal(true)
    })

    it('rejects an author whose public key is not in its PeerId', async () => {
      // a sha2-256 multihash, as an RSA PeerId has
      const digest = await sha256.digest(utf8('some rsa key'))
      const payload = Payload.encode(chat('hi'))
      await invalid(await sealRaw(keys, { from: digest.bytes, payload, signature: new Uint8Array(64) }), /^author key is not embedded in its PeerId$/)
    })
  })

  describe('wrong room', () => {
    it("rejects an envelope sealed with another room's key", async () => {
      const sealed = await sealEnvelope(keys2, alice, skA, chat('hello'))
      const err = await rejection(openEnvelope(keys, sealed))
      expect(err).to.be.instanceOf(SealError)
      expect(err.name).to.equal('SealError')
    })

    it("rejects an envelope sealed with this room's chat key but another room's id as AAD", async () => {
      const payload = Payload.encode(chat('hello'))
      const signature = await skA.sign(sigTranscript(keys.roomId, payload))
      const sealed = await seal(keys.chatKey, Envelope.encode({ from: alice.toMultihash().bytes, payload, signature } as Envelope), keys2.roomId)
      expect(await rejection(openEnvelope(keys, sealed))).to.be.instanceOf(SealError)
    })
  })

  describe('garbage', () => {
    it('rejects random bytes with SealError', async () => {
      const random = prng(1)
      for (const n of [0, 1, 12, 28, 29, 30, 64, 200, 1000, 10_000]) {
        const err = await rejection(openEnvelope(keys, random(n)))
        expect(err, `${n} bytes`).to.be.instanceOf(SealError)
      }
    })

    it('rejects random bytes sealed under the right key with InvalidMessageError', async () => {
      const random = prng(2)
      for (const n of [0, 1, 2, 5, 16, 38, 100, 166, 1000, 4096]) {
        await invalid(await seal(keys.chatKey, random(n), keys.roomId))
      }
    })

    it('never fails with another error type, for 300 deterministic random inputs sealed and unsealed', async () => {
      const random = prng(3)
      for (let i = 0; i < 300; i++) {
        const bytes = random(1 + (i * 37) % 700)
        for (const input of [bytes, await seal(keys.chatKey, bytes, keys.roomId)]) {
          const err = await rejection(openEnvelope(keys, input))
          expect(err instanceof SealError || err instanceof InvalidMessageError, `case ${i}: ${err.name}: ${err.message}`).to.equal(true)
        }
      }
    })

    it('rejects malformed envelope fields with InvalidMessageError', async () => {
      const payload = Payload.encode(chat('hi'))
      const signature = await skA.sign(sigTranscript(keys.roomId, payload))
      const from = alice.toMultihash().bytes
      // no author, an author that is not a multihash, a truncated PeerId
      for (const badFrom of [new Uint8Array(0), utf8('alice'), from.subarray(0, 20), new Uint8Array([0x00, 0x05, 1, 2, 3, 4, 5])]) {
        await invalid(await sealRaw(keys, { from: badFrom, payload, signature }), /malformed envelope|not embedded|bad author signature/)
      }
      // a payload that is not protobuf
      const junk = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
      await invalid(await sealRaw(keys, { from, payload: junk, signature: await skA.sign(sigTranscript(keys.roomId, junk)) }), /^malformed envelope/)
      // a well-formed envelope whose 64-byte signature is wrong
      await invalid(await sealRaw(keys, { from, payload, signature: new Uint8Array(64) }), /^bad author signature$/)
    })

    // on Node, @libp2p/crypto's Ed25519 verify throws TypeError('"sig" must be 64 bytes in length.') for a
    // signature of any other length: openEnvelope must report it as a bad signature, not let the TypeError out
    it('rejects a signature of the wrong length with InvalidMessageError', async () => {
      const payload = Payload.encode(chat('hi'))
      const from = alice.toMultihash().bytes
      for (const signature of [new Uint8Array(0), new Uint8Array(63), new Uint8Array(65)]) {
        await invalid(await sealRaw(keys, { from, payload, signature }))
      }
    })

    it('accepts up to 32 presence addresses and rejects 33', async () => {
      const addr = multiaddr('/ip4/10.0.0.1/tcp/4001').bytes as Uint8Array<ArrayBuffer>
      const presence = (n: number): Payload => ({ ts: 1n, presence: { kind: Presence.Kind.HEARTBEAT, name: 'bob', addrs: Array(n).fill(addr), role: Role.PARTICIPANT, recordingSince: 0n } })
      expect((await openEnvelope(keys, await sealEnvelope(keys, bob, skB, presence(32)))).payload.presence?.addrs).to.have.length(32)
      await invalid(await sealEnvelope(keys, bob, skB, presence(33)), /^malformed envelope/)
    })
  })

  describe('size', () => {
    it('is 64 KiB at most', () => {
      expect(MAX_ENVELOPE_BYTES).to.equal(65_536)
    })

    it('opens a valid envelope of exactly MAX_ENVELOPE_BYTES and rejects one byte more before opening', async () => {
      // find the text length that makes the sealed envelope exactly 64 KiB
      let n = MAX_ENVELOPE_BYTES - 300
      let sealed = await sealEnvelope(keys, alice, skA, chat('x'.repeat(n)))
      for (let i = 0; i < 5 && sealed.length !== MAX_ENVELOPE_BYTES; i++) {
        n += MAX_ENVELOPE_BYTES - sealed.length
        sealed = await sealEnvelope(keys, alice, skA, chat('x'.repeat(n)))
      }
      expect(sealed.length).to.equal(MAX_ENVELOPE_BYTES)
      expect((await openEnvelope(keys, sealed)).payload.chat?.text).to.have.length(n)

      const bigger = await sealEnvelope(keys, alice, skA, chat('x'.repeat(n + 1)))
      expect(bigger.length).to.equal(MAX_ENVELOPE_BYTES + 1)
      await invalid(bigger, /^envelope too large$/)
    })

    it('rejects oversized input of any content with InvalidMessageError, not SealError', async () => {
      const random = prng(4)
      for (const n of [MAX_ENVELOPE_BYTES + 1, 1024 * 1024]) {
        await invalid(random(n), /^envelope too large$/)
      }
    })

    it('fits the longest chat message (4000 characters, 3 bytes each in UTF-8) with room to spare', async () => {
      const sealed = await sealEnvelope(keys, alice, skA, { ...chat('漢'.repeat(4_000)), chat: { id: new Uint8Array(16), name: 'n'.repeat(64), text: '漢'.repeat(4_000) } })
      expect(sealed.length).to.be.below(MAX_ENVELOPE_BYTES)
      expect((await openEnvelope(keys, sealed)).payload.chat?.text).to.have.length(4_000)
    })
  })
})
