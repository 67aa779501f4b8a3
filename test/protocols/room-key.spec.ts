/**
 * Room keys: fixed test vectors (identical to docs/protocols/room-key.md) and the behaviour of parsing,
 * derivation, sealing and membership proofs. The vectors were computed once with this code and checked against
 * an independent implementation (Python hashlib/hmac and the `cryptography` package's AES-GCM); a change to any
 * of them is a protocol change.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import {
  base32Encode, deriveRoomKeys, encodeRoomKey, EPOCH_MS, epochOf, generateRoomKey, InvalidRoomKeyError, LABELS,
  membershipProof, NONCE_BYTES, normaliseRoomKey, open, parseRoomKey, proofTranscript, ROOM_KEY_LENGTH, ROOM_KEY_VERSION,
  ROOM_SECRET_BYTES, seal, SealError, toHex, utf8, verifyMembershipProof
} from '../../protocols/room-key/index.ts'
import { rejection } from '../helpers/assert.ts'
import type { ProofInput, RoomKeys } from '../../protocols/room-key/index.ts'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'

function hex (text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  }
  return out
}

/** `n` bytes counting up from `start`: seq(0, 16) is 0x00..0x0f. */
function seq (start: number, n: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)
}

// ---- vector 1: secret 0x00..0x0f ----
const SECRET = seq(0x00, 16)
const KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'
const ROOM_ID = 'eeeeabd793473d2cd108a6d1c98b61c6'
const SHORT_NAME = 'eeeeabd7'
const TOPIC = '/freeflow/room/1/bf3be2aedc382c174116487300c57531'
const RENDEZVOUS = {
  0: '7b065689df9dfafd122fd657c4750ebdc93d09c52e8ea9d738096b56678fa6e5',
  493_000: 'c3ca5762dd7a16122c7b9ace1de13dfd5df02aabe7f178e66e71ac8333cb40ef'
} as const
const RENDEZVOUS_CID = {
  0: 'bafkreid3azlitx457l6rel6wk7chkdv5ze6qtrjor2u5ooajnnlgpd5g4u',
  493_000: 'bafkreigdzjlwfxl2cyjcy642zyo6cpp5lxycvk7h6f4om3trvsbths2a54'
} as const

// ---- vector 2: secret 0x10..0x1f, "another room" ----
const SECRET_2 = seq(0x10, 16)
const KEY_2 = 'aeibceqtcqkrmfyydenbwha5dyp4ar6u'
const ROOM_ID_2 = '7f335b0ca903718626ad3859ba2a43bd'

// ---- membership proof: Ed25519 seeds 0x20..0x3f (initiator) and 0x40..0x5f (responder) ----
const INITIATOR_PEER = '12D3KooWCd3eX8r5ihRvzK7P1yPq5aakaBJhG5GNj18YTztPhoCa'
const INITIATOR = '00240801122029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7'
const RESPONDER_PEER = '12D3KooWCKq9ZvccjmCqhBbPsrgpAKBHWQpgB61ruM19CyAvH1Cp'
const RESPONDER = '0024080112202543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d'
const INITIATOR_NONCE = seq(0x60, 32)
const RESPONDER_NONCE = seq(0x80, 32)
const TRANSCRIPT_TAIL = '0010' + ROOM_ID + '0026' + INITIATOR + '0026' + RESPONDER +
  '0020606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f' +
  '0020808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'
const TRANSCRIPT_INITIATOR = '001166726565666c6f772f76312f70726f6f66' + '0009696e69746961746f72' + TRANSCRIPT_TAIL
const TRANSCRIPT_RESPONDER = '001166726565666c6f772f76312f70726f6f66' + '0009726573706f6e646572' + TRANSCRIPT_TAIL
const PROOF_INITIATOR = '00186016f4050b7c502fe50eb4ad7427e3ad722f55699614024cbf1015684a50'
const PROOF_RESPONDER = '6b95df031ef72ab41cbd54ca7dbfeec15cf93857b13339bc1be2ec5f1800fc84'

// ---- a sealed message: seal(chatKey of KEY, "hello, room", aad = ROOM_ID), produced once ----
const SEALED = '019b2c032aa618cee14dee8890bfde21867d4343efcce3f0552ab3914fbbdce72da2e03324bc8020'
const PLAINTEXT = 'hello, room'

// ---- the checksum is a truncated hash, not an error-correcting code: a single-character typo it misses ----
const TYPO_KEY = 'afdisqvinycd4ejv6hmhqvtmtipphb2q'
const TYPO_KEY_MISSED = 'afdisqvinycduejv6hmhqvtmtipphb2q' // position 12: '4' -> 'u'

describe('room-key', () => {
  let keys: RoomKeys
  let keys2: RoomKeys
  let input: ProofInput

  before(async () => {
    keys = await deriveRoomKeys(KEY)
    keys2 = await deriveRoomKeys(KEY_2)
    input = {
      roomId: keys.roomId,
      initiator: hex(INITIATOR),
      responder: hex(RESPONDER),
      initiatorNonce: INITIATOR_NONCE,
      responderNonce: RESPONDER_NONCE
    }
  })

  describe('constants', () => {
    it('has the documented sizes', () => {
      expect(ROOM_KEY_VERSION).to.equal(1)
      expect(ROOM_SECRET_BYTES).to.equal(16)
      expect(ROOM_KEY_LENGTH).to.equal(32)
      expect((1 + ROOM_SECRET_BYTES + 3) * 8 / 5).to.equal(ROOM_KEY_LENGTH)
      expect(NONCE_BYTES).to.equal(12)
      expect(EPOCH_MS).to.equal(3_600_000)
    })

    it('has the documented HKDF labels', () => {
      expect(LABELS.roomId).to.equal('freeflow/v1/room-id')
      expect(LABELS.topic).to.equal('freeflow/v1/topic')
      expect(LABELS.chat).to.equal('freeflow/v1/chat')
      expect(LABELS.membership).to.equal('freeflow/v1/membership')
      expect(LABELS.rendezvous(0)).to.equal('freeflow/v1/rendezvous/0')
      expect(LABELS.rendezvous(493_000)).to.equal('freeflow/v1/rendezvous/493000')
    })
  })

  describe('test vectors', () => {
    it('encodes secret 0x00..0x0f as the fixed key', async () => {
      expect(await encodeRoomKey(SECRET)).to.equal(KEY)
      expect(await encodeRoomKey(SECRET_2)).to.equal(KEY_2)
    })

    it('parses the fixed key back to its secret', async () => {
      expect(toHex(await parseRoomKey(KEY))).to.equal(toHex(SECRET))
      expect(toHex(await parseRoomKey(KEY_2))).to.equal(toHex(SECRET_2))
    })

    it('lays the key out as version | secret | SHA-256(version | secret)[0..3], base32', async () => {
      const body = new Uint8Array([ROOM_KEY_VERSION, ...SECRET])
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
      expect(base32Encode(new Uint8Array([...body, ...digest.subarray(0, 3)]))).to.equal(KEY)
    })

    it('derives the fixed roomId, shortName and topic', () => {
      expect(keys.key).to.equal(KEY)
      expect(toHex(keys.roomId)).to.equal(ROOM_ID)
      expect(keys.shortName).to.equal(SHORT_NAME)
      expect(keys.topic).to.equal(TOPIC)
      expect(toHex(keys2.roomId)).to.equal(ROOM_ID_2)
    })

    it('derives the fixed rendezvous bytes for epochs 0 and 493000', async () => {
      expect(toHex(await keys.rendezvous(0))).to.equal(RENDEZVOUS[0])
      expect(toHex(await keys.rendezvous(493_000))).to.equal(RENDEZVOUS[493_000])
    })

    it('gives the documented rendezvous CIDs (CIDv1, raw codec, sha2-256 multihash code around the 32 bytes)', async () => {
      for (const epoch of [0, 493_000] as const) {
        const bytes = await keys.rendezvous(epoch)
        const cid = CID.createV1(0x55, Digest.create(0x12, bytes))
        expect(cid.toString()).to.equal(RENDEZVOUS_CID[epoch])
        expect(toHex(cid.bytes)).to.equal('01551220' + RENDEZVOUS[epoch])
      }
    })

    it('uses real PeerId multihash bytes of the fixed Ed25519 keys', async () => {
      const initiator = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seq(0x20, 32)))
      const responder = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seq(0x40, 32)))
      expect(initiator.toString()).to.equal(INITIATOR_PEER)
      expect(responder.toString()).to.equal(RESPONDER_PEER)
      expect(toHex(initiator.toMultihash().bytes)).to.equal(INITIATOR)
      expect(toHex(responder.toMultihash().bytes)).to.equal(RESPONDER)
    })

    it('builds the fixed proof transcripts', () => {
      expect(toHex(proofTranscript('initiator', input))).to.equal(TRANSCRIPT_INITIATOR)
      expect(toHex(proofTranscript('responder', input))).to.equal(TRANSCRIPT_RESPONDER)
    })

    it('computes the fixed membership proofs, and they verify', async () => {
      expect(toHex(await membershipProof(keys.proofKey, 'initiator', input))).to.equal(PROOF_INITIATOR)
      expect(toHex(await membershipProof(keys.proofKey, 'responder', input))).to.equal(PROOF_RESPONDER)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, hex(PROOF_INITIATOR))).to.equal(true)
      expect(await verifyMembershipProof(keys.proofKey, 'responder', input, hex(PROOF_RESPONDER))).to.equal(true)
    })

    it('opens the fixed sealed message to its plaintext', async () => {
      const pt = await open(keys.chatKey, hex(SEALED), keys.roomId)
      expect(new TextDecoder().decode(pt)).to.equal(PLAINTEXT)
      expect(hex(SEALED).length).to.equal(1 + NONCE_BYTES + utf8(PLAINTEXT).length + 16)
    })
  })

  describe('seal and open', () => {
    it('rejects the fixed sealed message with any single byte changed', async () => {
      const sealed = hex(SEALED)
      for (let i = 0; i < sealed.length; i++) {
        const bad = sealed.slice()
        bad[i] ^= 0x01
        const err = await rejection(open(keys.chatKey, bad, keys.roomId))
        expect(err, `byte ${i}`).to.be.instanceOf(SealError)
        expect(err.name).to.equal('SealError')
      }
    })

    it("rejects the fixed sealed message under another room's key", async () => {
      const err = await rejection(open(keys2.chatKey, hex(SEALED), keys.roomId))
      expect(err).to.be.instanceOf(SealError).with.property('message', 'message does not open with this room key')
    })

    it('rejects the fixed sealed message with another AAD', async () => {
      for (const aad of [keys2.roomId, new Uint8Array(0), keys.roomId.subarray(1)]) {
        expect(await rejection(open(keys.chatKey, hex(SEALED), aad))).to.be.instanceOf(SealError)
      }
    })

    it('rejects input too short to be sealed, and an unknown version byte', async () => {
      for (const n of [0, 1, 13, 28]) {
        const err = await rejection(open(keys.chatKey, hex(SEALED).subarray(0, n), keys.roomId))
        expect(err).to.be.instanceOf(SealError).with.property('message', 'not a sealed room message')
      }
      const v2 = hex(SEALED)
      v2[0] = 2
      expect(await rejection(open(keys.chatKey, v2, keys.roomId))).to.be.instanceOf(SealError).with.property('message', 'not a sealed room message')
    })

    it('round-trips, with a fresh nonce every time', async () => {
      const pt = utf8('the same words twice')
      const a = await seal(keys.chatKey, pt, keys.roomId)
      const b = await seal(keys.chatKey, pt, keys.roomId)
      expect(a.length).to.equal(1 + NONCE_BYTES + pt.length + 16)
      expect(a[0]).to.equal(ROOM_KEY_VERSION)
      expect(toHex(a.subarray(1, 13))).to.not.equal(toHex(b.subarray(1, 13)))
      expect(toHex(await open(keys.chatKey, a, keys.roomId))).to.equal(toHex(pt))
      expect(toHex(await open(keys.chatKey, b, keys.roomId))).to.equal(toHex(pt))
    })

    it('seals the empty message', async () => {
      const sealed = await seal(keys.chatKey, new Uint8Array(0), keys.roomId)
      expect(sealed.length).to.equal(1 + NONCE_BYTES + 16)
      expect((await open(keys.chatKey, sealed, keys.roomId)).length).to.equal(0)
    })
  })

  describe('generateRoomKey', () => {
    it('gives 32 base32 characters that parse', async () => {
      const key = await generateRoomKey()
      expect(key).to.have.length(32)
      expect(key).to.match(/^[a-z2-7]{32}$/)
      expect(await parseRoomKey(key)).to.have.length(16)
      // version 1 fixes the first five bits and three of the next five
      expect(key).to.match(/^a[e-h]/)
    })

    it('gives a different key every time', async () => {
      const seen = new Set<string>()
      for (let i = 0; i < 20; i++) {
        seen.add(await generateRoomKey())
      }
      expect(seen.size).to.equal(20)
    })
  })

  describe('parseRoomKey', () => {
    const accepted: Array<[string, string]> = [
      ['upper case', KEY.toUpperCase()],
      ['mixed case', 'AeAaCaQdAqCqMbYiBeFaWdAnByHw77Nd'],
      ['spaces', 'aeaa caqd aqcq mbyi befa wdan byhw 77nd'],
      ['dashes', 'aeaa-caqd-aqcq-mbyi-befa-wdan-byhw-77nd'],
      ['surrounding whitespace and a newline', `  \t${KEY}\n`],
      ['a pasted link', `https://x/#room=${KEY}`],
      ['a pasted link with other parameters', `https://relay.example/?lang=en&room=${KEY}&x=1`],
      ['a pasted link in upper case with dashes', `https://x/#room=${KEY.toUpperCase().replace(/(.{4})(?!$)/g, '$1-')}`]
    ]
    for (const [what, text] of accepted) {
      it(`accepts ${what}`, async () => {
        expect(normaliseRoomKey(text)).to.equal(KEY)
        expect(toHex(await parseRoomKey(text))).to.equal(toHex(SECRET))
        expect((await deriveRoomKeys(text)).key).to.equal(KEY)
      })
    }

    async function invalid (text: string): Promise<Error> {
      const err = await rejection(parseRoomKey(text))
      expect(err, JSON.stringify(text)).to.be.instanceOf(InvalidRoomKeyError)
      expect(err.name).to.equal('InvalidRoomKeyError')
      return err
    }

    it('rejects the empty key', async () => {
      for (const text of ['', '   ', '----', '\n', 'https://x/#room=']) {
        expect((await invalid(text)).message).to.equal('room key is empty')
      }
    })

    it('rejects a key of the wrong length and says how long it is', async () => {
      expect((await invalid(KEY.slice(0, 31))).message).to.equal('room key must be 32 characters, this one has 31')
      expect((await invalid(KEY + 'a')).message).to.equal('room key must be 32 characters, this one has 33')
      expect((await invalid('abc')).message).to.equal('room key must be 32 characters, this one has 3')
      expect((await invalid(KEY + KEY)).message).to.equal('room key must be 32 characters, this one has 64')
    })

    it('rejects characters outside a-z, 2-7 and names the character', async () => {
      for (const ch of ['0', '1', '8', '9', '!', '_', '.', 'é']) {
        const text = KEY.slice(0, 10) + ch + KEY.slice(11)
        expect((await invalid(text)).message).to.equal(`room key contains '${ch}', which never appears in a room key (only a-z and 2-7 do)`)
      }
    })

    it('rejects every single-character typo of the fixed key, at every position, as a checksum error', async () => {
      let tried = 0
      for (let i = 0; i < KEY.length; i++) {
        for (const ch of ALPHABET) {
          if (ch === KEY[i]) {
            continue
          }
          const err = await invalid(KEY.slice(0, i) + ch + KEY.slice(i + 1))
          expect(err.message, `position ${i}, '${ch}'`).to.equal('room key has a typo: its checksum does not match')
          tried++
        }
      }
      expect(tried).to.equal(32 * 31)
    })

    it('rejects a swap of two neighbouring characters of the fixed key', async () => {
      for (let i = 0; i + 1 < KEY.length; i++) {
        if (KEY[i] === KEY[i + 1]) {
          continue
        }
        const text = KEY.slice(0, i) + KEY[i + 1] + KEY[i] + KEY.slice(i + 2)
        expect((await invalid(text)).message).to.equal('room key has a typo: its checksum does not match')
      }
    })

    it('rejects a key of another version whose checksum is right', async () => {
      const body = new Uint8Array([2, ...SECRET])
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
      const text = base32Encode(new Uint8Array([...body, ...digest.subarray(0, 3)]))
      expect((await invalid(text)).message).to.equal('room key is from an unknown version of FreeFlow Connect')
    })

    it('is a 24-bit check, not a code: a known single-character typo goes undetected', async () => {
      // about 1 key in 16,900 (2^24 / 992) has such a typo among its 992 neighbours; this pair was found by search
      const a = await parseRoomKey(TYPO_KEY)
      const b = await parseRoomKey(TYPO_KEY_MISSED)
      expect(toHex(a)).to.equal('468942a86e043e1135f1d878566c9a1e')
      expect(toHex(b)).to.equal('468942a86e043a1135f1d878566c9a1e')
    })

    it('deriveRoomKeys throws InvalidRoomKeyError for a malformed key', async () => {
      for (const text of ['', 'abc', KEY.slice(0, 31) + 'a', KEY.replace('a', '1')]) {
        expect(await rejection(deriveRoomKeys(text))).to.be.instanceOf(InvalidRoomKeyError)
      }
    })

    it('encodeRoomKey refuses a secret that is not 16 bytes', async () => {
      for (const n of [0, 15, 17, 32]) {
        expect(await rejection(encodeRoomKey(new Uint8Array(n)))).to.be.instanceOf(InvalidRoomKeyError)
      }
    })

    // a malformed %-escape makes decodeURIComponent throw URIError: it must still be an InvalidRoomKeyError
    it('rejects a pasted link with a malformed %-escape as InvalidRoomKeyError', async () => {
      for (const text of ['https://x/#room=%zz', 'https://x/#room=%E0%A4%A']) {
        await invalid(text)
      }
    })
  })

  describe('membership proofs', () => {
    let good: Uint8Array

    before(async () => {
      good = await membershipProof(keys.proofKey, 'initiator', input)
    })

    it('is false for the other role', async () => {
      expect(await verifyMembershipProof(keys.proofKey, 'responder', input, good)).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, hex(PROOF_RESPONDER))).to.equal(false)
    })

    it('is false for a different nonce on either side', async () => {
      const n = INITIATOR_NONCE.slice()
      n[31] ^= 1
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', { ...input, initiatorNonce: n }, good)).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', { ...input, responderNonce: INITIATOR_NONCE }, good)).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', { ...input, initiatorNonce: RESPONDER_NONCE, responderNonce: INITIATOR_NONCE }, good)).to.equal(false)
    })

    it('is false with the peers swapped', async () => {
      const swapped = { ...input, initiator: input.responder, responder: input.initiator }
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', swapped, good)).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'responder', swapped, good)).to.equal(false)
    })

    it("is false under another room's key, and for another room's id", async () => {
      expect(await verifyMembershipProof(keys2.proofKey, 'initiator', input, good)).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', { ...input, roomId: keys2.roomId }, good)).to.equal(false)
      const other = await membershipProof(keys2.proofKey, 'initiator', { ...input, roomId: keys2.roomId })
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, other)).to.equal(false)
    })

    it('is false for a truncated, extended, empty or altered proof', async () => {
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, good.subarray(0, 31))).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, good.subarray(0, 16))).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, new Uint8Array([...good, 0]))).to.equal(false)
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, new Uint8Array(0))).to.equal(false)
      const altered = good.slice()
      altered[0] ^= 0x80
      expect(await verifyMembershipProof(keys.proofKey, 'initiator', input, altered)).to.equal(false)
    })

    it('length-prefixes every field, so moving a byte between fields changes the transcript', () => {
      const a = proofTranscript('initiator', { ...input, initiatorNonce: seq(0, 32), responderNonce: seq(32, 32) })
      const b = proofTranscript('initiator', { ...input, initiatorNonce: seq(0, 31), responderNonce: seq(31, 33) })
      expect(toHex(a)).to.not.equal(toHex(b))
      expect(a.length).to.equal(b.length)
    })
  })

  describe('epochs', () => {
    it('counts whole hours since the Unix epoch', () => {
      expect(epochOf(0)).to.equal(0)
      expect(epochOf(EPOCH_MS - 1)).to.equal(0)
      expect(epochOf(EPOCH_MS)).to.equal(1)
      expect(epochOf(493_000 * EPOCH_MS)).to.equal(493_000)
      expect(epochOf(493_000 * EPOCH_MS - 1)).to.equal(492_999)
      // 2026-03-29T16:00:00Z starts epoch 493000
      expect(epochOf(Date.UTC(2026, 2, 29, 16, 0, 0))).to.equal(493_000)
      expect(epochOf(Date.UTC(2026, 2, 29, 16, 59, 59, 999))).to.equal(493_000)
    })

    it('defaults to the current time', () => {
      const before = epochOf(Date.now())
      const now = epochOf()
      const after = epochOf(Date.now())
      expect(now).to.be.within(before, after)
    })

    it('gives each epoch its own rendezvous, and each room its own', async () => {
      const seen = new Set<string>()
      for (const e of [0, 1, 492_999, 493_000, 493_001]) {
        seen.add(toHex(await keys.rendezvous(e)))
        seen.add(toHex(await keys2.rendezvous(e)))
      }
      expect(seen.size).to.equal(10)
      expect(toHex(await keys.rendezvous(493_000))).to.equal(RENDEZVOUS[493_000])
    })
  })
})
