/** The relay refused: too many requests from this PeerId or address. `retryAfter` is in seconds. */
export class RateLimitedError extends Error {
  static readonly name = 'RateLimitedError'
  readonly name = 'RateLimitedError'
  constructor (message: string, readonly retryAfter: number) {
    super(message)
  }
}

/** The relay's TURN server is down right now. `retryAfter` is in seconds. */
export class TurnUnavailableError extends Error {
  static readonly name = 'TurnUnavailableError'
  readonly name = 'TurnUnavailableError'
  constructor (message: string, readonly retryAfter: number) {
    super(message)
  }
}

/** A response that breaks the protocol's rules (no URLs, a URL that is not stun:/turn:/turns:, too many, no credential). */
export class InvalidTurnResponseError extends Error {
  static readonly name = 'InvalidTurnResponseError'
  readonly name = 'InvalidTurnResponseError'
}

/** Credentials are asked only over an open, direct connection to the relay. */
export class NotConnectedError extends Error {
  static readonly name = 'NotConnectedError'
  readonly name = 'NotConnectedError'
}
