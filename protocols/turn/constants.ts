/** One request, one response per stream. */
export const TURN_PROTOCOL = '/freeflow/turn/1.0.0'

/**
 * Largest TurnRequest a relay reads, in bytes: any connected peer may ask, and the request is empty (an unknown field
 * or two from a newer client fits).
 */
export const MAX_TURN_REQUEST_SIZE = 1024

/** Largest TurnResponse a peer reads, in bytes: a response with 16 URLs of 128 characters fits 4 KiB with room to spare. */
export const MAX_TURN_RESPONSE_SIZE = 4096

/** Most URLs a response may carry (the client drops a response with more). */
export const MAX_TURN_URLS = 16
