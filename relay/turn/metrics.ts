/** TURN on the relay's /metrics: whether coturn is up, its allocations and the bytes it relayed (from its log). */
import client from 'prom-client'
import type { RelayTurn } from './index.ts'

export function registerTurnMetrics (registry: client.Registry, turn: RelayTurn): void {
  const { stats } = turn
  const metrics: Array<client.Metric<any>> = [
    new client.Gauge({
      name: 'freeflow_turn_up',
      help: 'Whether the TURN server (coturn) answers STUN: 1 up, 0 down or off',
      registers: [],
      collect () { this.set(turn.status().status === 'up' ? 1 : 0) }
    }),
    new client.Gauge({
      name: 'freeflow_turn_allocations',
      help: 'TURN allocations alive now',
      registers: [],
      collect () { this.set(stats.allocations.size) }
    }),
    new client.Counter({
      name: 'freeflow_turn_allocations_total',
      help: 'TURN allocations made since the relay started',
      registers: [],
      collect () { this.reset(); this.inc(stats.allocationsTotal) }
    }),
    new client.Counter({
      name: 'freeflow_turn_relayed_bytes_total',
      help: 'Bytes relayed between TURN clients and their peers, counted at the relayed address: from_peers received, to_peers sent',
      registers: [],
      labelNames: ['direction'],
      collect () {
        this.reset()
        this.inc({ direction: 'from_peers' }, stats.relayedFromPeers)
        this.inc({ direction: 'to_peers' }, stats.relayedToPeers)
      }
    }),
    new client.Counter({
      name: 'freeflow_turn_refused_total',
      help: 'Authenticated TURN requests refused, by STUN error code (401 bad or expired credential, 486 quota)',
      registers: [],
      labelNames: ['code'],
      collect () {
        this.reset()
        for (const [code, n] of stats.refused) { this.inc({ code: String(code) }, n) }
      }
    }),
    new client.Counter({
      name: 'freeflow_turn_restarts_total',
      help: 'Times the TURN server went down and was started again',
      registers: [],
      collect () { this.reset(); this.inc(stats.restarts) }
    })
  ]
  metrics.forEach(m => { registry.registerMetric(m) })
}
