/**
 * Chat rate limits (docs/protocols/room.md section 4.2): a token bucket per author. Each bucket holds up to `burst`
 * tokens and gains `rate` a second; a message takes one, and a message when none is left is not shown. Buckets are
 * kept for at most `maxAuthors` authors: a bucket that has filled up again is the same as none and goes first.
 */
import type { PeerId } from '@libp2p/interface'

export interface ChatRateInit {
  /** Tokens a bucket holds: messages at once. */
  burst: number
  /** Tokens gained a second: messages a second, sustained. */
  rate: number
  /** Buckets kept at once. */
  maxAuthors: number
  /**
   * The clock, in ms.
   *
   * @default Date.now
   */
  now?(): number
}

interface Bucket {
  tokens: number
  at: number
}

export class ChatRate {
  private readonly burst: number
  private readonly rate: number
  private readonly maxAuthors: number
  private readonly now: () => number
  /** Least recently used first. */
  private readonly buckets = new Map<string, Bucket>()

  constructor (init: ChatRateInit) {
    this.burst = init.burst
    this.rate = init.rate
    this.maxAuthors = init.maxAuthors
    this.now = init.now ?? Date.now
  }

  /** Take a token of `author`'s bucket: false when it is empty (the message is over the limit). */
  take (author: PeerId | string): boolean {
    const key = author.toString()
    const now = this.now()
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now }
    this.buckets.delete(key)
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.rate / 1_000)
    bucket.at = now
    const ok = bucket.tokens >= 1
    if (ok) { bucket.tokens -= 1 }
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.maxAuthors) { this.prune(now) }
    return ok
  }

  /** Authors with a bucket (for tests and the bound). */
  get size (): number {
    return this.buckets.size
  }

  private prune (now: number): void {
    const full = this.burst * 1_000 / this.rate
    for (const [key, b] of this.buckets) {
      if (now - b.at >= full) { this.buckets.delete(key) }
    }
    // still too many: the least recently heard go (they start again with a full bucket)
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxAuthors) { break }
      this.buckets.delete(key)
    }
  }
}
