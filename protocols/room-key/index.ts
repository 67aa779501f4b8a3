/**
 * Room keys and everything derived from them.
 *
 * A room key is 160 bits written as 32 base32 characters (a-z, 2-7): one version byte, 128 random bits from a
 * CSPRNG, and a 24-bit checksum (SHA-256 of the version and secret, truncated) so that a typo is caught before
 * anyone tries to join. Every sub-key is HKDF-SHA256 of the secret with its own label; relays and DHT nodes
 * only ever see outputs of a one-way function of the key.
 *
 * WebCrypto only: this module runs unchanged in Node and in the browser.
 */
import { CHECKSUM_BYTES, EPOCH_MS, LABELS, NONCE_BYTES, ROOM_KEY_LENGTH, ROOM_KEY_VERSION, ROOM_SECRET_BYTES } from './constants.ts'
import { InvalidRoomKeyError, SealError } from './errors.ts'

export { EPOCH_MS, LABELS, NONCE_BYTES, ROOM_KEY_LENGTH, ROOM_KEY_VERSION, ROOM_SECRET_BYTES } from './constants.ts'
export { InvalidRoomKeyError, SealError } from './errors.ts'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const HKDF_SALT = utf8('freeflow-connect/v1')

export interface RoomKeys {
  /** The key as a person types it, normalised. */
  readonly key: string
  /** 16 bytes that name the room on our own protocols (never the key). */
  readonly roomId: Uint8Array
  /** Eight characters that tell rooms apart in file names and logs; reveals nothing of the key. */
  readonly shortName: string
  /** The gossipsub topic for chat and presence. */
  readonly topic: string
  /** AES-GCM-256 key that seals every message on the topic. */
  readonly chatKey: CryptoKey
  /** HMAC-SHA256 key for the membership handshake. */
  readonly proofKey: CryptoKey
  /** 32 bytes to look up on the DHT during the given epoch. */
  rendezvous(epoch: number): Promise<Uint8Array>
}

export function utf8 (text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text)
}

export function toHex (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) { out += b.toString(16).padStart(2, '0') }
  return out
}

export function base32Encode (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) { out += ALPHABET[(value << (5 - bits)) & 31] }
  return out
}

function base32Decode (text: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(Math.floor(text.length * 5 / 8))
  let bits = 0
  let value = 0
  let i = 0
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch)
    if (v < 0) { throw new InvalidRoomKeyError(`room key contains '${ch}', which never appears in a room key (only a-z and 2-7 do)`) }
    value = ((value << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      out[i++] = (value >>> (bits - 8)) & 0xff
      bits -= 8
    }
  }
  return out
}

async function checksum (versionAndSecret: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', versionAndSecret))
  return digest.subarray(0, CHECKSUM_BYTES)
}

/** Encode a secret as a room key (exported for test vectors; use generateRoomKey). */
export async function encodeRoomKey (secret: Uint8Array): Promise<string> {
  if (secret.length !== ROOM_SECRET_BYTES) { throw new InvalidRoomKeyError(`a room secret is ${ROOM_SECRET_BYTES} bytes`) }
  const body = new Uint8Array(1 + ROOM_SECRET_BYTES)
  body[0] = ROOM_KEY_VERSION
  body.set(secret, 1)
  const bytes = new Uint8Array(body.length + CHECKSUM_BYTES)
  bytes.set(body)
  bytes.set(await checksum(body), body.length)
  return base32Encode(bytes)
}

/** A fresh room key: 128 bits from the platform CSPRNG. */
export async function generateRoomKey (): Promise<string> {
  return encodeRoomKey(crypto.getRandomValues(new Uint8Array(ROOM_SECRET_BYTES)))
}

/** Normalise what a person pasted: case, spaces and dashes do not matter; a `#room=` link is accepted too. */
export function normaliseRoomKey (text: string): string {
  let t = text.trim()
  const m = /[#&?]room=([^&]*)/.exec(t)
  if (m != null) {
    try {
      t = decodeURIComponent(m[1])
    } catch {
      throw new InvalidRoomKeyError('room key in the link is garbled (a broken %-escape)')
    }
  }
  return t.replace(/[\s-]/g, '').toLowerCase()
}

/** Check a room key and return its secret; throws InvalidRoomKeyError with a sentence a person can act on. */
export async function parseRoomKey (text: string): Promise<Uint8Array<ArrayBuffer>> {
  const key = normaliseRoomKey(text)
  if (key.length === 0) { throw new InvalidRoomKeyError('room key is empty') }
  if (key.length !== ROOM_KEY_LENGTH) {
    throw new InvalidRoomKeyError(`room key must be ${ROOM_KEY_LENGTH} characters, this one has ${key.length}`)
  }
  const bytes = base32Decode(key)
  const body = bytes.slice(0, 1 + ROOM_SECRET_BYTES)
  const expected = await checksum(body)
  const got = bytes.subarray(1 + ROOM_SECRET_BYTES)
  let diff = 0
  for (let i = 0; i < CHECKSUM_BYTES; i++) { diff |= expected[i] ^ got[i] }
  if (diff !== 0) { throw new InvalidRoomKeyError('room key has a typo: its checksum does not match') }
  if (bytes[0] !== ROOM_KEY_VERSION) { throw new InvalidRoomKeyError('room key is from an unknown version of FreeFlow Connect') }
  return body.slice(1)
}

async function hkdf (ikm: CryptoKey, label: string, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info: utf8(label) }, ikm, bytes * 8)
  return new Uint8Array(bits)
}

/** Derive every sub-key of a room. Throws InvalidRoomKeyError for a malformed key. */
export async function deriveRoomKeys (text: string): Promise<RoomKeys> {
  const secret = await parseRoomKey(text)
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
  const roomId = await hkdf(ikm, LABELS.roomId, 16)
  const topicBytes = await hkdf(ikm, LABELS.topic, 16)
  const chatKey = await crypto.subtle.importKey('raw', await hkdf(ikm, LABELS.chat, 32), 'AES-GCM', false, ['encrypt', 'decrypt'])
  const proofKey = await crypto.subtle.importKey('raw', await hkdf(ikm, LABELS.membership, 32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
  return {
    key: normaliseRoomKey(text),
    roomId,
    shortName: toHex(roomId).slice(0, 8),
    topic: `/freeflow/room/1/${toHex(topicBytes)}`,
    chatKey,
    proofKey,
    rendezvous: async (epoch: number) => hkdf(ikm, LABELS.rendezvous(epoch), 32)
  }
}

export function epochOf (ms: number = Date.now()): number {
  return Math.floor(ms / EPOCH_MS)
}

/** Seal: version byte, 96-bit random nonce, AES-GCM ciphertext with its 128-bit tag. */
export async function seal (key: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: new Uint8Array(aad) }, key, new Uint8Array(plaintext)))
  const out = new Uint8Array(1 + NONCE_BYTES + ct.length)
  out[0] = ROOM_KEY_VERSION
  out.set(nonce, 1)
  out.set(ct, 1 + NONCE_BYTES)
  return out
}

/** Open a sealed message; throws SealError when it was not sealed with this key and AAD. */
export async function open (key: CryptoKey, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (sealed.length < 1 + NONCE_BYTES + 16 || sealed[0] !== ROOM_KEY_VERSION) { throw new SealError('not a sealed room message') }
  try {
    const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.slice(1, 1 + NONCE_BYTES), additionalData: new Uint8Array(aad) }, key, sealed.slice(1 + NONCE_BYTES))
    return new Uint8Array(pt)
  } catch {
    throw new SealError('message does not open with this room key')
  }
}

export type ProofRole = 'initiator' | 'responder'

export interface ProofInput {
  roomId: Uint8Array
  initiator: Uint8Array
  responder: Uint8Array
  initiatorNonce: Uint8Array
  responderNonce: Uint8Array
}

/** The bytes a membership proof signs: every field length-prefixed, so no two inputs share an encoding. */
export function proofTranscript (role: ProofRole, input: ProofInput): Uint8Array<ArrayBuffer> {
  const parts = [utf8('freeflow/v1/proof'), utf8(role), input.roomId, input.initiator, input.responder, input.initiatorNonce, input.responderNonce]
  const total = parts.reduce((n, p) => n + 2 + p.length, 0)
  const out = new Uint8Array(total)
  let o = 0
  for (const p of parts) {
    out[o] = p.length >> 8
    out[o + 1] = p.length & 0xff
    out.set(p, o + 2)
    o += 2 + p.length
  }
  return out
}

/** HMAC-SHA256 over the transcript: proves knowledge of the room key, bound to both peers and both nonces. */
export async function membershipProof (proofKey: CryptoKey, role: ProofRole, input: ProofInput): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', proofKey, proofTranscript(role, input)))
}

/** Constant-time check (WebCrypto's HMAC verify) of a peer's proof. */
export async function verifyMembershipProof (proofKey: CryptoKey, role: ProofRole, input: ProofInput, proof: Uint8Array): Promise<boolean> {
  if (proof.length !== 32) { return false }
  return crypto.subtle.verify('HMAC', proofKey, new Uint8Array(proof), proofTranscript(role, input))
}
