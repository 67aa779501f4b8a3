/**
 * Test hosts in network namespaces of our own: each is joined to the namespace the tests run in by a veth pair
 * that carries only one address family. Addresses are from the documentation ranges (192.0.2.0/24, 2001:db8::/32),
 * exist only inside these namespaces, and nothing routes between the hosts: whatever connects them goes through
 * a process in the test namespace.
 */
import { execFileSync } from 'node:child_process'

export interface TestHost {
  name: string
  /** The host's own address. */
  addr: string
  /** The address of the test namespace's end of the link, where the host reaches the relay. */
  gateway: string
  family: 4 | 6
  /** Command prefix that runs a program on this host. */
  prefix: string[]
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

export function canMakeHosts (): string | undefined {
  if (process.getuid?.() !== 0) { return 'making network namespaces needs root' }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
  } catch {
    return 'the `ip` command (iproute2) is missing'
  }
  return undefined
}

/** Create a host with only IPv4 or only IPv6 (index keeps names and subnets apart). */
export function makeHost (family: 4 | 6, index: number): TestHost {
  const name = `ff${family}-${process.pid}-${index}`
  const outer = `ffo${family}${index}${process.pid % 10000}`.slice(0, 15)
  const inner = `ffi${family}${index}${process.pid % 10000}`.slice(0, 15)
  try { ip('netns', 'del', name) } catch { /* none left from an earlier run */ }
  ip('netns', 'add', name)
  ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  let addr: string
  let gateway: string
  if (family === 4) {
    gateway = `192.0.2.${1 + index * 4}`
    addr = `192.0.2.${2 + index * 4}`
    ip('addr', 'add', `${gateway}/30`, 'dev', outer)
    ip('-n', name, 'addr', 'add', `${addr}/30`, 'dev', inner)
    // no IPv6 at all on the link
    execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', `net.ipv6.conf.${inner}.disable_ipv6=1`])
  } else {
    gateway = `2001:db8:${index}::1`
    addr = `2001:db8:${index}::2`
    ip('-6', 'addr', 'add', `${gateway}/64`, 'dev', outer, 'nodad')
    ip('-n', name, '-6', 'addr', 'add', `${addr}/64`, 'dev', inner, 'nodad')
  }
  ip('link', 'set', outer, 'up')
  ip('-n', name, 'link', 'set', inner, 'up')
  return { name, addr, gateway, family, prefix: ['ip', 'netns', 'exec', name] }
}

export function removeHost (host: TestHost): void {
  try { ip('netns', 'del', host.name) } catch { /* already gone */ }
}
