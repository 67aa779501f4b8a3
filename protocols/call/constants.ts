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

/**
 * After we closed our end of a call stream (our bye written, or theirs read), how long the other side has to close
 * its end before the stream is cut, in ms. An honest peer closes it as soon as it read the bye or saw our end close;
 * one that keeps it open would otherwise hold the stream, half-open, for as long as the connection lives.
 */
export const STREAM_LINGER = 2_000

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

/**
 * m-lines in a remote description at most. A call has an audio and a video m-line per camera and one or two per
 * screen share, from each side; a stopped share leaves its m-line (media.ts gives each new share a transceiver of its
 * own and browsers recycle only stopped ones), so a long call with a dozen shares carries about 30. Each m-line costs
 * a transceiver on our side.
 */
export const MAX_M_LINES = 32

/**
 * Bytes in a remote description at most. Measured: a Chromium 156 offer with audio and two video m-lines (one with
 * three simulcast layers), candidates gathered, is 10.0 KiB, a video m-line about 4.2 KiB of it; MAX_M_LINES video
 * m-lines would be ~134 KiB. So an honest call reaches the m-line cap first.
 */
export const MAX_SDP_SIZE = 160 * 1024

/**
 * Remote ICE candidates applied per ICE generation (a remote description's ice-ufrag) of one session, distinct ones
 * counted, and `a=candidate` lines in one description: a host has a handful per interface, plus one server-reflexive
 * and a few relay candidates per STUN/TURN server. Each one applied is a path ICE sends checks to.
 */
export const MAX_REMOTE_CANDIDATES = 64

/** Characters in one candidate's line, mid or username fragment at most: a candidate line is ~100-200 characters. */
export const MAX_CANDIDATE_LENGTH = 1024

/**
 * Signals waiting to be processed in one session at most. A resync brings the labels, a description and up to
 * MAX_KEPT_CANDIDATES candidates at once, while applying a description takes tens of ms; a peer that sends faster
 * than its signals can be applied is cut off (its stream is reset), not buffered without end.
 */
export const MAX_QUEUED_SIGNALS = 128

/**
 * Remote descriptions (offers and answers) a peer may send at once, and how many more per second. Honest peaks: an
 * answer to our offer, an offer of its own, an ICE restart, and one of each sent again after a lost stream. A
 * description over the rate is dropped; an offer dropped so is sent again by its sender's stall look (STALL_RESYNC).
 */
export const DESCRIPTION_BURST = 8
export const DESCRIPTIONS_PER_SECOND = 1

/**
 * Signals waiting to be written to one participant at most. Over it (the other side does not read), the stream is
 * dropped and the queue emptied: the next stream starts with a resync, which says again all the other side needs.
 */
export const MAX_OUTBOUND_SIGNALS = 256

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
