/**
 * Bootstrap: keep a node connected to the relays it starts from. Each relay is dialled when the node starts, redialled
 * at once when its connection drops, and retried with capped, jittered backoff while it cannot be reached. A relay that
 * cannot be reached is a condition people see (a `status` event), never a crash. Stopped with the node.
 */
import { BootstrapService } from './service.ts'
import type { ComponentLogger, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export { InvalidBootstrapAddressError } from './errors.ts'
export { parseBootstrap } from './parse.ts'

export interface BootstrapInit {
  /** Relays to stay connected to: multiaddrs that end in /p2p/<peer id>. A malformed one throws InvalidBootstrapAddressError. */
  list: string[]
  /**
   * Deadline for one dial, in ms.
   *
   * @default 10_000
   */
  dialTimeout?: number
  /**
   * First pause after a failed dial, in ms; doubled (with jitter) after each further failure.
   *
   * @default 1_000
   */
  initialBackoff?: number
  /**
   * Longest pause between retries, in ms.
   *
   * @default 30_000
   */
  maxBackoff?: number
  /**
   * How often a connected relay is checked, besides the disconnect event, in ms.
   *
   * @default 5_000
   */
  checkInterval?: number
}

export interface BootstrapStatus {
  /** The relay's multiaddr, as given. */
  addr: string
  connected: boolean
  /** Why the last dial failed, when not connected. */
  error?: string
}

export interface BootstrapEvents {
  /** A relay was reached (once per reconnection), or a dial to it failed (each time). */
  status: CustomEvent<BootstrapStatus>
}

export interface BootstrapComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface Bootstrap extends TypedEventTarget<BootstrapEvents> {
  /** The last word on each relay, in the order given. */
  statuses(): BootstrapStatus[]
}

export function bootstrap (init: BootstrapInit): (components: BootstrapComponents) => Bootstrap {
  return (components) => new BootstrapService(components, init)
}
