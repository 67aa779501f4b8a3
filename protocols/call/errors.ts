/** The call protocol's errors: each ends a call stream (`stream.abort(err)`) or a caller's wait. */

/** An inbound call stream names a room this node has no call in (it has not joined the call yet, or left it). */
export class NoCallError extends Error {
  static readonly name = 'NoCallError'
  readonly name = 'NoCallError'
}

/** The call was hung up: nothing more happens in it. */
export class CallEndedError extends Error {
  static readonly name = 'CallEndedError'
  readonly name = 'CallEndedError'
}

/** Bytes on a call stream that are not a valid CallHello or Signal. */
export class InvalidCallMessageError extends Error {
  static readonly name = 'InvalidCallMessageError'
  readonly name = 'InvalidCallMessageError'
}

/** A participant sends signals faster than they can be applied: its stream is reset rather than buffered. */
export class SignallingOverloadError extends Error {
  static readonly name = 'SignallingOverloadError'
  readonly name = 'SignallingOverloadError'
}
