/**
 * Our decoders for every room message. The protons codecs in pb/room.ts throw whatever their reader meets
 * (RangeError, Error, MaxLengthError); here any input ends in a message or an InvalidMessageError that names it,
 * with the codec's error as its cause. Repeated fields are decoded with the limits the protocol sets.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { HANDSHAKE_NONCE_BYTES, MAX_ADDRS, MAX_MEMBERS, MAX_PRESENCE_ADDRS } from './constants.ts'
import { InvalidMessageError } from './errors.ts'
import { Challenge, Envelope, Hello, Payload, Proof, Welcome } from './pb/room.ts'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Uint8ArrayList } from 'uint8arraylist'

export type Bytes = Uint8Array | Uint8ArrayList

function decoded<T> (what: string, decode: () => T): T {
  try {
    return decode()
  } catch (err: any) {
    throw new InvalidMessageError(`malformed ${what}: ${err?.message ?? String(err)}`, { cause: err })
  }
}

/** A Hello; its nonce must be `HANDSHAKE_NONCE_BYTES` long. */
export function decodeHello (bytes: Bytes): Hello {
  const hello = decoded('Hello', () => Hello.decode(bytes))
  if (hello.nonce.length !== HANDSHAKE_NONCE_BYTES) { throw new InvalidMessageError('hello nonce must be 32 bytes') }
  return hello
}

export function decodeChallenge (bytes: Bytes): Challenge {
  return decoded('Challenge', () => Challenge.decode(bytes))
}

export function decodeProof (bytes: Bytes): Proof {
  return decoded('Proof', () => Proof.decode(bytes))
}

/** A Welcome, with at most `MAX_MEMBERS` members of at most `MAX_ADDRS` addresses, and `historySize` history entries. */
export function decodeWelcome (bytes: Bytes, historySize: number): Welcome {
  return decoded('Welcome', () => Welcome.decode(bytes, { limits: { members: MAX_MEMBERS, history: historySize, members$: { addrs: MAX_ADDRS } } }))
}

export function decodeEnvelope (bytes: Bytes): Envelope {
  return decoded('Envelope', () => Envelope.decode(bytes))
}

/** A Payload, with at most `MAX_PRESENCE_ADDRS` presence addresses. */
export function decodePayload (bytes: Bytes): Payload {
  return decoded('Payload', () => Payload.decode(bytes, { limits: { presence: { addrs: MAX_PRESENCE_ADDRS } } }))
}

/** The first `MAX_ADDRS` of a list of multiaddr bytes that decode; the others are dropped. */
export function decodeAddrs (list: Uint8Array[]): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const bytes of list.slice(0, MAX_ADDRS)) {
    try {
      out.push(multiaddr(bytes))
    } catch {
      // not a multiaddr: dropped
    }
  }
  return out
}
