/**
 * What coturn is told: which addresses it listens and relays on, what it advertises, and the configuration file
 * itself. Pure functions of the relay's options, so that the choices can be read (and tested) in one place.
 */
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { multiaddr } from '@multiformats/multiaddr'
import type { TurnOptions } from './index.ts'
import type { NetworkInterfaceInfo } from 'node:os'

/**
 * Peers a TURN allocation may not send to unless --turn-allow-private: without this list, anyone holding a credential
 * could use the relay to reach its own loopback services and the operator's private networks. IPv4 private, shared,
 * loopback, link-local, benchmarking, documentation and reserved ranges; IPv6 loopback, IPv4-mapped (the IPv4 list
 * in disguise), NAT64, discard, Teredo, 6to4, documentation, unique-local and link-local. Multicast is refused
 * separately (`no-multicast-peers`), and coturn refuses loopback peers unless `allow-loopback-peers`.
 */
export const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.0.0.0-192.0.0.255',
  '192.0.2.0-192.0.2.255',
  '192.88.99.0-192.88.99.255',
  '192.168.0.0-192.168.255.255',
  '198.18.0.0-198.19.255.255',
  '198.51.100.0-198.51.100.255',
  '203.0.113.0-203.0.113.255',
  '240.0.0.0-255.255.255.255',
  '::1-::1',
  '::ffff:0.0.0.0-::ffff:255.255.255.255',
  '64:ff9b::-64:ff9b::ffff:ffff',
  '64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff',
  '100::-100::ffff:ffff:ffff:ffff',
  '2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff',
  '2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
  '2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
]

/** coturn's realm: part of the long-term credential key (MD5(username:realm:password)); clients learn it from the 401. */
export const TURN_REALM = 'freeflow'

export interface TurnAddresses {
  /** coturn's `listening-ip`s: every address the relay listens on, wildcards expanded to the interfaces. */
  listen: string[]
  /** coturn's `relay-ip` of each family: one each, so that every allocation gets the address peers can reach. */
  relay: { 4?: string, 6?: string }
  /** Hosts (addresses or DNS names) in the URLs. */
  hosts: string[]
  /** coturn's `external-ip` mappings (`public/private`), for an advertised address that is not on an interface. */
  external: string[]
}

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

function isLoopback (ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1'
}

function isLinkLocal (ip: string): boolean {
  return /^fe[89ab][0-9a-f]?:/i.test(ip) || ip.startsWith('169.254.')
}

function isPrivate (ip: string): boolean {
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|f[cd][0-9a-f]{2}:)/i.test(ip)
}

/** Public addresses first, then private, then loopback: the first of a family becomes its relay address. */
function rank (ip: string): number {
  if (isLoopback(ip)) { return 0 }
  return isPrivate(ip) ? 1 : 2
}

/** The IP addresses (and, from /dns*, names) in some multiaddrs. */
function hostsOf (addrs: string[]): string[] {
  const out: string[] = []
  for (const text of addrs) {
    for (const c of multiaddr(text).getComponents()) {
      if (['ip4', 'ip6', 'dns4', 'dns6', 'dns'].includes(c.name) && c.value != null && !out.includes(c.value)) { out.push(c.value) }
    }
  }
  return out
}

/**
 * Choose coturn's addresses from the relay's libp2p listen addresses, its --announce addresses and --turn-host.
 * Throws when no listen address holds an IP.
 */
export function turnAddresses (listen: string[], announce: string[], turnHosts: string[], interfaces: Interfaces = networkInterfaces()): TurnAddresses {
  const local = Object.values(interfaces).flat().filter((i): i is NetworkInterfaceInfo => i != null)
  const ips: string[] = []
  const add = (ip: string): void => { if (!ips.includes(ip)) { ips.push(ip) } }
  for (const ip of hostsOf(listen).filter(h => isIP(h) !== 0)) {
    if (ip === '0.0.0.0' || ip === '::') {
      local.filter(i => i.family === (ip === '::' ? 'IPv6' : 'IPv4') && !isLinkLocal(i.address)).forEach(i => { add(i.address) })
    } else {
      add(ip)
    }
  }
  if (ips.length === 0) { throw new Error('no listen address of the relay has an IP address for TURN to listen on') }
  const best = (family: 4 | 6): string | undefined => ips.filter(ip => isIP(ip) === family).sort((a, b) => rank(b) - rank(a))[0]
  const relay = { 4: best(4), 6: best(6) }
  const announced = hostsOf(announce)
  let hosts = turnHosts.length > 0 ? turnHosts : announced
  if (hosts.length === 0) { hosts = [relay[4], relay[6]].filter((h): h is string => h != null) }
  const external: string[] = []
  for (const family of [4, 6] as const) {
    const pub = hosts.find(h => isIP(h) === family)
    const priv = relay[family]
    if (pub != null && priv != null && !ips.includes(pub)) { external.push(`${pub}/${priv}`) }
  }
  return { listen: ips, relay, hosts, external }
}

/** The URLs for each host: STUN, TURN over UDP and TCP, and TURN over TLS when there is a TLS port. */
export function turnUrls (hosts: string[], port: number, tlsPort?: number): string[] {
  return hosts.flatMap(host => {
    const h = isIP(host) === 6 ? `[${host}]` : host
    const urls = [`stun:${h}:${port}`, `turn:${h}:${port}?transport=udp`, `turn:${h}:${port}?transport=tcp`]
    if (tlsPort != null) { urls.push(`turns:${h}:${tlsPort}?transport=tcp`) }
    return urls
  })
}

export interface ConfigFiles {
  secret: string
  pidFile: string
  userDb: string
}

/** The text of turnserver.conf. It holds the shared secret: written with mode 0600, never logged. */
export function turnConfig (options: TurnOptions, port: number, addrs: TurnAddresses, files: ConfigFiles): string {
  const tls = options.tlsCert != null && options.tlsKey != null
  const lines = [
    '# written by `freeflow relay` at every start: edit the relay\'s flags, not this file',
    `listening-port=${port}`,
    ...addrs.listen.map(ip => `listening-ip=${ip}`),
    ...[addrs.relay[4], addrs.relay[6]].filter(ip => ip != null).map(ip => `relay-ip=${ip}`),
    ...addrs.external.map(e => `external-ip=${e}`),
    // RFC 8656's default: an allocation is IPv4 unless the client asks for IPv6, even over IPv6. An IPv6-only peer
    // then gets an IPv4 relayed address that IPv4-only peers reach; `keep` would give it an IPv6 one they cannot.
    `allocation-default-address-family=${addrs.relay[4] != null ? 'ipv4' : 'ipv6'}`,
    `min-port=${options.relayPorts[0]}`,
    `max-port=${options.relayPorts[1]}`,
    `realm=${TURN_REALM}`,
    'use-auth-secret',
    `static-auth-secret=${files.secret}`,
    'fingerprint',
    `user-quota=${options.userQuota}`,
    `total-quota=${options.totalQuota}`,
    `max-bps=${options.maxBps}`,
    `bps-capacity=${options.bpsCapacity}`,
    'stale-nonce=600',
    'no-cli',
    'no-multicast-peers',
    // browsers relay UDP only (RFC 6062 TCP allocations are unused): fewer sockets, less to abuse
    'no-tcp-relay',
    // NAT behaviour discovery needs a second port and adds an amplification vector; ICE does not use it
    'no-rfc5780',
    'no-stun-backward-compatibility',
    'response-origin-only-with-rfc5780',
    'no-software-attribute',
    'no-dtls',
    ...(tls
      ? [`tls-listening-port=${options.tlsPort}`, `cert=${options.tlsCert ?? ''}`, `pkey=${options.tlsKey ?? ''}`, 'no-tlsv1', 'no-tlsv1_1']
      : ['no-tls']),
    ...(options.allowPrivate ? ['allow-loopback-peers'] : DENIED_PEER_RANGES.map(r => `denied-peer-ip=${r}`)),
    // one line per event on stdout, read by the relay; `verbose` adds the session lines the metrics count
    'log-file=stdout',
    'simple-log',
    'verbose',
    `pidfile=${files.pidFile}`,
    `userdb=${files.userDb}`
  ]
  return lines.join('\n') + '\n'
}
