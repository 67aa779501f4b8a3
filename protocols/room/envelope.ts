/**
 * What travels on the room topic and in chat history: seal(Envelope{from, payload, signature}).
 * The seal (AES-GCM under the chat key) keeps it from anyone without the room key; the signature (the author's
 * libp2p key) keeps one member from putting words in another's mouth, even in history handed over later.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { open, seal, utf8, type RoomKeys } from '../room-key/index.js'
import { InvalidMessageError } from './index.js'
import { Envelope, Payload } from './pb/room.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** Envelopes larger than this are rejected before opening (a 4000-character message is about 16 KiB). */
export const MAX_ENVELOPE_BYTES = 64 * 1024

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

/** Open, decode and verify; throws SealError or InvalidMessageError. */
export async function openEnvelope (keys: RoomKeys, sealed: Uint8Array): Promise<OpenedEnvelope> {
  if (sealed.length > MAX_ENVELOPE_BYTES) throw new InvalidMessageError('envelope too large')
  const bytes = await open(keys.chatKey, sealed, keys.roomId)
  let envelope: Envelope
  let from: PeerId
  let payload: Payload
  try {
    envelope = Envelope.decode(bytes)
    from = peerIdFromMultihash(Digest.decode(envelope.from))
    payload = Payload.decode(envelope.payload, { limits: { presence: { addrs: 32 } } })
  } catch (err: any) {
    throw new InvalidMessageError(`malformed envelope: ${err.message}`)
  }
  const publicKey = from.publicKey
  if (publicKey == null) throw new InvalidMessageError('author key is not embedded in its PeerId')
  let ok = false
  try {
    ok = await publicKey.verify(sigTranscript(keys.roomId, envelope.payload), envelope.signature)
  } catch {}
  if (!ok) throw new InvalidMessageError('bad author signature')
  return { from, payload }
}
