/**
 * coturn's REST credentials (`use-auth-secret`): username = "<expiry>:<user id>", credential =
 * base64(HMAC-SHA1(secret, username)). coturn refuses a username whose expiry (unix seconds) has passed, and checks
 * the credential as the long-term password. Our user id is a short hash of the asking PeerId: the operator can tell
 * which PeerId a credential seen in coturn's log was given to, without the log holding PeerIds.
 */
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PeerId } from '@libp2p/interface'

/** Bytes of SHA-256(PeerId multihash) kept in the user id: 64 bits, printed as 16 hex digits. */
const USER_ID_BYTES = 8

const encoder = new TextEncoder()

/** The user id for a PeerId: the first 8 bytes of SHA-256 over the PeerId's multihash bytes, in lower-case hex. */
export async function turnUserId (peerId: PeerId): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', peerId.toMultihash().bytes))
  return uint8ArrayToString(digest.subarray(0, USER_ID_BYTES), 'base16')
}

/** "<expiry>:<user id>", expiry in unix seconds. */
export async function turnUsername (peerId: PeerId, expiry: number): Promise<string> {
  return `${Math.floor(expiry)}:${await turnUserId(peerId)}`
}

/** base64(HMAC-SHA1(secret, username)), the password coturn expects for a REST username. */
export async function turnCredential (secret: string | CryptoKey, username: string): Promise<string> {
  const key = typeof secret === 'string' ? await hmacKey(secret) : secret
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(username))
  return uint8ArrayToString(new Uint8Array(mac), 'base64pad')
}

/** The HMAC-SHA1 key for a secret (coturn uses the secret's bytes as they stand in its configuration). */
export async function hmacKey (secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign'])
}

/** Split a REST username; undefined for anything else. */
export function parseTurnUsername (username: string): { expiry: number, userId: string } | undefined {
  const m = /^(\d{1,12}):([0-9a-f]{16})$/.exec(username)
  if (m == null) { return undefined }
  return { expiry: Number(m[1]), userId: m[2] }
}
