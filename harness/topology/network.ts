/**
 * Networks shaped like the internet, built from network namespaces, veth links and nftables, for tests and benches.
 *
 * A backbone namespace routes between every "public" segment: the relay host's (198.51.100.0/24 and
 * 2001:db8:100::/64), each home router's outside link (a /28 of 203.0.113.0/24), an IPv4-only host (192.0.2.0/24)
 * and an IPv6-only host (2001:db8:6::/64). A home is a router namespace (NAT for its LAN, 198.18.<n>.0/24) and a host
 * namespace behind it. The backbone has no route to any LAN: only what the NAT lets through gets in. Documentation
 * and benchmarking addresses only; nothing here touches the namespace the caller runs in, and every namespace is
 * named with the process id, so parallel runs never clash. `remove()` (also run at process exit) deletes them all.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { canMakeHosts } from '../netns.ts'

/** What a home router does to traffic between its LAN and the outside. */
export type NatMode =
  /** masquerade that keeps the source port when it can (most home routers): direct paths can be punched */
  'port-preserving' |
  /** masquerade with a new random port per flow ("symmetric" NAT): only a relay gets through */
  'random-port' |
  /** port-preserving masquerade, and every forwarded UDP packet dropped: only TCP (TURN over TCP) leaves the home */
  'udp-blocked'

/** A namespace that runs programs: the relay host, a home's host, the IPv4-only or the IPv6-only host. */
export interface NetHost {
  /** Short label (relay, home1, v4, v6), for messages. */
  label: string
  /** The namespace's name. */
  ns: string
  /** The host's current addresses (without prefix length), IPv4 first. */
  addrs: string[]
  /** Command prefix that runs a program on this host. */
  prefix: string[]
}

export interface Home {
  index: number
  host: NetHost
  /** The router's namespace. */
  router: string
  /** The router's current public address (what the world sees of this home). */
  publicAddr: string
  mode: NatMode
}

const DIR = '/run/netns'
/** Namespace names start with this and the pid: `fft<pid>-<label>`. */
const PREFIX = 'fft'

export const RELAY_V4 = '198.51.100.10'
export const RELAY_V6 = '2001:db8:100::10'

function ip (...args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err: any) {
    throw new Error(`ip ${args.join(' ')}: ${String(err.stderr ?? err.message).trim()}`)
  }
}

function inNs (ns: string, cmd: string, args: string[], input?: string): void {
  try {
    execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { input, stdio: [input != null ? 'pipe' : 'ignore', 'ignore', 'pipe'] })
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')} in ${ns}: ${String(err.stderr ?? err.message).trim()}`)
  }
}

function sysctl (ns: string, ...settings: string[]): void {
  inNs(ns, 'sysctl', ['-qw', ...settings])
}

/** Why a topology cannot be built here (not root, no `ip`, no `nft`), or undefined when it can. */
export function canMakeTopology (): string | undefined {
  const hosts = canMakeHosts()
  if (hosts != null) { return hosts }
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
  } catch {
    return 'the `nft` command (nftables) is missing'
  }
  return undefined
}

/** The nftables ruleset of a home router in one mode; `wan` is its outside interface. */
export function natRules (mode: NatMode): string {
  const masquerade = mode === 'random-port' ? 'masquerade random,fully-random' : 'masquerade'
  return [
    'flush ruleset',
    'table ip home {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "wan" ${masquerade}`,
    '  }',
    // like every home router, nothing unsolicited reaches the router itself: without this, a peer's first ICE check
    // (arriving before this home has sent anything to it) is answered by the router and leaves a conntrack entry,
    // and the home's own check to that peer then gets a new port, so no direct path is ever found
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    ct state established,related accept',
    '    iif "lo" accept',
    '    iif "lan" accept',
    '  }',
    '  chain forwarding {',
    '    type filter hook forward priority filter; policy accept;',
    ...(mode === 'udp-blocked' ? ['    meta l4proto udp drop'] : []),
    '  }',
    '}',
    ''
  ].join('\n')
}

/** Namespaces left by runs whose process is gone (a killed run cannot clean up after itself). */
function removeOrphans (): void {
  if (!existsSync(DIR)) { return }
  for (const name of readdirSync(DIR)) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    if (m == null || Number(m[1]) === process.pid || existsSync(`/proc/${m[1]}`)) { continue }
    try { ip('netns', 'del', name) } catch { /* raced with its owner */ }
  }
}

export class Network {
  readonly relay: NetHost
  readonly homes: Home[] = []
  private readonly namespaces: string[] = []
  private readonly backbone: string
  private v4?: NetHost
  private v6?: NetHost
  private removed = false
  private readonly onExit = (): void => { this.remove() }

  /** The backbone and the relay host; homes and single-family hosts are added on demand. */
  constructor () {
    removeOrphans()
    process.once('exit', this.onExit)
    try {
      this.backbone = this.namespace('bb')
      sysctl(this.backbone, 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1')
      const relay = this.namespace('relay')
      this.link(this.backbone, 'relay', relay, 'eth0')
      this.address(this.backbone, 'relay', '198.51.100.1/24', '2001:db8:100::1/64')
      this.address(relay, 'eth0', `${RELAY_V4}/24`, `${RELAY_V6}/64`)
      ip('-n', relay, 'route', 'add', 'default', 'via', '198.51.100.1')
      ip('-n', relay, '-6', 'route', 'add', 'default', 'via', '2001:db8:100::1')
      this.relay = this.host('relay', relay, [RELAY_V4, RELAY_V6])
    } catch (err) {
      this.remove()
      throw err
    }
  }

  private namespace (label: string): string {
    const name = `${PREFIX}${process.pid}-${label}`
    ip('netns', 'add', name)
    this.namespaces.push(name)
    ip('-n', name, 'link', 'set', 'lo', 'up')
    return name
  }

  private host (label: string, ns: string, addrs: string[]): NetHost {
    return { label, ns, addrs, prefix: ['ip', 'netns', 'exec', ns] }
  }

  /** A veth pair: `aIf` in namespace `a`, `bIf` in `b`, both up. */
  private link (a: string, aIf: string, b: string, bIf: string): void {
    ip('-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b)
    ip('-n', a, 'link', 'set', aIf, 'up')
    ip('-n', b, 'link', 'set', bIf, 'up')
  }

  private address (ns: string, dev: string, ...cidrs: string[]): void {
    for (const cidr of cidrs) {
      if (cidr.includes(':')) {
        ip('-n', ns, '-6', 'addr', 'add', cidr, 'dev', dev, 'nodad')
      } else {
        ip('-n', ns, 'addr', 'add', cidr, 'dev', dev)
      }
    }
  }

  /** No IPv6 at all in a namespace (set before its links exist, and on each one). */
  private ipv4Only (ns: string, ...devs: string[]): void {
    sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', ...devs.map(d => `net.ipv6.conf.${d}.disable_ipv6=1`))
  }

  /** A home: a NAT router with a public address on the backbone, and one host on its LAN. IPv4 only. */
  addHome (mode: NatMode): Home {
    const index = this.homes.length + 1
    if (index > 14) { throw new Error('at most 14 homes (one /28 of 203.0.113.0/24 each)') }
    const router = this.namespace(`h${index}r`)
    const hostNs = this.namespace(`h${index}`)
    this.ipv4Only(router)
    this.ipv4Only(hostNs)
    // the new address becomes primary when the old one is removed, and the LAN route stays
    sysctl(router, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.promote_secondaries=1', 'net.ipv4.conf.default.promote_secondaries=1')
    sysctl(hostNs, 'net.ipv4.conf.all.promote_secondaries=1', 'net.ipv4.conf.default.promote_secondaries=1')
    const base = index * 16
    this.link(this.backbone, `home${index}`, router, 'wan')
    this.address(this.backbone, `home${index}`, `203.0.113.${base + 1}/28`)
    const publicAddr = `203.0.113.${base + 2}`
    this.address(router, 'wan', `${publicAddr}/28`)
    ip('-n', router, 'route', 'add', 'default', 'via', `203.0.113.${base + 1}`)
    this.link(router, 'lan', hostNs, 'eth0')
    this.address(router, 'lan', `198.18.${index}.1/24`)
    const lanAddr = `198.18.${index}.2`
    this.address(hostNs, 'eth0', `${lanAddr}/24`)
    ip('-n', hostNs, 'route', 'add', 'default', 'via', `198.18.${index}.1`)
    const home: Home = { index, host: this.host(`home${index}`, hostNs, [lanAddr]), router, publicAddr, mode }
    this.setMode(home, mode)
    this.homes.push(home)
    return home
  }

  /**
   * Change what a home router does. Flows the router already tracks keep their mapping until they go quiet; new
   * flows (a new call's sockets) follow the new rules.
   */
  setMode (home: Home, mode: NatMode): void {
    inNs(home.router, 'nft', ['-f', '-'], natRules(mode))
    home.mode = mode
  }

  /** A host with a public IPv4 address and no IPv6 at all. */
  ipv4Host (): NetHost {
    if (this.v4 != null) { return this.v4 }
    const ns = this.namespace('v4')
    this.ipv4Only(ns)
    this.link(this.backbone, 'v4', ns, 'eth0')
    this.address(this.backbone, 'v4', '192.0.2.1/24')
    this.address(ns, 'eth0', '192.0.2.10/24')
    ip('-n', ns, 'route', 'add', 'default', 'via', '192.0.2.1')
    this.v4 = this.host('v4', ns, ['192.0.2.10'])
    return this.v4
  }

  /** A host with a public IPv6 address and no IPv4 address (loopback aside). */
  ipv6Host (): NetHost {
    if (this.v6 != null) { return this.v6 }
    const ns = this.namespace('v6')
    this.link(this.backbone, 'v6', ns, 'eth0')
    this.address(this.backbone, 'v6', '2001:db8:6::1/64')
    this.address(ns, 'eth0', '2001:db8:6::10/64')
    ip('-n', ns, '-6', 'route', 'add', 'default', 'via', '2001:db8:6::1')
    this.v6 = this.host('v6', ns, ['2001:db8:6::10'])
    return this.v6
  }

  /**
   * Give a home's router a new public address and remove the old one (an ISP renumbering the line, a move to
   * another network): the router's NAT forgets every mapping of the old address. Returns the new address.
   */
  replacePublicAddress (home: Home): string {
    const base = home.index * 16
    const last = Number(home.publicAddr.split('.')[3])
    const next = `203.0.113.${last + 1 > base + 14 ? base + 2 : last + 1}`
    this.address(home.router, 'wan', `${next}/28`)
    ip('-n', home.router, 'addr', 'del', `${home.publicAddr}/28`, 'dev', 'wan')
    ip('-n', home.router, 'route', 'replace', 'default', 'via', `203.0.113.${base + 1}`)
    home.publicAddr = next
    return next
  }

  /** Give a home's host a new LAN address and remove the old one (a new DHCP lease). Returns the new address. */
  replaceLanAddress (home: Home): string {
    const old = home.host.addrs[0]
    const last = Number(old.split('.')[3])
    const next = `198.18.${home.index}.${last >= 254 ? 2 : last + 1}`
    this.address(home.host.ns, 'eth0', `${next}/24`)
    ip('-n', home.host.ns, 'addr', 'del', `${old}/24`, 'dev', 'eth0')
    ip('-n', home.host.ns, 'route', 'replace', 'default', 'via', `198.18.${home.index}.1`)
    home.host.addrs = [next]
    return next
  }

  /**
   * Delete every namespace (their links go with them). Programs still running inside keep their namespace alive
   * but cut off: stop them first.
   */
  remove (): void {
    if (this.removed) { return }
    this.removed = true
    process.off('exit', this.onExit)
    for (const ns of this.namespaces.reverse()) {
      try { ip('netns', 'del', ns) } catch { /* already gone */ }
    }
  }
}
