/** One request, one response per stream. */
export const TURN_PROTOCOL = '/freeflow/turn/1.0.0'

/** Both messages are small: a response with 16 URLs of 128 characters fits 4 KiB with room to spare. */
export const MAX_TURN_MESSAGE_SIZE = 4096

/** Most URLs a response may carry (the client drops a response with more). */
export const MAX_TURN_URLS = 16
