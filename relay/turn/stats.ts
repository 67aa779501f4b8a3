/**
 * What coturn tells us, counted from its log lines (Debian's coturn 4.6.1 has no Prometheus exporter: it is built
 * without libprom). With `verbose`, coturn 4.6.1 writes, per allocation:
 *
 * - session 001000000000000002: new, realm=<freeflow>, username=<1796095190:3f2a...>, lifetime=600
 * - session 001000000000000002: usage: realm=<freeflow>, username=<...>, rp=10, rb=5584, sp=10, sb=5860
 * - session 001000000000000002: peer usage: realm=<freeflow>, username=<...>, rp=5, rb=5050, sp=5, sb=5025
 * - session 001000000000000002: delete: realm=<freeflow>, username=<...>
 *
 * and for a refused request "session ...: realm <freeflow> user <name>: incoming packet message processed, error
 * 401: Unauthorized". The usage lines count since the previous usage line of the session (coturn resets its
 * counters after each report, every 4096 packets and when the session ends), so their sum is the total.
 */

const NEW = /session (\d+): new, realm=<[^>]*>, username=<([^>]*)>/
const DELETE = /session (\d+): delete: realm=/
const PEER_USAGE = /session \d+: peer usage: realm=<[^>]*>, username=<[^>]*>, rp=\d+, rb=(\d+), sp=\d+, sb=(\d+)/
const REFUSED = /session \d+: realm <[^>]*> user <([^>]+)>: incoming packet message processed, error (\d+)/

export class TurnStats {
  /** Allocations alive now: coturn's session id -> username. */
  readonly allocations = new Map<string, string>()
  /** Bytes received from peers on relayed addresses (and passed to clients). */
  relayedFromPeers = 0
  /** Bytes sent to peers from relayed addresses. */
  relayedToPeers = 0
  /** Allocations made since the relay started. */
  allocationsTotal = 0
  /** Times coturn went down after it had started (or failed to start) and was started again. */
  restarts = 0
  /** Authenticated requests refused, by STUN error code (401 a wrong or expired credential, 486 a quota). */
  readonly refused = new Map<number, number>()

  /** Read one line of coturn's output. */
  feed (line: string): void {
    let m = NEW.exec(line)
    if (m != null) {
      this.allocations.set(m[1], m[2])
      this.allocationsTotal++
      return
    }
    m = PEER_USAGE.exec(line)
    if (m != null) {
      this.relayedFromPeers += Number(m[1])
      this.relayedToPeers += Number(m[2])
      return
    }
    m = DELETE.exec(line)
    if (m != null) {
      this.allocations.delete(m[1])
      return
    }
    m = REFUSED.exec(line)
    if (m != null) {
      const code = Number(m[2])
      this.refused.set(code, (this.refused.get(code) ?? 0) + 1)
    }
  }

  /** coturn stopped: its allocations are gone with it. */
  reset (): void {
    this.allocations.clear()
  }
}
