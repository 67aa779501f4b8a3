/**
 * Dials that cannot hang. `@libp2p/webrtc` 6.0.33 can wait for ever for its `init` data channel to open (the
 * answerer may close it first; patched in patches/, see docs/architecture.md); any other transport can stall on
 * a dead path. Every attempt gets its own deadline, and a failed attempt is retried after an abortable pause.
 */
import { raceSignal } from '../util/abort.ts'
import { Backoff } from '../util/backoff.ts'
import type { AbortOptions } from '@libp2p/interface'

/** How long one WebRTC dial may take before it is abandoned (see the init-channel race in docs/architecture.md). */
export const WEBRTC_DIAL_TIMEOUT = 10_000

export class DialTimeoutError extends Error {
  static readonly name = 'DialTimeoutError'
  readonly name = 'DialTimeoutError'
}

export interface RetryOptions extends AbortOptions {
  /**
   * Attempts in all.
   *
   * @default 3
   */
  attempts?: number
  /**
   * Deadline of one attempt, in ms.
   *
   * @default WEBRTC_DIAL_TIMEOUT (10 s)
   */
  timeout?: number
  /**
   * Pause before the second attempt, doubled (with up to 20% jitter off) after each failure, in ms.
   *
   * @default 250
   */
  backoff?: number
  onRetry?(attempt: number, err: Error): void
}

/**
 * Run `attempt` until it succeeds, at most `attempts` times. Each attempt gets a signal that aborts at its deadline
 * (or when `options.signal` does), and an attempt that ignores its signal is abandoned at the deadline all the same
 * (DialTimeoutError). When `options.signal` aborts, during an attempt or a pause, this rejects with its reason at once.
 */
export async function withRetry<T> (attempt: (signal: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3
  const timeout = options.timeout ?? WEBRTC_DIAL_TIMEOUT
  const backoff = new Backoff({ initial: options.backoff ?? 250, max: Number.MAX_SAFE_INTEGER })
  let last: Error | undefined
  for (let i = 1; i <= attempts; i++) {
    options.signal?.throwIfAborted()
    try {
      return await once(attempt, timeout, options.signal)
    } catch (err: any) {
      options.signal?.throwIfAborted()
      last = err
      if (i < attempts) {
        options.onRetry?.(i, err)
        await backoff.wait(options)
      }
    }
  }
  options.signal?.throwIfAborted()
  throw last ?? new Error('no attempt was made')
}

async function once<T> (attempt: (signal: AbortSignal) => Promise<T>, timeout: number, outer?: AbortSignal): Promise<T> {
  const deadline = AbortSignal.timeout(timeout)
  const signal = outer != null ? AbortSignal.any([outer, deadline]) : deadline
  try {
    // the race also guards against an attempt that ignores its signal
    return await raceSignal(attempt(signal), signal)
  } catch (err) {
    if (deadline.aborted && outer?.aborted !== true) { throw new DialTimeoutError(`no answer within ${timeout} ms`) }
    throw err
  }
}
