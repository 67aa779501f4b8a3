/**
 * The room service: join a room by its key, find the other members, prove membership to each, and carry
 * presence and end-to-end sealed chat on the room's gossipsub topic. One implementation for Node and browser.
 */
import { RoomService } from './service.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger, ContentRouting, Libp2pEvents, PeerId, PeerStore, PrivateKey, TypedEventTarget, AbortOptions } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'

export { ROOM_PROTOCOL, DEFAULTS, MAX_ENVELOPE_BYTES } from './constants.ts'
export { ChatRateError, InvalidMessageError, MissingPubsubError, NotAMemberError, RoomLeftError } from './errors.ts'

/** Options of the room service; every default is in `DEFAULTS` (constants.ts). */
export interface RoomServiceInit {
  /**
   * Deadline for one membership handshake, either side, in ms.
   *
   * @default 10_000
   */
  handshakeTimeout?: number
  /**
   * Largest handshake frame accepted, in bytes (a Welcome with 200 history entries fits).
   *
   * @default 1_048_576
   */
  maxMessageSize?: number
  /**
   * How often a member says it is still here, in ms.
   *
   * @default 5_000
   */
  heartbeatInterval?: number
  /**
   * A member not heard from for this long is reported gone, in ms (issue: within 15 s).
   *
   * @default 12_000
   */
  leaveTimeout?: number
  /**
   * After a connection to a member closes, it is reported gone unless heard from within this, in ms; longer than
   * the heartbeat interval, so a member still reachable through others is not dropped.
   *
   * @default 7_000
   */
  disconnectGrace?: number
  /**
   * Longest pause between two DHT lookups for members, in ms.
   *
   * @default 15_000
   */
  maxLookupInterval?: number
  /**
   * Chat messages kept for late joiners.
   *
   * @default 200
   */
  historySize?: number
  /**
   * Longest chat message, in characters.
   *
   * @default 4_000
   */
  maxTextLength?: number
  /**
   * Longest display name, in characters.
   *
   * @default 64
   */
  maxNameLength?: number
  /**
   * Most inbound handshake streams at once per connection.
   *
   * @default 4
   */
  maxInboundStreams?: number
  /**
   * A chat message received on the topic whose author timestamp is older than this, in ms, is stale: a replay or a
   * message that took far too long, not shown. Chat ids are remembered at least this long (bounded by MAX_SEEN), so a
   * replay inside the window is a duplicate. Longer than gossip and clock differences; short enough that a captured
   * message cannot be passed off as live later.
   *
   * @default 300_000
   */
  chatMaxAge?: number
}

export interface RoomServiceComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  peerStore: PeerStore
  contentRouting: ContentRouting
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  /** The gossipsub service, registered under the name `pubsub`. */
  pubsub?: GossipSub
}

/** What a member is in the room: everyone sees it. A recorder is a participant that only records (the CLI recorder). */
export type MemberRole = 'participant' | 'recorder'

/** A recording under way, as its author announced it. */
export interface RecordingState {
  /** The author's clock when recording started, ms since the epoch. */
  since: number
}

/**
 * Options of `join`. Its signal bounds the join itself: when it aborts before `join` resolves, the room is left
 * again (nothing stays subscribed, registered or running) and `join` rejects with the signal's reason.
 */
export interface JoinOptions extends AbortOptions {
  /** Display name shown to the others. */
  name: string
  /** @default 'participant' */
  role?: MemberRole
}

export interface MemberInfo {
  peerId: PeerId
  name: string
  role: MemberRole
  /** Set while this member records the room. */
  recording?: RecordingState
}

export interface ChatMessage {
  /** Hex id of the message, unique in the room. */
  id: string
  from: PeerId
  name: string
  text: string
  /** Author's clock, ms since the epoch. */
  ts: number
  /** True when it was handed over by a member as history, not received live. */
  history: boolean
}

/** Chat messages received on the topic and not shown, by reason, since joining. */
export interface ChatDropped {
  /** Over the author's rate (CHAT_BURST + CHAT_RECEIVE_SLACK at once, then CHAT_RATE a second). */
  rate: number
  /** Stamped older than `chatMaxAge` or further ahead than CHAT_MAX_AHEAD: a replay or a broken clock. */
  stale: number
  /** Seen already (a replay inside the freshness window, or a message that also came in a Welcome). */
  duplicate: number
}

export interface RoomEvents {
  'peer:join': CustomEvent<MemberInfo>
  'peer:leave': CustomEvent<MemberInfo & { reason: 'left' | 'timeout' }>
  chat: CustomEvent<ChatMessage>
  /** A present member's role or recording state changed (it started or stopped recording). */
  'peer:update': CustomEvent<MemberInfo>
}

export interface Room extends TypedEventTarget<RoomEvents> {
  /** Eight hex characters that name the room without revealing its key. */
  readonly shortName: string
  /** 16 bytes that name the room on our protocols (HKDF of the key; reveals nothing of it). */
  readonly roomId: Uint8Array
  /** The members currently present, not counting this node. */
  members(): MemberInfo[]
  /** True if the peer proved it holds the room key (handshake) and is present. */
  isMember(peerId: PeerId): boolean
  /** This node's role, as the others see it. */
  readonly role: MemberRole
  /** This node's recording state, as the others see it; undefined when not recording. */
  readonly recording: RecordingState | undefined
  /**
   * Tell every member, at once and on the sealed topic, that this node started or stopped recording. Members who
   * join later learn it in the handshake; heartbeats repeat it.
   */
  setRecording(active: boolean, options?: AbortOptions): Promise<void>
  /** Chat messages received on the topic and not shown, by reason, since joining. */
  readonly chatDropped: Readonly<ChatDropped>
  /**
   * Seal and publish a chat message; resolves with it as the others will see it. Throws ChatRateError when sent
   * faster than the others take (CHAT_BURST at once, then CHAT_RATE a second).
   */
  send(text: string, options?: AbortOptions): Promise<ChatMessage>
  /**
   * Say goodbye on the topic and stop taking part. The room is always left (every loop, timer, subscription and
   * handler ends); the signal bounds only the goodbye: if it aborts first, `leave` rejects with its reason.
   */
  leave(options?: AbortOptions): Promise<void>
}

export interface RoomServiceApi {
  /**
   * Join a room: resolves once the room is subscribed, has announced this node and looks for members. Throws
   * InvalidRoomKeyError for a malformed key, MissingPubsubError without gossipsub. Joining a room this node is in
   * gives the same room.
   */
  join(roomKey: string, options: JoinOptions): Promise<Room>
  /** Rooms this node is in. */
  rooms(): Room[]
}

export function roomService (init: RoomServiceInit = {}): (components: RoomServiceComponents) => RoomServiceApi {
  return (components) => new RoomService(components, init)
}
