import { serviceCapabilities } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { Backoff, sleep } from '../util/backoff.ts'
import { DEFAULTS } from './constants.ts'
import { parseBootstrap } from './parse.ts'
import type { Bootstrap, BootstrapComponents, BootstrapEvents, BootstrapInit, BootstrapStatus } from './index.ts'
import type { Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Target {
  addr: Multiaddr
  peerId: PeerId
  status?: BootstrapStatus
  /** Ends the pause of this target's loop early (its connection dropped). */
  wake?: AbortController
}

export class BootstrapService extends TypedEventEmitter<BootstrapEvents> implements Bootstrap, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/bootstrap'
  readonly [serviceCapabilities]: string[] = ['@freeflow/bootstrap']
  private readonly components: BootstrapComponents
  private readonly config: Required<Omit<BootstrapInit, 'list'>>
  private readonly targets: Target[]
  private readonly log: Logger
  private shutdown = new AbortController()
  private loops: Array<Promise<void>> = []

  constructor (components: BootstrapComponents, init: BootstrapInit) {
    super()
    this.components = components
    this.config = {
      dialTimeout: init.dialTimeout ?? DEFAULTS.dialTimeout,
      initialBackoff: init.initialBackoff ?? DEFAULTS.initialBackoff,
      maxBackoff: init.maxBackoff ?? DEFAULTS.maxBackoff,
      checkInterval: init.checkInterval ?? DEFAULTS.checkInterval
    }
    // a malformed address fails the node's creation, with the sentence parseBootstrap gives
    this.targets = init.list.map(text => parseBootstrap(text))
    this.log = components.logger.forComponent('freeflow:bootstrap')
  }

  statuses (): BootstrapStatus[] {
    return this.targets.flatMap(t => t.status == null ? [] : [{ ...t.status }])
  }

  start (): void {
    this.shutdown = new AbortController()
  }

  /** Dial once every transport listens: a dial before that has no addresses to tell the relay. */
  afterStart (): void {
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.loops = this.targets.map(async target => { await this.keep(target) })
  }

  async stop (): Promise<void> {
    this.shutdown.abort()
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    await Promise.all(this.loops)
    this.loops = []
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    for (const t of this.targets) {
      if (t.peerId.equals(evt.detail)) { t.wake?.abort() }
    }
  }

  private report (target: Target, status: BootstrapStatus): void {
    target.status = status
    this.safeDispatchEvent('status', { detail: { ...status } })
  }

  private connected (target: Target): boolean {
    return this.components.connectionManager.getConnections(target.peerId).some(c => c.status === 'open')
  }

  private async keep (target: Target): Promise<void> {
    const signal = this.shutdown.signal
    const backoff = new Backoff({ initial: this.config.initialBackoff, max: this.config.maxBackoff })
    const addr = target.addr.toString()
    while (!signal.aborted) {
      target.wake = new AbortController()
      if (!this.connected(target)) {
        try {
          await this.components.connectionManager.openConnection(target.addr, {
            signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.dialTimeout)])
          })
          backoff.reset()
          if (target.status?.connected !== true) { this.report(target, { addr, connected: true }) }
        } catch (err: any) {
          if (signal.aborted) { return }
          this.log('cannot reach %a - %e', target.addr, err)
          this.report(target, { addr, connected: false, error: err.message ?? String(err) })
          await backoff.wait({ signal })
          continue
        }
      }
      // connected: look again when the connection drops, or after a while in any case
      await sleep(this.config.checkInterval, { signal: AbortSignal.any([signal, target.wake.signal]) })
      if (!signal.aborted && !this.connected(target) && target.status?.connected === true) {
        this.log('lost the connection to %a; dialling again', target.addr)
        // a short pause: a relay that is restarting refuses for a moment, and the next dial reports
        await sleep(Math.min(250, this.config.initialBackoff), { signal })
      }
    }
  }
}
