/**
 * The community relay: a DHT server, a circuit-relay-v2 hop with limits, gossipsub, and an HTTP side for health,
 * metrics and the web app. Listening on IPv4 and IPv6 at once, it is also the IPv4-to-IPv6 gateway: an
 * IPv4-only member and an IPv6-only member each reserve a slot here and reach each other through it.
 */
import { tcp } from '@libp2p/tcp'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { createLibp2p, type Libp2p } from 'libp2p'
import client from 'prom-client'
import { overlayOptions } from '../protocols/overlay.js'
import { startHttp, type HttpServer } from './http.js'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'

export const DEFAULT_RELAY_LISTEN = [
  '/ip4/0.0.0.0/tcp/4001',
  '/ip4/0.0.0.0/tcp/4002/ws',
  '/ip6/::/tcp/4001',
  '/ip6/::/tcp/4002/ws'
]

export interface RelayLimits {
  /** Reservations held at once. @default 256 */
  maxReservations: number
  /** Reservations from one IP address. @default 8 */
  maxReservationsPerIp: number
  /** How long one relayed connection may stay open, in ms. @default 600_000 */
  relayDuration: number
  /** Bytes one relayed connection may carry, both directions counted together. @default 16 MiB */
  relayData: bigint
  /** Connections at once. @default 1024 */
  maxConnections: number
}

export const DEFAULT_LIMITS: RelayLimits = {
  maxReservations: 256,
  maxReservationsPerIp: 8,
  relayDuration: 10 * 60_000,
  relayData: 16n * 1024n * 1024n,
  maxConnections: 1024
}

export interface RelayInit {
  privateKey: PrivateKey
  listen?: string[]
  announce?: string[]
  http?: { host: string, port: number }
  /** Folder with the built web app, served at / when http is on. */
  appDir?: string
  limits?: Partial<RelayLimits>
}

export interface Relay {
  node: Libp2p<{ relay: CircuitRelayService } & Record<string, any>>
  http?: HttpServer
  stop(): Promise<void>
}

function ipOf (addr: Multiaddr | undefined): string | undefined {
  return addr?.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

export async function createRelay (init: RelayInit): Promise<Relay> {
  const limits = { ...DEFAULT_LIMITS, ...init.limits }
  let node: Relay['node'] | undefined
  client.register.clear()
  const options = overlayOptions({
    role: 'relay',
    privateKey: init.privateKey,
    listen: init.listen ?? DEFAULT_RELAY_LISTEN,
    announce: init.announce,
    transports: [tcp()],
    maxConnections: limits.maxConnections,
    metrics: prometheusMetrics({ collectDefaultMetrics: true, preserveExistingMetrics: false }),
    relay: {
      reservations: {
        maxReservations: limits.maxReservations,
        defaultDurationLimit: limits.relayDuration,
        defaultDataLimit: limits.relayData,
        applyDefaultLimit: true
      }
    }
  })
  options.connectionGater = {
    ...options.connectionGater,
    // one address may not take every slot: count the reservations already held from the same IP
    denyInboundRelayReservation: (peer: PeerId) => {
      if (node == null) return false
      const ip = ipOf(node.getConnections(peer)[0]?.remoteAddr)
      if (ip == null) return false
      let held = 0
      for (const [holder, r] of node.services.relay.reservations.entries()) {
        if (!holder.equals(peer) && ipOf(r.addr) === ip) held++
      }
      return held >= limits.maxReservationsPerIp
    }
  }
  node = await createLibp2p(options) as Relay['node']
  const relayNode = node
  new client.Gauge({
    name: 'freeflow_relay_reservations',
    help: 'Circuit relay reservations held now',
    collect () { this.set(relayNode.services.relay.reservations.size) }
  })
  new client.Gauge({
    name: 'freeflow_relay_connections',
    help: 'Open libp2p connections, by whether they are relayed through another node',
    labelNames: ['kind'],
    collect () {
      const conns = relayNode.getConnections()
      this.set({ kind: 'direct' }, conns.filter(c => c.limits == null).length)
      this.set({ kind: 'limited' }, conns.filter(c => c.limits != null).length)
    }
  })
  let http: HttpServer | undefined
  if (init.http != null) http = await startHttp({ ...init.http, node, appDir: init.appDir })
  return {
    node,
    http,
    async stop () {
      await http?.close()
      await relayNode.stop()
    }
  }
}
