/**
 * Keep a node connected to its bootstrap relays: dial each, report the ones that cannot be reached, retry with
 * backoff, and redial when a connection drops. Never throws: an unreachable relay is a condition, not a crash.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

export class InvalidBootstrapAddressError extends Error {
  static readonly name = 'InvalidBootstrapAddressError'
  readonly name = 'InvalidBootstrapAddressError'
}

export interface BootstrapStatus {
  addr: string
  connected: boolean
  error?: string
}

export interface BootstrapOptions {
  signal: AbortSignal
  onStatus?(status: BootstrapStatus): void
  /** Deadline for one dial, in ms. @default 10_000 */
  dialTimeout?: number
  /** Longest pause between retries, in ms. @default 30_000 */
  maxBackoff?: number
}

/** Parse a bootstrap multiaddr, which must end in /p2p/<peerId>; throws one clear sentence otherwise. */
export function parseBootstrap (text: string): { addr: Multiaddr, peerId: PeerId } {
  let addr: Multiaddr
  try {
    addr = multiaddr(text)
  } catch (err: any) {
    throw new InvalidBootstrapAddressError(`bootstrap address '${text}' is not a multiaddr: ${err.message}`)
  }
  const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) throw new InvalidBootstrapAddressError(`bootstrap address '${text}' must end in /p2p/<peer id>`)
  try {
    return { addr, peerId: peerIdFromString(id) }
  } catch {
    throw new InvalidBootstrapAddressError(`bootstrap address '${text}' has an invalid peer id`)
  }
}

export function keepBootstrapped (node: Libp2p, addrs: string[], options: BootstrapOptions): void {
  const targets = addrs.map(parseBootstrap)
  const dialTimeout = options.dialTimeout ?? 10_000
  const maxBackoff = options.maxBackoff ?? 30_000
  for (const { addr, peerId } of targets) {
    void (async () => {
      let backoff = 1_000
      let reported: boolean | undefined
      while (!options.signal.aborted) {
        if (node.getConnections(peerId).length === 0) {
          try {
            await node.dial(addr, { signal: AbortSignal.any([options.signal, AbortSignal.timeout(dialTimeout)]) })
            backoff = 1_000
            if (reported !== true) options.onStatus?.({ addr: addr.toString(), connected: true })
            reported = true
          } catch (err: any) {
            if (options.signal.aborted) return
            options.onStatus?.({ addr: addr.toString(), connected: false, error: err.message ?? String(err) })
            reported = false
            await sleep(backoff, options.signal)
            backoff = Math.min(backoff * 2, maxBackoff)
            continue
          }
        }
        await sleep(1_000, options.signal)
      }
    })()
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}
