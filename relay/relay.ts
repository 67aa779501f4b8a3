/**
 * The community relay: a DHT server, a circuit-relay-v2 hop with limits, gossipsub, STUN/TURN (coturn, supervised)
 * with credentials over libp2p, and an HTTP side for health, metrics and the web app. Listening on IPv4 and IPv6 at once, it is also the IPv4-to-IPv6 gateway: an
 * IPv4-only member and an IPv6-only member each reserve a slot here and reach each other through it.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import client from 'prom-client'
import { addressKeyOf } from '../protocols/overlay/address-limits.ts'
import { DEFAULT_MAX_PROVIDERS, DEFAULT_MAX_PROVIDERS_PER_PEER } from '../protocols/overlay/dht-limits.ts'
import { overlayOptions } from '../protocols/overlay/index.ts'
import { forwardedIncomingMessage } from './forwarded.ts'
import { startHttp, startMetrics } from './http.ts'
import { DEFAULT_TURN, prepareTurn, turnOff } from './turn/index.ts'
import { registerTurnMetrics } from './turn/metrics.ts'
import type { HttpInit, HttpServer } from './http.ts'
import type { RelayTurn, TurnOptions } from './turn/index.ts'
import type { Bootstrap } from '../protocols/bootstrap/index.ts'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

export const DEFAULT_RELAY_LISTEN = [
  '/ip4/0.0.0.0/tcp/4001',
  '/ip4/0.0.0.0/tcp/4002/ws',
  '/ip6/::/tcp/4001',
  '/ip6/::/tcp/4002/ws'
]

export interface RelayLimits {
  /**
   * Reservations held at once.
   *
   * @default 1024
   */
  maxReservations: number
  /**
   * Reservations from one IP address (an IPv6 /64 counts as one address).
   *
   * @default 64
   */
  maxReservationsPerIp: number
  /**
   * How long one relayed connection may stay open, in ms.
   *
   * @default 600_000
   */
  relayDuration: number
  /**
   * Bytes one relayed connection may carry, both directions counted together.
   *
   * @default 16 MiB
   */
  relayData: bigint
  /**
   * Connections at once.
   *
   * @default 1024
   */
  maxConnections: number
  /**
   * Inbound connections from one IP address (an IPv6 /64 counts as one), pending and established.
   *
   * @default 128
   */
  maxConnectionsPerIp: number
  /**
   * DHT provider records stored for others at once, from all peers.
   *
   * @default DEFAULT_MAX_PROVIDERS (16384)
   */
  dhtMaxProviders: number
  /**
   * DHT provider records stored for one peer at once.
   *
   * @default DEFAULT_MAX_PROVIDERS_PER_PEER (64)
   */
  dhtMaxProvidersPerPeer: number
}

/**
 * An office of 50 people behind one NAT address all reachable, with room for reloads in flight (64 of them), while one
 * address holds at most 1/16 of the reservations (1024): taking them all needs 16 addresses (16 IPv6 /64s). A
 * reservation costs the relay a map entry and a timer; its peer's connection counts against maxConnections anyway.
 */
export const DEFAULT_LIMITS: RelayLimits = {
  maxReservations: 1024,
  maxReservationsPerIp: 64,
  relayDuration: 10 * 60_000,
  relayData: 16n * 1024n * 1024n,
  maxConnections: 1024,
  maxConnectionsPerIp: 128,
  dhtMaxProviders: DEFAULT_MAX_PROVIDERS,
  dhtMaxProvidersPerPeer: DEFAULT_MAX_PROVIDERS_PER_PEER
}

export interface RelayInit {
  privateKey: PrivateKey
  listen?: string[]
  announce?: string[]
  /** The public HTTP listener: health, /bootstrap.json and the web app, with its limits and embedding origins. */
  http?: Omit<HttpInit, 'node' | 'appDir' | 'turn'>
  /** The Prometheus /metrics listener, apart from the public one; none when not given. */
  metrics?: { host: string, port: number }
  /** Folder with the built web app, served at / when http is on. */
  appDir?: string
  limits?: Partial<RelayLimits>
  /** Other relays to stay connected to, so that the relays make one DHT. */
  bootstrap?: string[]
  /**
   * STUN and TURN with coturn (options not given take DEFAULT_TURN), or false for none.
   *
   * @default false
   */
  turn?: Partial<TurnOptions> | false
  /** Where TURN keeps its shared secret and configuration (the relay's data directory); needed for TURN. */
  dataDir?: string
  /**
   * Addresses of TLS-terminating proxies in front of the WebSocket listener: for WebSocket connections from them, the
   * client's address (for every per-address limit) is taken from `X-Forwarded-For`. Never from anyone else.
   *
   * @default []
   */
  trustedProxies?: Set<string>
}

export interface Relay {
  node: Libp2p<{ relay: CircuitRelayService, bootstrap?: Bootstrap } & Record<string, any>>
  http?: HttpServer
  metrics?: HttpServer
  /** STUN/TURN: its status, URLs and counters (status `off` when not configured or not installed). */
  turn: RelayTurn
  stop(): Promise<void>
}

export async function createRelay (init: RelayInit): Promise<Relay> {
  const limits = { ...DEFAULT_LIMITS, ...init.limits }
  // the gater runs only once the node exists: it reads the reservations through this holder
  const holder: { node?: Relay['node'] } = {}
  const listen = init.listen ?? DEFAULT_RELAY_LISTEN
  const turn = await setupTurn(init, listen)
  const secret = turn.secret
  client.register.clear()
  const options = overlayOptions({
    role: 'relay',
    privateKey: init.privateKey,
    listen,
    announce: init.announce,
    transports: [tcp()],
    maxConnections: limits.maxConnections,
    addressLimits: { maxConnectionsPerAddress: limits.maxConnectionsPerIp },
    webSockets: (init.trustedProxies?.size ?? 0) > 0 ? { http: { IncomingMessage: forwardedIncomingMessage(init.trustedProxies ?? new Set()) } } : undefined,
    dhtProviders: { max: limits.dhtMaxProviders, maxPerPeer: limits.dhtMaxProvidersPerPeer },
    metrics: prometheusMetrics({ collectDefaultMetrics: true, preserveExistingMetrics: false }),
    relay: {
      reservations: {
        maxReservations: limits.maxReservations,
        defaultDurationLimit: limits.relayDuration,
        defaultDataLimit: limits.relayData,
        applyDefaultLimit: true
      }
    },
    bootstrap: init.bootstrap,
    turnServer: secret == null
      ? undefined
      : { secret, ttl: turn.ttl, urls: () => turn.status().urls, available: () => turn.status().status === 'up' },
    connectionGater: {
      // one address (an IPv6 /64) may not take every slot: count the reservations already held from it
      denyInboundRelayReservation: (peer: PeerId) => {
        const node = holder.node
        if (node == null) { return false }
        const key = addressKeyOf(node.getConnections(peer)[0]?.remoteAddr)
        if (key == null) { return false }
        let held = 0
        for (const [other, r] of node.services.relay.reservations.entries()) {
          if (!other.equals(peer) && addressKeyOf(r.addr) === key) { held++ }
        }
        return held >= limits.maxReservationsPerIp
      }
    }
  })
  const relayNode = holder.node = await createLibp2p(options) as Relay['node']
  // a reservation is worth nothing once its peer has no connection left to us (no stop stream can reach it), yet the
  // circuit relay server keeps it until its TTL: released here, so a person who reloads or leaves does not fill their
  // address's share (maxReservationsPerIp) with reservations of departed peers
  relayNode.addEventListener('connection:close', (evt) => {
    const peer = evt.detail.remotePeer
    if (relayNode.getConnections(peer).some(c => c.status === 'open')) { return }
    const reservation = relayNode.services.relay.reservations.get(peer)
    if (reservation == null) { return }
    // its timer would otherwise fire at the old TTL and delete a newer reservation of the same peer
    reservation.signal.clear()
    relayNode.services.relay.reservations.delete(peer)
  })
  client.register.registerMetric(new client.Gauge({
    name: 'freeflow_relay_reservations',
    help: 'Circuit relay reservations held now',
    registers: [],
    collect () { this.set(relayNode.services.relay.reservations.size) }
  }))
  client.register.registerMetric(new client.Gauge({
    name: 'freeflow_relay_connections',
    help: 'Open libp2p connections, by whether they are relayed through another node',
    registers: [],
    labelNames: ['kind'],
    collect () {
      const conns = relayNode.getConnections()
      this.set({ kind: 'direct' }, conns.filter(c => c.limits == null).length)
      this.set({ kind: 'limited' }, conns.filter(c => c.limits != null).length)
    }
  }))
  registerTurnMetrics(client.register, turn)
  let http: HttpServer | undefined
  let metrics: HttpServer | undefined
  try {
    await turn.start(relayNode.logger)
    if (init.http != null) { http = await startHttp({ ...init.http, node: relayNode, appDir: init.appDir, turn }) }
    if (init.metrics != null) { metrics = await startMetrics(init.metrics) }
  } catch (err) {
    await http?.close()
    await turn.stop()
    await relayNode.stop()
    throw err
  }
  return {
    node: relayNode,
    http,
    metrics,
    turn,
    async stop () {
      await http?.close()
      await metrics?.close()
      await relayNode.stop()
      await turn.stop()
    }
  }
}

async function setupTurn (init: RelayInit, listen: string[]): Promise<RelayTurn> {
  if (init.turn === false) { return turnOff('switched off (--no-turn)') }
  if (init.turn == null) { return turnOff('not configured') }
  if (init.dataDir == null) { return turnOff('no data directory for its secret') }
  return prepareTurn({ options: { ...DEFAULT_TURN, ...init.turn }, dataDir: init.dataDir, listen, announce: init.announce ?? [] })
}
