/** A token bucket: `burst` at once, refilled at `perSecond`; a take that finds it empty is refused. */
export class TokenBucket {
  private readonly burst: number
  private readonly perSecond: number
  private tokens: number
  private at: number

  constructor (burst: number, perSecond: number) {
    this.burst = burst
    this.perSecond = perSecond
    this.tokens = burst
    this.at = Date.now()
  }

  take (): boolean {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) / 1_000 * this.perSecond)
    this.at = now
    if (this.tokens < 1) { return false }
    this.tokens--
    return true
  }
}
