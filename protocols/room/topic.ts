/**
 * The room's gossipsub topic (docs/protocols/room.md section 3): the topic validator that accepts only envelopes
 * that open under the room key and whose author is the gossipsub signer, and the topic's score parameters, which
 * push a peer that forwards such garbage out of the mesh.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { openEnvelope } from './envelope.ts'
import { InvalidMessageError } from './errors.ts'
import type { OpenedEnvelope } from './envelope.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerScore, TopicScoreParams } from '@libp2p/gossipsub/score'
import type { Logger, PeerId } from '@libp2p/interface'

/**
 * Topic score parameters (the rest are the library's defaults). The thresholds they are set against are in
 * protocols/overlay: one message that does not open costs 20 * 1^2, two put a peer below the publish threshold.
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
  invalidMessageDeliveriesDecay: 0.9
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
   * The topic validator: reject a message that is not signed, whose envelope does not open or whose author is not
   * its signer; ignore (neither deliver nor forward, no penalty: an honest member forwards what it took) one that
   * `admit` does not take.
   */
  readonly validate = async (peer: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    if (msg.type !== 'signed') { return TopicValidatorResult.Reject }
    try {
      const opened = await openEnvelope(this.keys, msg.data)
      if (!opened.from.equals(msg.from)) { throw new InvalidMessageError('author is not the gossipsub signer') }
      if (!this.admit(opened, peer)) { return TopicValidatorResult.Ignore }
      // the 'message' event that follows carries the same bytes: do not decrypt and verify them twice
      this.opened.set(msg.data, opened)
      return TopicValidatorResult.Accept
    } catch (err: any) {
      this.log('rejected a message from %p via %p - %e', msg.from, peer, err)
      return TopicValidatorResult.Reject
    }
  }

  /** The envelope of a message on this topic (validated, or opened now); undefined for other topics. Throws as openEnvelope does. */
  async open (msg: Message): Promise<OpenedEnvelope | undefined> {
    if (msg.topic !== this.topic || msg.type !== 'signed') { return undefined }
    const validated = this.opened.get(msg.data)
    if (validated != null) {
      this.opened.delete(msg.data)
      return validated
    }
    const opened = await openEnvelope(this.keys, msg.data)
    if (!opened.from.equals(msg.from)) { throw new InvalidMessageError('author is not the gossipsub signer') }
    return opened
  }
}
