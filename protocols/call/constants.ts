/** The call protocol's fixed values, each with the reason it has that value. */

/** Our signalling protocol: one stream each way between two members of a room. */
export const CALL_PROTOCOL = '/freeflow/call/1.0.0'

/** Largest signalling message, in bytes: an SDP with several m-lines and its candidates is a few KiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024

/**
 * Largest CallHello read, in bytes: it is read before the sender is known to be a member of the room (a 16-byte room
 * id is about 20 bytes on the wire), so a stranger costs at most this much. Signals, read only once the sender is a
 * verified member, may be as large as `maxMessageSize`.
 */
export const MAX_HELLO_SIZE = 1024

/** Deadline for opening a signalling stream and for the first message on one, in ms. */
export const DEFAULT_OPEN_TIMEOUT = 10_000

/**
 * How long an inbound call stream waits for its sender to become a verified member here, in ms: as long as the room
 * handshake may take (its own deadline is 10 s), so that a stream is refused only when the handshake failed.
 */
export const DEFAULT_MEMBER_WAIT = 12_000

/** How often a waiting inbound stream looks again whether the room handshake with its sender has finished, in ms. */
export const MEMBER_POLL = 100

/** Inbound call streams at once per connection: one per room the two share is all a well-behaved peer opens. */
export const MAX_INBOUND_STREAMS = 4

/** A Signal's track labels at most: a participant publishes a camera stream and a screen stream. */
export const MAX_TRACK_LABELS = 8

/** First pause before a lost signalling stream is opened again, in ms; a refused stream is reopened soon. */
export const REOPEN_INITIAL_BACKOFF = 250

/** Longest pause between attempts to open a lost signalling stream, in ms. */
export const REOPEN_MAX_BACKOFF = 10_000

/** Bitrate video starts at, kbit/s: browsers start near 300 and take seconds to climb; 640x480 needs ~1 Mbit/s. */
export const DEFAULT_START_BITRATE = 1_500

/**
 * After ICE reports 'disconnected' for this long, restart it, in ms (the polite side waits twice as long). ICE says
 * 'disconnected' only after seconds without an answer (Chromium: about 5 s), and a restart keeps the path in use
 * until a new one is found, so a path that heals by itself loses nothing to an early restart.
 */
export const DISCONNECTED_RESTART = 1_500

/** ICE restarts tried in a row before a participant is reported unreachable. */
export const MAX_RESTARTS = 3

/**
 * While a call has never come up, its negotiation is looked at this often, in ms: a pending offer is sent again (the
 * other side answers a repeated offer with its answer), and a negotiation that is done but found no path restarts ICE.
 */
export const STALL_RESYNC = 8_000

/**
 * Stall looks with a finished negotiation and no ICE checking before the impolite side restarts ICE (the polite side
 * waits one look more); the looks before say our candidates again.
 */
export const STALLS_BEFORE_RESTART = 2

/** Local ICE candidates kept to send again after a lost stream: a host has a handful per ICE generation. */
export const MAX_KEPT_CANDIDATES = 32

/** Remote descriptions remembered to recognise one that arrives twice (a resync after a lost stream). */
export const MAX_SEEN_DESCRIPTIONS = 32

/**
 * How long a new camera sender keeps its resolution before frame rate may give way, in ms. An encoder that starts
 * under 'balanced' often picks 360p and needs ~4 s to climb (bench:call: 18 of 30 joins); held at full resolution
 * it starts there. Afterwards 'balanced' lets a busy CPU cost resolution before smoothness.
 */
export const HOLD_RESOLUTION_MS = 6_000

/** A room id on the wire: 16 bytes of HKDF output (protocols/room-key). */
export const ROOM_ID_LENGTH = 16
/**
 * How long the polite side of a new call waits for the other side's offer before it offers what it sends itself, in
 * ms. Both sides start sending at once; if both offered, the polite side's offer would be rolled back, and a browser
 * mishandles what it rolled back (Chromium: a received track left muted; a next offer refused for a header extension
 * id collision). Waiting, the polite side's answer carries its media on the offered m-lines. The other side offers at
 * once whenever it sends anything; this wait only delays a call in which it sends nothing.
 */
export const POLITE_OFFER_WAIT = 1_000
