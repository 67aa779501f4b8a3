/**
 * What the overlay's DHT keeps for others. FreeFlow uses only provider records (a room's hourly rendezvous CID,
 * protocols/room/discovery.ts), never values: every node refuses PUT_VALUE, and a relay bounds the provider records
 * it stores, per provider and in total, and keeps them only as long as a rendezvous is looked up.
 */
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** Provider records one peer may have on a relay at once: 4 per room (PROVIDER_RECORD_VALIDITY) for 16 rooms. */
export const DEFAULT_MAX_PROVIDERS_PER_PEER = 64

/** Provider records a relay stores at once, from all peers (each a datastore key of about 120 bytes and a timestamp). */
export const DEFAULT_MAX_PROVIDERS = 16_384

/**
 * How long a relay keeps a provider record, in ms: a rendezvous CID is announced once in its hour and looked up
 * during that hour and the next (room.md section 6), so 3 h leaves an hour for clocks. kad-dht's default is 48 h.
 */
export const PROVIDER_RECORD_VALIDITY = 3 * 60 * 60_000

/** How often a relay deletes provider records older than PROVIDER_RECORD_VALIDITY, in ms (kad-dht: 1 h). */
export const PROVIDER_CLEANUP_INTERVAL = 10 * 60_000

/** Where kad-dht keeps provider records in its datastore: `/dht/provider/<cid>/<peer id>` (its default prefix). */
const PROVIDER_PREFIX = '/dht/provider/'

export class ValuesRefusedError extends Error {
  static readonly name = 'ValuesRefusedError'
  readonly name = 'ValuesRefusedError'
}

export class ProviderQuotaError extends Error {
  static readonly name = 'ProviderQuotaError'
  readonly name = 'ProviderQuotaError'
}

/**
 * kad-dht validators that refuse every record: a key whose namespace has no validator is refused by kad-dht itself,
 * and `pk` (public keys) is its one built-in, replaced here. PUT_VALUE then stores nothing and the stream is reset.
 */
export const refuseValues = {
  pk: (): void => { throw new ValuesRefusedError('this overlay stores no DHT values') }
}

export interface ProviderLimits {
  /**
   * Provider records of one peer.
   *
   * @default DEFAULT_MAX_PROVIDERS_PER_PEER
   */
  maxPerPeer?: number
  /**
   * Provider records of all peers.
   *
   * @default DEFAULT_MAX_PROVIDERS
   */
  max?: number
}

interface KeyLike { toString(): string }

/** The part of a datastore kad-dht 16 writes provider records through (`Providers` puts, it and the cleanup delete). */
export interface ProviderStore {
  put(key: KeyLike, value: Uint8Array, options?: AbortOptions): unknown
  delete(key: KeyLike, options?: AbortOptions): unknown
}

/**
 * The DHT's datastore, with provider records of other peers bounded: one more record than a peer's share, or than
 * the total, is refused with ProviderQuotaError (kad-dht's ADD_PROVIDER handler then resets the stream and does not
 * add the provider's addresses to the peer store). The node's own records are not counted. Starts from an empty
 * store (libp2p's default in-memory datastore), and counts every record it lets in until it is deleted.
 */
export function boundedProviders<D extends ProviderStore> (datastore: D, self: PeerId, limits: ProviderLimits = {}): D {
  const maxPerPeer = limits.maxPerPeer ?? DEFAULT_MAX_PROVIDERS_PER_PEER
  const max = limits.max ?? DEFAULT_MAX_PROVIDERS
  const own = self.toString()
  const byPeer = new Map<string, Set<string>>()
  let total = 0
  /** The provider of a provider record's key, or undefined for any other key. */
  const providerOf = (key: KeyLike): string | undefined => {
    const text = key.toString()
    if (!text.startsWith(PROVIDER_PREFIX)) { return undefined }
    const parts = text.slice(PROVIDER_PREFIX.length).split('/')
    return parts.length === 2 && parts[1] !== own ? parts[1] : undefined
  }
  const forget = (peer: string, key: string): void => {
    const keys = byPeer.get(peer)
    if (keys?.delete(key) !== true) { return }
    total--
    if (keys.size === 0) { byPeer.delete(peer) }
  }
  const put = async (key: KeyLike, value: Uint8Array, options?: AbortOptions): Promise<unknown> => {
    const peer = providerOf(key)
    const text = key.toString()
    if (peer == null || byPeer.get(peer)?.has(text) === true) { return datastore.put(key, value, options) }
    const keys = byPeer.get(peer) ?? new Set<string>()
    if (keys.size >= maxPerPeer) { throw new ProviderQuotaError(`peer ${peer} already has ${maxPerPeer} provider records here`) }
    if (total >= max) { throw new ProviderQuotaError(`${max} provider records stored here already`) }
    // counted before the write, so concurrent puts cannot pass the limits together
    keys.add(text)
    byPeer.set(peer, keys)
    total++
    try {
      return await datastore.put(key, value, options)
    } catch (err) {
      forget(peer, text)
      throw err
    }
  }
  const del = async (key: KeyLike, options?: AbortOptions): Promise<void> => {
    await datastore.delete(key, options)
    const peer = providerOf(key)
    if (peer != null) { forget(peer, key.toString()) }
  }
  return new Proxy(datastore, {
    get (target, prop) {
      if (prop === 'put') { return put }
      if (prop === 'delete') { return del }
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}
