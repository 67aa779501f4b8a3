/** The room protocol's fixed numbers, each with its reason. Options a node may change are in `DEFAULTS`. */
import type { RoomServiceInit } from './index.ts'

/** The membership handshake and room-state exchange. */
export const ROOM_PROTOCOL = '/freeflow/room/1.0.0'

/** Defaults of `RoomServiceInit` (documented there, and in docs/protocols/room.md section 1.1). */
export const DEFAULTS = {
  handshakeTimeout: 10_000,
  maxMessageSize: 1024 * 1024,
  heartbeatInterval: 5_000,
  leaveTimeout: 12_000,
  disconnectGrace: 7_000,
  maxLookupInterval: 15_000,
  historySize: 200,
  maxTextLength: 4_000,
  maxNameLength: 64,
  maxInboundStreams: 4,
  chatMaxAge: 5 * 60_000
} satisfies Required<RoomServiceInit>

/** A room's options with every default filled in. */
export type RoomConfig = Required<RoomServiceInit>

/**
 * Largest handshake frame read before the other side has proved it holds the room key, in bytes: Hello, Challenge and
 * Proof are under 100 bytes each, so anyone who can open a stream costs a member at most this much per frame. Only the
 * Welcome, read after the proof, may be as large as `maxMessageSize`.
 */
export const MAX_PRE_PROOF_MESSAGE = 1024
/** Bytes of each handshake nonce: 256 random bits never repeat, so a proof never fits another handshake. */
export const HANDSHAKE_NONCE_BYTES = 32
/** Bytes of a chat message id: 128 random bits are unique in a room without coordination. */
export const CHAT_ID_BYTES = 16
/** Addresses of one member we publish, pass on or take, at most (a node has a handful; more is noise or abuse). */
export const MAX_ADDRS = 16
/** Addresses in one decoded Presence, at most: a Payload with more does not decode (room for a node with many). */
export const MAX_PRESENCE_ADDRS = 32
/** Members listed in one Welcome, at most (sent and accepted): a bound on what one handshake makes us dial. */
export const MAX_MEMBERS = 256
/** Peers the member state machine keeps (present ones always): absent ones beyond this are forgotten, oldest first. */
export const MAX_STATES = 2 * MAX_MEMBERS
/** Dials at once to authors of presence a member forwarded that never completed a handshake (section 6). */
export const MAX_UNPROVEN_DIALS = 4
/** Such an author is dialled again at most this often, in ms. */
export const UNPROVEN_RETRY = 60_000
/**
 * Chat ids remembered for exactly-once delivery and against replays: far more than gossip or a Welcome can bring back
 * (13 authors at the full CHAT_RATE for a whole window of chatMaxAge + CHAT_MAX_AHEAD). Forgetting an id still inside its window moves
 * the replay floor (history.ts) to its timestamp, so a forgotten id cannot come back as live.
 */
export const MAX_SEEN = 10_000
/**
 * Chat lines one author may send at once (its token bucket's size). A pasted handful of lines or fast typing fits; a
 * flood does not push the room's 200 lines of history out at once: at most this many, then CHAT_RATE a second.
 */
export const CHAT_BURST = 10
/**
 * Chat lines one author may send per second, sustained (the bucket's refill): faster than anyone types or reads, and
 * slow enough that flushing the 200 lines of history takes a flooder more than a minute and a half.
 */
export const CHAT_RATE = 2
/**
 * Extra lines a receiver lets through beyond CHAT_BURST: messages sent at exactly the limit can arrive bunched after
 * gossip delays (2 s of jitter at CHAT_RATE), and an honest sender at its limit must never lose a line.
 */
export const CHAT_RECEIVE_SLACK = 4
/** Authors whose token buckets are kept at once: full buckets are dropped first; beyond this the least recently heard. */
export const MAX_CHAT_AUTHORS = 1_024
/**
 * A chat message stamped further ahead of this node's clock than this, in ms, is not live: clocks of honest members
 * differ by seconds, and a message from the future would outlive the replay window (it stays fresh longer).
 */
export const CHAT_MAX_AHEAD = 60_000
/** History handed over in one Welcome, in bytes at most: the newest entries that fit under the 1 MiB frame limit. */
export const MAX_HISTORY_BYTES = 768 * 1024
/** Sealed envelopes larger than this are rejected before opening (a 4,000-character message is about 16 KiB). */
export const MAX_ENVELOPE_BYTES = 64 * 1024
/** Presence older than this is a replay, not news, in ms (generous: clocks differ; the per-author order is the real guard). */
export const MAX_PRESENCE_AGE = 10 * 60_000
/** How often member timeouts are checked, in ms: a timeout is reported at most this late. */
export const SWEEP_INTERVAL = 1_000
/** Deadline for reaching a member we were told about and running the initiator's handshake, in ms. */
export const DIAL_TIMEOUT = 15_000
/** Pause before redialling a member whose connection closed, in ms: lets libp2p settle which connections remain. */
export const REDIAL_DELAY = 500
/** Deadline for announcing this node on the DHT, in ms: a provide walks the DHT and may take a while. */
export const PROVIDE_TIMEOUT = 30_000
/** Deadline for one DHT lookup of members, in ms: the loop asks again soon anyway. */
export const FIND_PROVIDERS_TIMEOUT = 10_000
/** First pause between DHT lookups, in ms: the first lookups often run before the DHT has anyone to ask. */
export const FIRST_LOOKUP_PAUSE = 250
/** Multicodec of a raw block: a rendezvous CID looks like any other content on the DHT. */
export const RAW_CODEC = 0x55
/** Multicodec of sha2-256, the multihash of a rendezvous CID. */
export const SHA2_256 = 0x12
