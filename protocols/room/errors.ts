/** The room's errors: small classes with a `name`, thrown or passed to `stream.abort(err)`. */

/** A peer is not in the room, or could not prove in the handshake that it holds the room key. */
export class NotAMemberError extends Error {
  static readonly name = 'NotAMemberError'
  readonly name = 'NotAMemberError'
}

/** A handshake frame or topic message that does not decode, breaks a limit, or is not valid; or an invalid `send`. */
export class InvalidMessageError extends Error {
  static readonly name = 'InvalidMessageError'
  readonly name = 'InvalidMessageError'
}

/** `send` or `setRecording` on a room that was left. */
export class RoomLeftError extends Error {
  static readonly name = 'RoomLeftError'
  readonly name = 'RoomLeftError'
}

/** The room service runs only beside gossipsub, registered as the `pubsub` service. */
export class MissingPubsubError extends Error {
  static readonly name = 'MissingPubsubError'
  readonly name = 'MissingPubsubError'
}

/** `send` faster than the room's chat rate (CHAT_BURST at once, then CHAT_RATE a second): the others would drop it. */
export class ChatRateError extends Error {
  static readonly name = 'ChatRateError'
  readonly name = 'ChatRateError'
}
