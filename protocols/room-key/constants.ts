/** The room key format's fixed numbers and the HKDF labels, each with its reason. */

/** Version of the key format and of every derivation below. */
export const ROOM_KEY_VERSION = 1
/** Bytes of secret in a room key: 128 bits is beyond brute force for a link that lives for a meeting. */
export const ROOM_SECRET_BYTES = 16
/** Checksum bytes: a typo (any change of the key) slips through with probability 2^-24, about 1 in 16 million. */
export const CHECKSUM_BYTES = 3
/** Length of a room key in characters: (1 + 16 + 3) bytes * 8 / 5. */
export const ROOM_KEY_LENGTH = 32
/** Rendezvous records rotate every hour; a joiner looks up the current and the previous epoch. */
export const EPOCH_MS = 60 * 60 * 1000
/** Bytes of the random nonce that AES-GCM needs for every sealed message (96 bits, as GCM is designed for). */
export const NONCE_BYTES = 12

/** The HKDF labels, one per use; changing one is a protocol version change. */
export const LABELS = {
  roomId: 'freeflow/v1/room-id',
  topic: 'freeflow/v1/topic',
  chat: 'freeflow/v1/chat',
  membership: 'freeflow/v1/membership',
  rendezvous: (epoch: number) => `freeflow/v1/rendezvous/${epoch}`
} as const
