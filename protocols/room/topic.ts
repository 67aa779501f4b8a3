/**
 * The room's gossipsub topic (docs/protocols/room.md section 3): the signature policy and message id gossipsub uses
 * for it, the topic validator that accepts only envelopes that open under the room key (whose own signature is the
 * one authentication of a message), and the topic's score parameters, which graylist a peer that forwards three
 * that do not.
 */
import { StrictNoSign, TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { sha256 } from 'multiformats/hashes/sha2'
import { openEnvelope } from './envelope.ts'
import type { OpenedEnvelope } from './envelope.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerScore, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import type { Logger, PeerId } from '@libp2p/interface'

/**
 * Gossipsub's signature policy (node-wide; FreeFlow uses gossipsub for room topics only): messages carry no author,
 * sequence number or gossipsub signature, and gossipsub rejects any that does. The author and its signature travel
 * inside the seal (envelope.ts), so that a peer without the room key learns no member's PeerId from the topic, and a
 * receiver verifies one Ed25519 signature per message instead of two.
 */
export const SIGNATURE_POLICY = StrictNoSign

/**
 * Bytes of a message id: 160 bits of SHA-256 make an accidental collision (which would drop a message as seen)
 * out of reach for the messages a room ever carries, and keep gossipsub's seen-cache and IHAVE/IWANT lists small.
 */
export const MESSAGE_ID_BYTES = 20

/**
 * The message id, from the content: the first MESSAGE_ID_BYTES of SHA-256 of the sealed bytes. Every seal has a
 * fresh random nonce, so two messages never share an id by chance; the same sealed bytes sent again have the same
 * id, and gossipsub drops them as seen (for its seen-cache TTL; the room's own replay check covers the rest).
 */
export async function messageId (msg: { data: Uint8Array }): Promise<Uint8Array> {
  const digest = await sha256.digest(msg.data)
  return digest.digest.subarray(0, MESSAGE_ID_BYTES)
}

/**
 * Half-life of a peer's count of rejected messages on the room topic, in s: long, so that a peer sending one invalid
 * message every few seconds or minutes is counted for every one of them (an honest member never earns any).
 */
export const INVALID_MESSAGE_HALF_LIFE = 3_600

/**
 * Peer score thresholds (gossipsub's defaults, stated because TOPIC_SCORE is set against them): below gossip, no
 * IHAVE to or from the peer; below publish, nothing is published to it; below graylist, all its RPCs are ignored.
 */
export const SCORE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80
} satisfies Partial<PeerScoreThresholds>

/**
 * Topic score parameters (the rest are the library's defaults), so that a peer forwarding messages the validator
 * rejects is graylisted after three of them. Score on the topic = P1 + P2 + P4 (P3 and P3b are off; P6 colocation is
 * off in protocols/overlay; P7 only lowers it):
 *
 * - the most a peer can earn: P1 = 0.01 x 3,600 s in the mesh = 36, P2 = 0.5 x 100 first deliveries = 50; 86 in all.
 * - P4 = -20 x n^2, n the count of messages it forwarded that we rejected; n is multiplied by d = 0.5^(1/3600) =
 * 0.99981 every second (gossipsub neither decays nor forgets it while the peer is away, for `retainScore`, 1 h).
 * - after k rejected messages T seconds apart, n = 1 + x + ... + x^(k-1) with x = d^T. Back to back: one gives -20
 * (below gossip), two -80 (below publish; graylist needs below -80), three -180 (graylisted).
 * - T = 10 s: x = 0.998, n = 2.99 after three, P4 = -179: graylisted (-93) even with the 86 a peer can earn.
 * - T = 60 s: n = 2.97, P4 = -176: graylisted (-90) even with 86 earned.
 * - T = 10 min: x = 0.891, three give n = 2.69, P4 = -144 (graylisted with up to 64 earned), four n = 3.39, -230.
 * - a peer that earned nothing (a stranger that just subscribed) is graylisted at its third unless it waits over
 * 40 minutes between them (x < 0.618, so that n < 2).
 * - graylisted at n = 3, it stays so until n < 2 again, about 35 minutes later (its RPCs, and so further messages, are
 * not even read meanwhile).
 * - before (d = 0.9): one message every 10 s kept n under 1 / (1 - 0.9^10) = 1.54, P4 above -47: over the publish
 * threshold for ever.
 *
 * This is safe for honest members only because the validator rejects nothing an honest member publishes or forwards
 * (see `RoomTopic.validate`): a message an honest member may send that we still do not want must be Ignore, never
 * Reject, or one such message costs its forwarder for an hour.
 */
export const TOPIC_SCORE = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 3_600,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 100,
  // chat is sparse: do not punish mesh peers for having nothing to say
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.5 ** (1 / INVALID_MESSAGE_HALF_LIFE)
} satisfies Partial<TopicScoreParams>

/**
 * Score the room topic. The parameters stay after the room is left: gossipsub keeps per-topic counters for a
 * while after unsubscribing and reads these parameters to decay them.
 */
export function scoreTopic (pubsub: GossipSub, topic: string): void {
  const score = (pubsub as unknown as { score?: PeerScore }).score
  if (score != null) { score.params.topics[topic] = createTopicScoreParams(TOPIC_SCORE) }
}

/** Validates messages on one room's topic and hands what it opened to the message handler, so nothing is opened twice. */
export class RoomTopic {
  readonly topic: string
  private readonly keys: RoomKeys
  private readonly log: Logger
  /** Envelopes opened by the validator, for the message event that follows. */
  private readonly opened = new WeakMap<Uint8Array, OpenedEnvelope>()

  /** Whether an envelope that opened is taken (and passed on to the mesh) or quietly ignored; `via` forwarded it. */
  private readonly admit: (opened: OpenedEnvelope, via: PeerId) => boolean

  constructor (keys: RoomKeys, log: Logger, admit: (opened: OpenedEnvelope, via: PeerId) => boolean = () => true) {
    this.keys = keys
    this.topic = keys.topic
    this.log = log
    this.admit = admit
  }

  /**
   * The topic validator: reject (which scores the forwarder down, TOPIC_SCORE) a message that carries a gossipsub
   * author (SIGNATURE_POLICY: gossipsub rejects one already) or whose envelope does not open, decode and verify: what
   * no honest member ever publishes or forwards, since every member validates the same way before forwarding and the
   * checks need nothing but the room key. The envelope's signature is the one authentication of the message. Ignore
   * (neither deliver nor forward, no penalty: an honest member forwards what it took) one that `admit` does not take.
   * Duplicates never reach it (gossipsub drops them by message id).
   */
  readonly validate = async (peer: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    if (msg.type !== 'unsigned') { return TopicValidatorResult.Reject }
    try {
      const opened = await openEnvelope(this.keys, msg.data)
      if (!this.admit(opened, peer)) { return TopicValidatorResult.Ignore }
      // the 'message' event that follows carries the same bytes: do not decrypt and verify them twice
      this.opened.set(msg.data, opened)
      return TopicValidatorResult.Accept
    } catch (err: any) {
      this.log('rejected a message via %p - %e', peer, err)
      return TopicValidatorResult.Reject
    }
  }

  /** The envelope of a message on this topic (validated, or opened now); undefined for other topics. Throws as openEnvelope does. */
  async open (msg: Message): Promise<OpenedEnvelope | undefined> {
    if (msg.topic !== this.topic || msg.type !== 'unsigned') { return undefined }
    const validated = this.opened.get(msg.data)
    if (validated != null) {
      this.opened.delete(msg.data)
      return validated
    }
    return openEnvelope(this.keys, msg.data)
  }
}
