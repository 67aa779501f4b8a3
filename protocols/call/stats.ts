/**
 * How a call with one participant is carried: the media path from the RTCPeerConnection's stats, and the signalling
 * path. `classifyPath` is pure (a stats report in, a MediaRoute out) so it is tested on real reports from Chromium,
 * Firefox's shape and werift; `pathLabel` is the one line a tile's badge shows.
 */
import type { PathInfo } from './index.ts'
import type { AbortOptions, Connection } from '@libp2p/interface'

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay'

/** One end of the selected candidate pair. */
export interface CandidateInfo {
  /** host, srflx (our public address as a STUN server saw it), prflx (learnt from a connectivity check), relay (TURN). */
  type: CandidateType | undefined
  /** The transport between the two candidates: udp, or tcp for ICE-TCP. */
  protocol: 'udp' | 'tcp' | undefined
  /** For a relay candidate: how this side reaches its TURN server. */
  relayProtocol?: 'udp' | 'tcp' | 'tls'
  /** 4 or 6; undefined when the address is an mDNS name (`….local`) or absent. */
  family: 4 | 6 | undefined
  /** The address is an mDNS name, which hides the family. */
  mdns: boolean
}

/** The media path of a call, from the selected candidate pair. */
export interface MediaRoute {
  /** No TURN relay at either end: host, server-reflexive or peer-reflexive candidates on both sides. */
  direct: boolean
  /** Which end goes through TURN: this side's relay candidate, the other side's, both, or none. */
  relay: 'none' | 'local' | 'remote' | 'both'
  /** The path's address family: this side's candidate's, else the other side's; undefined when neither is known. */
  family: 4 | 6 | undefined
  /** Round-trip time of the pair in ms, once measured. */
  rttMs: number | undefined
  /** This side's transport for the pair (udp or tcp). */
  protocol?: 'udp' | 'tcp'
  /** For a path through this side's TURN server: how this side reaches it (udp, tcp or tls). */
  relayProtocol?: 'udp' | 'tcp' | 'tls'
  local: CandidateInfo
  remote: CandidateInfo
}

/** What `classifyPath` reads: an RTCStatsReport, or anything with the same `forEach` and `get`. */
export interface StatsLike {
  forEach(cb: (s: any) => void): void
  get(id: string): any
}

/** 4 or 6 from an address; undefined for an mDNS name, an empty or unspecified address. */
export function addressFamily (address: string | undefined): 4 | 6 | undefined {
  if (address == null || address === '' || address.endsWith('.local')) { return undefined }
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) { return address === '0.0.0.0' ? undefined : 4 }
  if (/^::ffff:\d{1,3}(\.\d{1,3}){3}$/i.test(address)) { return 4 }
  if (address.includes(':')) { return address === '::' ? undefined : 6 }
  return undefined
}

function lower<T extends string> (value: unknown, allowed: readonly T[]): T | undefined {
  const v = typeof value === 'string' ? value.toLowerCase() : undefined
  return allowed.find(a => a === v)
}

/** One candidate's stats entry, read the same whichever browser or library wrote it. */
export function candidateInfo (s: any): CandidateInfo {
  const address: string | undefined = s?.address ?? s?.ip
  const type = lower(s?.candidateType, ['host', 'srflx', 'prflx', 'relay'] as const)
  // Firefox reports a relay candidate's transport to its TURN server as `relayProtocol` too, werift not at all
  const relayProtocol = type === 'relay' ? lower(s?.relayProtocol, ['udp', 'tcp', 'tls'] as const) : undefined
  return {
    type,
    protocol: lower(s?.protocol, ['udp', 'tcp'] as const),
    ...(relayProtocol != null ? { relayProtocol } : {}),
    family: addressFamily(address),
    mdns: address?.endsWith('.local') === true
  }
}

/** The candidate pair in use: the transport's selected pair, else (Firefox, werift) a nominated pair that succeeded. */
export function selectedPair (stats: StatsLike): any {
  let pair: any
  stats.forEach((s: any) => {
    if (pair == null && s?.type === 'transport' && s.selectedCandidatePairId != null) { pair = stats.get(s.selectedCandidatePairId) }
  })
  if (pair != null) { return pair }
  stats.forEach((s: any) => {
    if (s?.type !== 'candidate-pair' || s.state !== 'succeeded') { return }
    // Firefox marks the pair in use with `selected`; the spec's `nominated` is true on it as well
    if (s.selected === true || (s.nominated === true && pair?.selected !== true)) { pair = s }
  })
  return pair
}

/** The media path from a stats report; undefined while no candidate pair is selected. */
export function classifyPath (stats: StatsLike): MediaRoute | undefined {
  const pair = selectedPair(stats)
  if (pair == null) { return undefined }
  const local = candidateInfo(stats.get(pair.localCandidateId))
  const remote = candidateInfo(stats.get(pair.remoteCandidateId))
  const RELAY = { 'true,true': 'both', 'true,false': 'local', 'false,true': 'remote', 'false,false': 'none' } as const
  const relay = RELAY[`${String(local.type === 'relay')},${String(remote.type === 'relay')}` as keyof typeof RELAY]
  const rtt = typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime : undefined
  const route: MediaRoute = {
    direct: relay === 'none',
    relay,
    family: local.family ?? remote.family,
    rttMs: rtt != null ? Math.round(rtt * 1000) : undefined,
    local,
    remote
  }
  if (local.protocol != null) { route.protocol = local.protocol }
  if (local.relayProtocol != null) { route.relayProtocol = local.relayProtocol }
  return route
}

const TYPE_WORDS: Record<CandidateType, string> = {
  host: 'its own address',
  srflx: 'its public address (STUN)',
  prflx: 'an address learnt while connecting',
  relay: 'a TURN relay'
}

/**
 * The badge's line: "direct · UDP · IPv4 · 12 ms", "via relay (TURN/TCP) · IPv6 · 48 ms", "via their relay (TURN) ·
 * UDP · IPv4 · 30 ms"; "IP version hidden (mDNS)" when only an mDNS name is known.
 */
export function pathLabel (route: MediaRoute): string {
  let how: string
  if (route.relay === 'none') {
    how = ['direct', route.protocol?.toUpperCase() ?? ''].filter(p => p !== '').join(' · ')
  } else if (route.relay === 'remote') {
    how = ['via their relay (TURN)', route.protocol?.toUpperCase() ?? ''].filter(p => p !== '').join(' · ')
  } else {
    how = `via relay (TURN${route.relayProtocol != null ? '/' + route.relayProtocol.toUpperCase() : ''})`
  }
  let family = route.local.mdns || route.remote.mdns ? 'IP version hidden (mDNS)' : 'IP version unknown'
  if (route.family != null) { family = `IPv${route.family}` }
  return [how, family, route.rttMs != null ? `${route.rttMs} ms` : ''].filter(p => p !== '').join(' · ')
}

/** A longer sentence for a tooltip: which kind of candidate each side uses. */
export function pathDetail (route: MediaRoute): string {
  const mine = route.local.type != null ? TYPE_WORDS[route.local.type] : 'an unknown address'
  const theirs = route.remote.type != null ? TYPE_WORDS[route.remote.type] : 'an unknown address'
  return `${route.direct ? 'Direct connection' : 'Through a TURN relay'}: this side uses ${mine}, the other side ${theirs}.`
}

/** The signalling half of PathInfo: whether the libp2p connection in use goes through a circuit relay. */
export function signallingPath (conn: Connection | undefined): PathInfo['signalling'] {
  const addr = conn?.remoteAddr.toString()
  return { relayed: conn?.limits != null || addr?.includes('/p2p-circuit') === true, addr }
}

/** The media half of PathInfo: the selected candidate pair, or undefined while there is none. */
export async function mediaPath (pc: RTCPeerConnection, options: AbortOptions = {}): Promise<MediaRoute | undefined> {
  options.signal?.throwIfAborted()
  const stats = await pc.getStats()
  options.signal?.throwIfAborted()
  return classifyPath(stats)
}
