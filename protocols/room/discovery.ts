/**
 * DHT rendezvous (docs/protocols/room.md section 6): announce this node under the hourly rendezvous CID of the room,
 * look up the current and previous epoch's CIDs, and hand every provider to `found`. One loop per room, paused with
 * the shared jittered Backoff (250 ms doubling to `maxLookupInterval`), woken early when a DHT server is
 * identified, and ended by `stop()`, which also withdraws what it announced.
 */
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { epochOf } from '../room-key/index.ts'
import { Backoff } from '../util/backoff.ts'
import { FIND_PROVIDERS_TIMEOUT, FIRST_LOOKUP_PAUSE, PROVIDE_TIMEOUT, RAW_CODEC, SHA2_256 } from './constants.ts'
import type { RoomServiceComponents } from './index.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DiscoveryInit {
  keys: RoomKeys
  components: Pick<RoomServiceComponents, 'peerId' | 'addressManager' | 'contentRouting' | 'events'>
  log: Logger
  /** Longest pause between two lookups, in ms. */
  maxLookupInterval: number
  /** A provider of the room's rendezvous that is not this node. */
  found(peerId: PeerId, addrs: Multiaddr[]): void
}

/** The rendezvous CID of an epoch: CIDv1(raw, sha2-256 multihash of `rendezvous(epoch)`). */
export async function rendezvousCid (keys: RoomKeys, epoch: number): Promise<CID> {
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, await keys.rendezvous(epoch)))
}

export class Discovery {
  private readonly init: DiscoveryInit
  private readonly backoff: Backoff
  private shutdown?: AbortController
  /** Ends the current pause early. */
  private wake?: AbortController
  /** Rendezvous records the DHT keeps announcing for us. */
  private announced: CID[] = []
  private loop?: Promise<void>

  constructor (init: DiscoveryInit) {
    this.init = init
    this.backoff = new Backoff({ initial: FIRST_LOOKUP_PAUSE, max: init.maxLookupInterval, factor: 2 })
  }

  start (): void {
    if (this.shutdown != null) { return }
    this.shutdown = new AbortController()
    this.init.components.events.addEventListener('peer:identify', this.onIdentify)
    this.loop = this.run(this.shutdown.signal)
  }

  /** End the loop, wait for it, and withdraw the records it announced. */
  async stop (): Promise<void> {
    if (this.shutdown == null) { return }
    this.shutdown.abort()
    this.init.components.events.removeEventListener('peer:identify', this.onIdentify)
    await this.loop
    for (const cid of this.announced) { await this.init.components.contentRouting.cancelReprovide(cid).catch(() => {}) }
    this.announced = []
  }

  /** A peer that serves the DHT was identified: look again now, the first lookups may have found nobody to ask. */
  private readonly onIdentify = (evt: CustomEvent<{ protocols: string[] }>): void => {
    if (evt.detail.protocols.some(p => p.includes('/kad/'))) { this.wake?.abort() }
  }

  private async run (signal: AbortSignal): Promise<void> {
    let provided = ''
    while (!signal.aborted) {
      // a lookup never waits for our own announcement (up to PROVIDE_TIMEOUT): members that are already there
      // are found in the first round
      const announcing = this.announce(provided, signal)
      await this.lookup(signal)
      provided = await announcing
      this.wake = new AbortController()
      await this.backoff.wait({ signal: AbortSignal.any([signal, this.wake.signal]) })
      if (this.wake.signal.aborted) { this.backoff.reset() }
    }
  }

  /**
   * Announce once this node can be reached (a record without addresses is dropped by DHT servers, and a browser
   * has an address only after its relay reservation), and again when the epoch or the addresses change.
   */
  private async announce (provided: string, signal: AbortSignal): Promise<string> {
    const { addressManager, contentRouting } = this.init.components
    const epoch = epochOf()
    const addrs = addressManager.getAddresses().map(a => a.toString()).sort().join(' ')
    const wanted = `${epoch} ${addrs}`
    if (addrs === '' || provided === wanted) { return provided }
    try {
      const cid = await rendezvousCid(this.init.keys, epoch)
      await contentRouting.provide(cid, { signal: AbortSignal.any([signal, AbortSignal.timeout(PROVIDE_TIMEOUT)]) })
      // a past epoch's record must not be announced again (kad-dht re-provides what it was given)
      for (const old of this.announced) {
        if (!old.equals(cid)) { await contentRouting.cancelReprovide(old).catch(() => {}) }
      }
      this.announced = [cid]
      this.init.log('announced on the DHT for epoch %d', epoch)
      return wanted
    } catch (err: any) {
      if (!signal.aborted) { this.init.log('could not announce on the DHT yet - %e', err) }
      return provided
    }
  }

  private async lookup (signal: AbortSignal): Promise<void> {
    const { contentRouting, peerId } = this.init.components
    const epoch = epochOf()
    // both epochs at once: a member announced under the previous one is as likely as under this one
    await Promise.all([epoch, epoch - 1].map(async e => {
      try {
        const cid = await rendezvousCid(this.init.keys, e)
        for await (const provider of contentRouting.findProviders(cid, { signal: AbortSignal.any([signal, AbortSignal.timeout(FIND_PROVIDERS_TIMEOUT)]) })) {
          if (!provider.id.equals(peerId)) { this.init.found(provider.id, provider.multiaddrs) }
        }
      } catch (err: any) {
        if (!signal.aborted) { this.init.log.trace('DHT lookup for epoch %d ended - %e', e, err) }
      }
    }))
  }
}
