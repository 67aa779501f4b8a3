import { serviceCapabilities } from '@libp2p/interface'
import { withRetry } from '../dial/index.ts'
import { Backoff, sleep } from '../util/backoff.ts'
import { addrsVia } from './addrs.ts'
import { DEFAULTS } from './constants.ts'
import type { DirectComponents, DirectConnections, DirectInit, Release } from './index.ts'
import type { AbortOptions, Connection, Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

interface Want {
  peerId: PeerId
  /** Wants not released yet. */
  count: number
  /** Aborted when the last want is released. */
  released: AbortController
  /** Ends the loop's pause early (the direct connection closed). */
  wake: AbortController
  loop?: Promise<void>
}

export class DirectService implements DirectConnections, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/direct'
  readonly [serviceCapabilities]: string[] = ['@freeflow/direct']
  private readonly components: DirectComponents
  private readonly config: Required<DirectInit>
  private readonly log: Logger
  private readonly wants = new Map<string, Want>()
  /** Dialling loops still running (one ends soon after its want is released). */
  private readonly loops = new Set<Want>()
  private shutdown = new AbortController()
  private running = false

  constructor (components: DirectComponents, init: DirectInit) {
    this.components = components
    this.config = { ...DEFAULTS, ...init }
    this.log = components.logger.forComponent('freeflow:direct')
  }

  start (): void {
    this.shutdown = new AbortController()
    this.running = true
    this.components.events.addEventListener('connection:close', this.onClose)
  }

  async stop (): Promise<void> {
    this.running = false
    this.shutdown.abort()
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.wants.clear()
    await Promise.all([...this.loops].flatMap(w => w.loop == null ? [] : [w.loop]))
  }

  want (peerId: PeerId, options: AbortOptions = {}): Release {
    if (!this.running || options.signal?.aborted === true || peerId.equals(this.components.peerId)) { return () => {} }
    const key = peerId.toString()
    let w = this.wants.get(key)
    if (w == null) {
      w = { peerId, count: 0, released: new AbortController(), wake: new AbortController() }
      this.wants.set(key, w)
      // the peer with the smaller PeerId dials; the other one only waits to be dialled
      if (this.components.peerId.toString() < key) { w.loop = this.run(w) }
    }
    const want = w
    want.count++
    let released = false
    const release = (): void => {
      if (released) { return }
      released = true
      options.signal?.removeEventListener('abort', release)
      want.count--
      if (want.count === 0) {
        want.released.abort()
        if (this.wants.get(key) === want) { this.wants.delete(key) }
      }
    }
    options.signal?.addEventListener('abort', release, { once: true })
    return release
  }

  wanted (): PeerId[] {
    return [...this.wants.values()].map(w => w.peerId)
  }

  dialling (): PeerId[] {
    return [...this.loops].map(w => w.peerId)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const w = this.wants.get(evt.detail.remotePeer.toString())
    if (w != null && evt.detail.limits == null) { w.wake.abort() }
  }

  private direct (peerId: PeerId): boolean {
    return this.components.connectionManager.getConnections(peerId).some(c => c.limits == null && c.status === 'open')
  }

  private async webrtcAddrs (peerId: PeerId): Promise<Multiaddr[]> {
    try {
      const peer = await this.components.peerStore.get(peerId)
      return addrsVia('webrtc', peerId, peer.addresses.map(a => a.multiaddr))
    } catch {
      return []
    }
  }

  private async run (w: Want): Promise<void> {
    this.loops.add(w)
    try {
      await this.keep(w)
    } catch (err: any) {
      this.log.error('the direct-connection loop for %p failed - %e', w.peerId, err)
    } finally {
      this.loops.delete(w)
    }
  }

  private async keep (w: Want): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, w.released.signal])
    const backoff = new Backoff({ initial: this.config.initialBackoff, max: this.config.maxBackoff })
    while (!signal.aborted) {
      if (w.wake.signal.aborted) { w.wake = new AbortController() }
      if (this.direct(w.peerId)) {
        backoff.reset()
        // look again when a direct connection closes, or after a while in any case
        await sleep(this.config.checkInterval, { signal: AbortSignal.any([signal, w.wake.signal]) })
        continue
      }
      const addrs = await this.webrtcAddrs(w.peerId)
      if (signal.aborted) { return }
      if (addrs.length > 0) {
        try {
          await withRetry(async (s) => this.components.connectionManager.openConnection(addrs, { signal: s, force: true }), {
            attempts: this.config.attempts,
            timeout: this.config.dialTimeout,
            signal
          })
          this.log('direct connection to %p', w.peerId)
          continue
        } catch (err: any) {
          if (signal.aborted) { return }
          this.log('no direct connection to %p yet - %e', w.peerId, err)
        }
      }
      await backoff.wait({ signal })
    }
  }
}
