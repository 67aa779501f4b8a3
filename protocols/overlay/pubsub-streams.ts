/**
 * Gossipsub streams that outlive a relayed connection. libp2p tells gossipsub about a peer once, on the first
 * connection identify completes on (the registrar's topology filter), and gossipsub opens its stream there. Between
 * two members that met through a circuit relay that is the relayed connection, which the relay ends after its
 * duration or data limit (10 min or 16 MiB by default) while their direct connection stays up: gossipsub's streams
 * end with it and nothing opens them again, so chat and presence stop between the two, each times the other out, and
 * their call is dropped. This service watches connections close and, when a peer that is still connected has no
 * gossipsub stream left, hands gossipsub the best connection that remains (a direct one before a relayed one), as if
 * that connection had just been made.
 */
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** When to look again whether the stream is gone and a new one is needed, in ms after the connection closed. */
const CHECKS = [250, 1_000, 3_000]

/** What this service uses of gossipsub: its outbound streams, and how it takes a new connection. */
interface Streams {
  readonly streamsOutbound: Map<string, unknown>
}

export interface PubsubStreamsComponents {
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: ConnectionManager
  logger: ComponentLogger
  pubsub?: unknown
}

export class PubsubStreams implements Startable {
  readonly [Symbol.toStringTag] = '@freeflow/pubsub-streams'
  private readonly components: PubsubStreamsComponents
  private readonly log: Logger
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()

  constructor (components: PubsubStreamsComponents) {
    this.components = components
    this.log = components.logger.forComponent('freeflow:pubsub-streams')
  }

  start (): void {
    this.components.events.addEventListener('connection:close', this.onClose)
  }

  stop (): void {
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.timers.forEach(t => { clearTimeout(t) })
    this.timers.clear()
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer
    // gossipsub drops the stream a moment after the connection closes: look until it is gone, a few times
    for (const ms of CHECKS) {
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        this.check(peer)
      }, ms)
      this.timers.add(timer)
    }
  }

  private check (peer: PeerId): void {
    const pubsub = this.components.pubsub as (Streams & { onPeerConnected?(peer: PeerId, connection: Connection): void }) | undefined
    if (pubsub?.streamsOutbound == null || typeof pubsub.onPeerConnected !== 'function') { return }
    if (pubsub.streamsOutbound.has(peer.toString())) { return }
    const open = this.components.connectionManager.getConnections(peer).filter(c => c.status === 'open')
    const best = open.find(c => c.limits == null) ?? open[0]
    if (best == null) { return }
    this.log('gossipsub lost its stream to %p with a connection; opening one on %a', peer, best.remoteAddr)
    pubsub.onPeerConnected(peer, best)
  }
}

export function pubsubStreams (): (components: PubsubStreamsComponents) => PubsubStreams {
  return (components) => new PubsubStreams(components)
}
