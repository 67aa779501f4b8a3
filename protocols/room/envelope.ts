/**
 * What travels on the room topic and in chat history: seal(Envelope{from, payload, signature}).
 * The seal (AES-GCM under the chat key) keeps it from anyone without the room key; the signature (the author's
 * libp2p key) keeps one member from putting words in another's mouth, even in history handed over later.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { open, seal, utf8 } from '../room-key/index.ts'
import { decodeEnvelope, decodePayload } from './codec.ts'
import { MAX_ENVELOPE_BYTES } from './constants.ts'
import { InvalidMessageError } from './errors.ts'
import { Envelope, Payload } from './pb/room.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export interface OpenedEnvelope {
  from: PeerId
  payload: Payload
}

function sigTranscript (roomId: Uint8Array, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = utf8('freeflow/v1/envelope')
  const out = new Uint8Array(prefix.length + roomId.length + payload.length)
  out.set(prefix)
  out.set(roomId, prefix.length)
  out.set(payload, prefix.length + roomId.length)
  return out
}

export async function sealEnvelope (keys: RoomKeys, peerId: PeerId, privateKey: PrivateKey, payload: Payload): Promise<Uint8Array> {
  const payloadBytes = Payload.encode(payload)
  const signature = await privateKey.sign(sigTranscript(keys.roomId, payloadBytes))
  const envelope = Envelope.encode({ from: new Uint8Array(peerId.toMultihash().bytes), payload: payloadBytes, signature: new Uint8Array(signature) })
  return seal(keys.chatKey, envelope, keys.roomId)
}

/** Open, decode and verify; throws SealError or InvalidMessageError, nothing else. */
export async function openEnvelope (keys: RoomKeys, sealed: Uint8Array): Promise<OpenedEnvelope> {
  if (sealed.length > MAX_ENVELOPE_BYTES) { throw new InvalidMessageError('envelope too large') }
  const bytes = await open(keys.chatKey, sealed, keys.roomId)
  let envelope: Envelope
  let from: PeerId
  let payload: Payload
  try {
    envelope = decodeEnvelope(bytes)
    from = peerIdFromMultihash(Digest.decode(envelope.from))
    payload = decodePayload(envelope.payload)
  } catch (err: any) {
    throw new InvalidMessageError(`malformed envelope: ${err.message}`, { cause: err })
  }
  const publicKey = from.publicKey
  if (publicKey == null) { throw new InvalidMessageError('author key is not embedded in its PeerId') }
  let ok = false
  try {
    // a signature of the wrong length makes @libp2p/crypto throw on Node: that is a bad signature too
    ok = await publicKey.verify(sigTranscript(keys.roomId, envelope.payload), envelope.signature)
  } catch {
    // ok stays false
  }
  if (!ok) { throw new InvalidMessageError('bad author signature') }
  return { from, payload }
}
