/**
 * Dials that cannot hang. @libp2p/webrtc 6.0.33 can wait for ever for its `init` data channel to open (the
 * answerer may close it first; patched in patches/, see docs/architecture.md); any other transport can stall on
 * a dead path. Every attempt gets its own deadline, and a failed attempt is retried.
 */
import { WEBRTC_DIAL_TIMEOUT } from './overlay.js'

export class DialTimeoutError extends Error {
  static readonly name = 'DialTimeoutError'
  readonly name = 'DialTimeoutError'
}

export interface RetryOptions {
  /** Attempts in all. @default 3 */
  attempts?: number
  /** Deadline of one attempt, in ms. @default WEBRTC_DIAL_TIMEOUT (10 s) */
  timeout?: number
  /** Pause before the second attempt, doubled after each failure, in ms. @default 250 */
  backoff?: number
  signal?: AbortSignal
  onRetry?(attempt: number, err: Error): void
}

export async function withRetry<T> (attempt: (signal: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3
  const timeout = options.timeout ?? WEBRTC_DIAL_TIMEOUT
  let backoff = options.backoff ?? 250
  let last: Error | undefined
  for (let i = 1; i <= attempts; i++) {
    options.signal?.throwIfAborted()
    const deadline = AbortSignal.timeout(timeout)
    const signal = options.signal != null ? AbortSignal.any([options.signal, deadline]) : deadline
    try {
      // the race also guards against an attempt that ignores its signal
      return await Promise.race([
        attempt(signal),
        new Promise<never>((resolve, reject) => {
          signal.addEventListener('abort', () => {
            reject(deadline.aborted ? new DialTimeoutError(`no answer within ${timeout} ms`) : signal.reason)
          }, { once: true })
        })
      ])
    } catch (err: any) {
      options.signal?.throwIfAborted()
      last = err
      if (i < attempts) {
        options.onRetry?.(i, err)
        await new Promise(resolve => setTimeout(resolve, backoff))
        backoff *= 2
      }
    }
  }
  throw last ?? new Error('no attempt was made')
}
