/**
 * Requests per minute, per key (a PeerId, an address): a fixed window per key, and a bound on how many keys are
 * tracked, so that a flood of fresh PeerIds costs the relay a bounded amount of memory. No timer: expired windows
 * are swept when the table is full.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

export class WindowLimiter {
  private readonly windows = new Map<string, { start: number, count: number }>()

  constructor (private readonly limit: number, private readonly windowMs: number, private readonly maxKeys: number, private readonly now: () => number) {}

  /** Count one request for `key`: 0 when it is allowed, otherwise the ms until its window ends. */
  take (key: string): number {
    const now = this.now()
    let w = this.windows.get(key)
    if (w != null && now - w.start >= this.windowMs) {
      this.windows.delete(key)
      w = undefined
    }
    if (w == null) {
      if (this.windows.size >= this.maxKeys) { this.sweep(now) }
      if (this.windows.size >= this.maxKeys) { return this.untilFirstEnds(now) }
      w = { start: now, count: 0 }
      this.windows.set(key, w)
    }
    if (w.count >= this.limit) { return w.start + this.windowMs - now }
    w.count++
    return 0
  }

  get size (): number {
    return this.windows.size
  }

  private sweep (now: number): void {
    for (const [key, w] of this.windows) {
      if (now - w.start >= this.windowMs) { this.windows.delete(key) }
    }
  }

  /** Entries are in insertion order: the first one ends first. */
  private untilFirstEnds (now: number): number {
    const first = this.windows.values().next().value
    return first == null ? this.windowMs : Math.max(1, first.start + this.windowMs - now)
  }
}

/**
 * The rate-limit key for a connection's remote address: the IPv4 address, or the IPv6 /64 (one host usually holds
 * a whole /64); undefined when the address has no IP (a relayed or browser connection).
 */
export function addressKey (addr: Multiaddr): string | undefined {
  for (const c of addr.getComponents()) {
    if (c.name === 'ip4' && c.value != null) { return c.value }
    if (c.name === 'ip6' && c.value != null) { return `${expandIpv6(c.value).slice(0, 4).join(':')}::/64` }
  }
  return undefined
}

/** The eight 16-bit groups of an IPv6 address, in hex without leading zeros. */
export function expandIpv6 (text: string): string[] {
  let s = text.toLowerCase().replace(/%.*$/, '')
  // an embedded IPv4 address (::ffff:192.0.2.1) becomes two groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s)
  if (v4 != null) {
    const [a, b, c, d] = v4.slice(1).map(Number)
    s = s.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = tail == null || tail === '' ? [] : tail.split(':')
  const groups = tail == null ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]
  return groups.map(g => parseInt(g === '' ? '0' : g, 16).toString(16))
}
