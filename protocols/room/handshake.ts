/**
 * The membership handshake on /freeflow/room/1.0.0, both roles (docs/protocols/room.md section 2). Each side proves
 * it holds the room key with an HMAC bound to both PeerIds (as Noise authenticated them) and two fresh 32-byte
 * nonces, and reveals what it knows of the room (its Welcome) only after the other side has proved itself.
 *
 * Frames read before the other side has proved itself (Hello, Challenge, Proof) may be at most
 * `MAX_PRE_PROOF_MESSAGE` bytes; only the Welcome, read after the proof, may be as large as `maxMessageSize`.
 *
 * Any failure aborts the stream (a reset, nothing more is written) and rejects with NotAMemberError,
 * InvalidMessageError (a frame that is truncated, over the limit of the moment or does not decode), the reset the
 * remote sent, or the signal's reason (the caller's, or the `handshakeTimeout` deadline).
 */
import { lpStream } from '@libp2p/utils'
import { membershipProof, verifyMembershipProof } from '../room-key/index.ts'
import { decodeChallenge, decodeHello, decodeProof, decodeWelcome } from './codec.ts'
import { HANDSHAKE_NONCE_BYTES, MAX_PRE_PROOF_MESSAGE } from './constants.ts'
import { InvalidMessageError, NotAMemberError } from './errors.ts'
import { Challenge, Hello, Proof, Welcome } from './pb/room.ts'
import type { Bytes } from './codec.ts'
import type { ProofInput, RoomKeys } from '../room-key/index.ts'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** One side's part in a handshake: the room it is in, and what it tells a peer that proved itself. */
export interface HandshakeParty {
  readonly keys: RoomKeys
  /** The Welcome for `remote`, asked for only once `remote` has proved it holds the key. */
  welcomeFor(remote: PeerId): Welcome
}

export interface HandshakeInit {
  /** This node. */
  localPeer: PeerId
  /** The other end of the stream, as the connection's encryption authenticated it (never read from the stream). */
  remotePeer: PeerId
  /** Deadline for the whole exchange, in ms. */
  handshakeTimeout: number
  /**
   * Largest Welcome read once the other side has proved itself, in bytes: a longer length prefix ends the handshake
   * before the frame is read. Frames before the proof are held to `MAX_PRE_PROOF_MESSAGE`.
   */
  maxMessageSize: number
  /** Most history entries accepted in a Welcome. */
  historySize: number
}

export interface Responded<P extends HandshakeParty> {
  /** The room named in the initiator's Hello. */
  party: P
  /** What the initiator knows of the room. */
  welcome: Welcome
}

/** Errors of the length-prefix reader that mean the peer sent a broken frame. */
const FRAME_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError', 'UnexpectedEOFError'])

/**
 * Length-prefixed protobuf frames, held to `MAX_PRE_PROOF_MESSAGE` bytes until `proven()`; every frame error becomes
 * an InvalidMessageError.
 */
class Frames {
  private lp: LengthPrefixedStream<Stream>
  private readonly maxMessageSize: number
  private readonly signal: AbortSignal

  constructor (stream: Stream, maxMessageSize: number, signal: AbortSignal) {
    this.lp = lpStream(stream, { maxDataLength: Math.min(MAX_PRE_PROOF_MESSAGE, maxMessageSize) })
    this.maxMessageSize = maxMessageSize
    this.signal = signal
  }

  /** The other side proved it holds the room key: read frames of up to `maxMessageSize` bytes from now on. */
  proven (): void {
    // unwrap hands bytes already buffered (the Welcome that follows a Proof) back to the stream for the new reader
    this.lp = lpStream(this.lp.unwrap(), { maxDataLength: this.maxMessageSize })
  }

  async read<T>(what: string, decode: (bytes: Bytes) => T): Promise<T> {
    let bytes: Bytes
    try {
      bytes = await this.lp.read({ signal: this.signal })
    } catch (err: any) {
      if (!this.signal.aborted && FRAME_ERRORS.has(err?.name)) { throw new InvalidMessageError(`${what}: ${err.message}`, { cause: err }) }
      throw err
    }
    return decode(bytes)
  }

  async write<T>(message: T, codec: { encode(message: T): Uint8Array }): Promise<void> {
    await this.lp.write(codec.encode(message), { signal: this.signal })
  }
}

function deadline (init: HandshakeInit, options: AbortOptions): AbortSignal {
  const timeout = AbortSignal.timeout(init.handshakeTimeout)
  return options.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
}

function nonce (): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(HANDSHAKE_NONCE_BYTES))
}

/** The initiator's side: this node opened `stream` to a peer it believes to be in `party`'s room. */
export async function initiateHandshake (stream: Stream, party: HandshakeParty, init: HandshakeInit, options: AbortOptions = {}): Promise<Welcome> {
  const signal = deadline(init, options)
  const frames = new Frames(stream, init.maxMessageSize, signal)
  const { keys } = party
  try {
    const ownNonce = nonce()
    await frames.write({ roomId: keys.roomId as Uint8Array<ArrayBuffer>, nonce: ownNonce }, Hello)
    const challenge = await frames.read('Challenge', decodeChallenge)
    const input: ProofInput = {
      roomId: keys.roomId,
      initiator: init.localPeer.toMultihash().bytes,
      responder: init.remotePeer.toMultihash().bytes,
      initiatorNonce: ownNonce,
      responderNonce: challenge.nonce
    }
    if (challenge.nonce.length !== HANDSHAKE_NONCE_BYTES || !await verifyMembershipProof(keys.proofKey, 'responder', input, challenge.proof)) {
      throw new NotAMemberError('peer could not prove it holds the room key')
    }
    frames.proven()
    await frames.write({ proof: await membershipProof(keys.proofKey, 'initiator', input) }, Proof)
    await frames.write(party.welcomeFor(init.remotePeer), Welcome)
    const welcome = await frames.read('Welcome', bytes => decodeWelcome(bytes, init.historySize))
    await stream.close({ signal })
    return welcome
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/**
 * The responder's side: a peer opened `stream` to this node. `find` names the room of the Hello's `room_id`, or
 * undefined when this node is not in it.
 */
export async function respondHandshake<P extends HandshakeParty> (stream: Stream, find: (roomId: Uint8Array) => P | undefined, init: HandshakeInit, options: AbortOptions = {}): Promise<Responded<P>> {
  const signal = deadline(init, options)
  const frames = new Frames(stream, init.maxMessageSize, signal)
  try {
    const hello = await frames.read('Hello', decodeHello)
    const party = find(hello.roomId)
    if (party == null) { throw new NotAMemberError('not in that room') }
    const { keys } = party
    const ownNonce = nonce()
    const input: ProofInput = {
      roomId: keys.roomId,
      initiator: init.remotePeer.toMultihash().bytes,
      responder: init.localPeer.toMultihash().bytes,
      initiatorNonce: hello.nonce,
      responderNonce: ownNonce
    }
    await frames.write({ nonce: ownNonce, proof: await membershipProof(keys.proofKey, 'responder', input) }, Challenge)
    const proof = await frames.read('Proof', decodeProof)
    if (!await verifyMembershipProof(keys.proofKey, 'initiator', input, proof.proof)) {
      throw new NotAMemberError('peer could not prove it holds the room key')
    }
    frames.proven()
    const welcome = await frames.read('Welcome', bytes => decodeWelcome(bytes, init.historySize))
    await frames.write(party.welcomeFor(init.remotePeer), Welcome)
    await stream.close({ signal })
    return { party, welcome }
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}
