/**
 * Property-based tests (fast-check) of every room decoder (protocols/room/codec.ts over the protons codecs in
 * pb/room.ts) and of openEnvelope: any input ends in a value or one typed error (InvalidMessageError, or SealError
 * for bytes that do not open), never another exception; and encode then decode gives back what was encoded.
 * A failing case is printed with its seed and shrunk input, so it can be replayed.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { decodeChallenge, decodeEnvelope, decodeHello, decodePayload, decodeProof, decodeWelcome } from '../../protocols/room/codec.ts'
import { MAX_ADDRS, MAX_MEMBERS, MAX_PRESENCE_ADDRS } from '../../protocols/room/constants.ts'
import { openEnvelope, sealEnvelope } from '../../protocols/room/envelope.ts'
import { InvalidMessageError } from '../../protocols/room/errors.ts'
import { Challenge, Envelope, Hello, Payload, Presence, Proof, Role, Welcome } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys, seal, SealError, toHex } from '../../protocols/room-key/index.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'
const HISTORY_SIZE = 200

/** Compare decoded messages by value: bytes as hex, bigints as text, absent and undefined fields alike. */
function plain (value: unknown): unknown {
  if (value instanceof Uint8Array) { return toHex(value) }
  if (typeof value === 'bigint') { return value.toString() }
  if (Array.isArray(value)) { return value.map(plain) }
  if (value != null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

/** Run `fn`; true if it returned, false if it threw one of `types`; any other exception fails the property. */
function endsTyped (fn: () => unknown, ...types: Array<new (...args: any[]) => Error>): boolean {
  try {
    fn()
    return true
  } catch (err: any) {
    if (types.some(t => err instanceof t)) { return false }
    throw new Error(`threw ${err?.name}: ${err?.message}`)
  }
}

const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array<ArrayBuffer>> => fc.uint8Array({ maxLength })
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const text = fc.string({ unit: 'grapheme', maxLength: 40 })
const role = fc.constantFrom(Role.PARTICIPANT, Role.RECORDER)
/** Bytes that look like protobuf more often than random ones do: runs of small field tags and varints. */
const protobufish = fc.array(fc.oneof(
  fc.constantFrom(0x08, 0x0a, 0x10, 0x12, 0x18, 0x1a, 0x20, 0x22, 0x28, 0x2a),
  fc.integer({ min: 0, max: 255 })
), { maxLength: 200 }).map(a => Uint8Array.from(a))
const anyBytes = fc.oneof(bytes(300), protobufish)

const hello = fc.record({ roomId: bytes(40), nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }) })
const challenge = fc.record({ nonce: bytes(40), proof: bytes(40) })
const proof = fc.record({ proof: bytes(40) })
const member = fc.record({ peerId: bytes(40), name: text, addrs: fc.array(bytes(30), { maxLength: MAX_ADDRS }) })
const welcome = fc.record({
  name: text,
  members: fc.array(member, { maxLength: 5 }),
  history: fc.array(bytes(100), { maxLength: 5 }),
  role,
  recordingSince: uint64
})
const envelope = fc.record({ from: bytes(40), payload: bytes(100), signature: bytes(64) })
const presence = fc.record({
  kind: fc.constantFrom(Presence.Kind.JOIN, Presence.Kind.HEARTBEAT, Presence.Kind.LEAVE),
  name: text,
  addrs: fc.array(bytes(30), { maxLength: MAX_PRESENCE_ADDRS }),
  role,
  recordingSince: uint64
})
const chat = fc.record({ id: bytes(16), name: text, text: fc.string({ unit: 'grapheme', maxLength: 200 }) })
const payload = fc.record({ ts: uint64, presence: fc.option(presence, { nil: undefined }), chat: fc.option(chat, { nil: undefined }) })

describe('room codecs (property-based)', () => {
  const decoders: Array<[string, (b: Uint8Array) => unknown]> = [
    ['Hello', decodeHello],
    ['Challenge', decodeChallenge],
    ['Proof', decodeProof],
    ['Welcome', b => decodeWelcome(b, HISTORY_SIZE)],
    ['Envelope', decodeEnvelope],
    ['Payload', decodePayload]
  ]

  describe('any input ends in a message or InvalidMessageError', () => {
    for (const [name, decode] of decoders) {
      it(name, () => {
        fc.assert(fc.property(anyBytes, input => { endsTyped(() => decode(input), InvalidMessageError) }), { numRuns: 2_000 })
      })
    }

    it('a truncated encoding of each message', () => {
      const cases = fc.oneof(
        hello.map(m => [0, Hello.encode(m)] as const),
        challenge.map(m => [1, Challenge.encode(m)] as const),
        proof.map(m => [2, Proof.encode(m)] as const),
        welcome.map(m => [3, Welcome.encode(m)] as const),
        envelope.map(m => [4, Envelope.encode(m)] as const),
        payload.map(m => [5, Payload.encode(m)] as const)
      )
      fc.assert(fc.property(cases, fc.nat(), ([i, encoded], cut) => {
        const truncated = encoded.subarray(0, encoded.length === 0 ? 0 : cut % encoded.length)
        endsTyped(() => decoders[i][1](truncated), InvalidMessageError)
      }), { numRuns: 1_000 })
    })

    it('the typed error names the message and keeps the codec error as its cause', () => {
      const err = (() => { try { decodeWelcome(Uint8Array.from([0x12, 0xff]), HISTORY_SIZE) } catch (e: any) { return e } })()
      expect(err).to.be.instanceOf(InvalidMessageError)
      expect(err.message).to.match(/^malformed Welcome: /)
      expect(err.cause).to.be.instanceOf(Error)
    })
  })

  describe('encode then decode gives the message back', () => {
    it('Hello', () => {
      fc.assert(fc.property(hello, m => { expect(plain(decodeHello(Hello.encode(m)))).to.deep.equal(plain(m)) }))
    })

    it('Challenge', () => {
      fc.assert(fc.property(challenge, m => { expect(plain(decodeChallenge(Challenge.encode(m)))).to.deep.equal(plain(m)) }))
    })

    it('Proof', () => {
      fc.assert(fc.property(proof, m => { expect(plain(decodeProof(Proof.encode(m)))).to.deep.equal(plain(m)) }))
    })

    it('Welcome', () => {
      fc.assert(fc.property(welcome, m => { expect(plain(decodeWelcome(Welcome.encode(m), HISTORY_SIZE))).to.deep.equal(plain(m)) }))
    })

    it('Envelope', () => {
      fc.assert(fc.property(envelope, m => { expect(plain(decodeEnvelope(Envelope.encode(m)))).to.deep.equal(plain(m)) }))
    })

    it('Payload', () => {
      fc.assert(fc.property(payload, m => { expect(plain(decodePayload(Payload.encode(m)))).to.deep.equal(plain(m)) }))
    })
  })

  describe('limits', () => {
    it('a Hello decodes only with a 32-byte nonce', () => {
      fc.assert(fc.property(bytes(40), bytes(64), (roomId, nonce) => {
        expect(endsTyped(() => decodeHello(Hello.encode({ roomId, nonce })), InvalidMessageError)).to.equal(nonce.length === 32)
      }))
    })

    it('a Welcome decodes only within its member, address and history limits', () => {
      const counts = fc.record({ members: fc.nat(MAX_MEMBERS + 2), addrs: fc.nat(MAX_ADDRS + 2), history: fc.nat(12) })
      fc.assert(fc.property(counts, ({ members, addrs, history }) => {
        const m = { peerId: new Uint8Array(38), name: 'm', addrs: Array<Uint8Array<ArrayBuffer>>(addrs).fill(new Uint8Array(8)) }
        const encoded = Welcome.encode({ name: 'w', members: Array(members).fill(m), history: Array(history).fill(new Uint8Array(4)) })
        const fits = members <= MAX_MEMBERS && (members === 0 || addrs <= MAX_ADDRS) && history <= 10
        expect(endsTyped(() => decodeWelcome(encoded, 10), InvalidMessageError)).to.equal(fits)
      }), { numRuns: 200 })
    })

    it('a Payload decodes only with at most MAX_PRESENCE_ADDRS presence addresses', () => {
      fc.assert(fc.property(fc.nat(MAX_PRESENCE_ADDRS + 5), n => {
        const encoded = Payload.encode({ ts: 1n, presence: { kind: Presence.Kind.HEARTBEAT, name: '', addrs: Array(n).fill(new Uint8Array(8)), role: Role.PARTICIPANT, recordingSince: 0n } })
        expect(endsTyped(() => decodePayload(encoded), InvalidMessageError)).to.equal(n <= MAX_PRESENCE_ADDRS)
      }))
    })
  })

  describe('openEnvelope', () => {
    let keys: RoomKeys
    let sk: PrivateKey
    let author: PeerId

    before(async () => {
      keys = await deriveRoomKeys(KEY)
      sk = await generateKeyPair('Ed25519')
      author = peerIdFromPrivateKey(sk)
    })

    /** Open; true if it opened, false for SealError or InvalidMessageError, fails the property for anything else. */
    async function opens (sealed: Uint8Array): Promise<boolean> {
      try {
        await openEnvelope(keys, sealed)
        return true
      } catch (err: any) {
        if (err instanceof SealError || err instanceof InvalidMessageError) { return false }
        throw new Error(`threw ${err?.name}: ${err?.message}`)
      }
    }

    it('any bytes: SealError or InvalidMessageError', async () => {
      await fc.assert(fc.asyncProperty(anyBytes, async input => { expect(await opens(input)).to.equal(false) }), { numRuns: 500 })
    })

    it('any bytes sealed under the room key: InvalidMessageError, never SealError', async () => {
      await fc.assert(fc.asyncProperty(anyBytes, async input => {
        const err = await openEnvelope(keys, await seal(keys.chatKey, input, keys.roomId)).then(() => undefined, (e: Error) => e)
        expect(err).to.be.instanceOf(InvalidMessageError)
      }), { numRuns: 300 })
    })

    it('any envelope fields sealed under the room key: opens or InvalidMessageError', async () => {
      await fc.assert(fc.asyncProperty(envelope, async fields => {
        const err = await openEnvelope(keys, await seal(keys.chatKey, Envelope.encode(fields), keys.roomId)).then(() => undefined, (e: Error) => e)
        expect(err).to.be.instanceOf(InvalidMessageError)
      }), { numRuns: 300 })
    })

    it('seal then open gives back the author and the payload', async () => {
      await fc.assert(fc.asyncProperty(payload, async p => {
        const opened = await openEnvelope(keys, await sealEnvelope(keys, author, sk, p))
        expect(opened.from.equals(author)).to.equal(true)
        expect(plain(opened.payload)).to.deep.equal(plain(p))
      }), { numRuns: 200 })
    })

    it('a sealed envelope with any one byte changed does not open', async () => {
      const sealed = await sealEnvelope(keys, author, sk, { ts: 1n, chat: { id: new Uint8Array(16), name: 'a', text: 'hello' } })
      await fc.assert(fc.asyncProperty(fc.nat(sealed.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const changed = sealed.slice()
        changed[i] ^= x
        expect(await opens(changed)).to.equal(false)
      }), { numRuns: 200 })
    })
  })
})
