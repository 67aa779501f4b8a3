/**
 * The one abortable sleep and the one backoff that every retry loop in FreeFlow uses. A loop that retries owns an
 * AbortSignal (its service's shutdown, or its caller's): every pause ends the moment that signal aborts, so no timer
 * outlives the service that started it.
 */
import type { AbortOptions } from '@libp2p/interface'

/** Wait `ms`, or less when the signal aborts first. Never rejects: the caller checks `signal.aborted` after it. */
export async function sleep (ms: number, options: AbortOptions = {}): Promise<void> {
  const signal = options.signal
  if (signal?.aborted === true) { return }
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, Math.max(0, ms))
    signal?.addEventListener('abort', done, { once: true })
  })
}

export interface BackoffInit {
  /**
   * First pause, in ms.
   *
   * @default 500
   */
  initial?: number
  /**
   * Longest pause, in ms.
   *
   * @default 30_000
   */
  max?: number
  /**
   * Each failure multiplies the pause by this.
   *
   * @default 2
   */
  factor?: number
  /**
   * Each pause is drawn from [pause * (1 - jitter), pause], so that many peers that lost the same relay at the same
   * moment do not all come back at the same moment. @default 0.2
   */
  jitter?: number
  /**
   * Random numbers in [0, 1), for tests.
   *
   * @default Math.random
   */
  random?(): number
}

/** Capped, jittered exponential backoff. `next()` is the pause before the next attempt; `reset()` after a success. */
export class Backoff {
  private readonly initial: number
  private readonly max: number
  private readonly factor: number
  private readonly jitter: number
  private readonly random: () => number
  private current: number

  constructor (init: BackoffInit = {}) {
    this.initial = init.initial ?? 500
    this.max = init.max ?? 30_000
    this.factor = init.factor ?? 2
    this.jitter = Math.min(Math.max(init.jitter ?? 0.2, 0), 1)
    this.random = init.random ?? Math.random
    this.current = this.initial
  }

  /** The pause before the next attempt, in ms; grows for the one after. */
  next (): number {
    const base = Math.min(this.current, this.max)
    this.current = Math.min(this.current * this.factor, this.max)
    return Math.round(base * (1 - this.jitter * this.random()))
  }

  /** After a success: the next failure starts from the first pause again. */
  reset (): void {
    this.current = this.initial
  }

  /** Sleep for `next()`, ending early when the signal aborts. */
  async wait (options: AbortOptions = {}): Promise<void> {
    await sleep(this.next(), options)
  }
}
