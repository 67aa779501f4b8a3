/**
 * A world to call across: the network of ./network.ts, one real relay with its coturn on the public segment
 * (serving the web app over http on both families), and a Debian chromium per host, running inside the host's
 * namespace through a wrapper script. `close()` stops browsers, the relay and the namespaces, in that order.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { turnCredential } from '../../protocols/turn/credentials.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../browser.ts'
import { Proc, stop, tempDir } from '../procs.ts'
import { Network, RELAY_V4, RELAY_V6 } from './network.ts'
import type { NetHost } from './network.ts'
import type { FreeflowEvent } from '../procs.ts'
import type { Browser } from 'playwright-core'

export { canMakeTopology, Network, natRules } from './network.ts'
export type { Home, NatMode, NetHost } from './network.ts'

/** The relay's web app port (its own namespace: nothing else listens there). */
const HTTP_PORT = 8080

export interface TopologyRelay {
  proc: Proc
  peerId: string
  dataDir: string
  /** Where pages load the web app, per family. */
  origin: { 4: string, 6: string }
  /** STUN/TURN URLs as the relay lists them. */
  turnUrls: string[]
  /** coturn's pid while it runs (for CPU and memory). */
  turnPid(): number | undefined
  ready: FreeflowEvent
}

export interface TurnCredentials { urls: string[], username: string, credential: string }

export class Topology {
  readonly net: Network
  private readonly browsers = new Map<string, Browser>()
  private readonly wrappers: string
  relay?: TopologyRelay

  constructor () {
    this.net = new Network()
    this.wrappers = mkdtempSync(join(tmpdir(), 'freeflow-topology-'))
  }

  /**
   * Start the relay with coturn on the public segment. Its TURN server must relay to the homes' public addresses,
   * which are documentation addresses: coturn's default denied-peer list (relay/turn/config.ts) rightly refuses
   * those on a real relay, so this test relay runs with --turn-allow-private, the flag meant for LANs and tests.
   */
  async startRelay (extraArgs: string[] = []): Promise<TopologyRelay> {
    const dataDir = join(tempDir(), 'relay')
    const listen = [`/ip4/${RELAY_V4}/tcp/4001`, `/ip4/${RELAY_V4}/tcp/4002/ws`, `/ip6/${RELAY_V6}/tcp/4001`, `/ip6/${RELAY_V6}/tcp/4002/ws`]
    const args = ['relay', '--json', '--data-dir', dataDir, ...listen.flatMap(l => ['--listen', l]), '--http', `[::]:${HTTP_PORT}`,
      '--turn-allow-private', '--max-reservations-per-ip', '64', ...extraArgs]
    const proc = new Proc('relay', args, this.net.relay.prefix)
    const ready = await proc.waitFor('listening', e => e.event === 'listening', 60_000)
    await proc.waitFor('TURN up', e => e.event === 'turn' && e.status === 'up', 60_000)
    this.relay = {
      proc,
      peerId: ready.peerId,
      dataDir,
      origin: { 4: `http://${RELAY_V4}:${HTTP_PORT}`, 6: `http://[${RELAY_V6}]:${HTTP_PORT}` },
      turnUrls: ready.turnUrls,
      turnPid: () => proc.of('turn').filter(e => e.status === 'up').at(-1)?.pid,
      ready
    }
    return this.relay
  }

  /**
   * TURN credentials for a plain page (the controls and the relayed-stream bench), made as the relay makes them
   * (REST credentials from its shared secret), valid for an hour.
   */
  async credentials (): Promise<TurnCredentials> {
    if (this.relay == null) { throw new Error('no relay started') }
    const secret = readFileSync(join(this.relay.dataDir, 'turn', 'secret'), 'utf8').trim()
    const username = `${Math.floor(Date.now() / 1000) + 3600}:${randomBytes(8).toString('hex')}`
    return { urls: this.relay.turnUrls, username, credential: await turnCredential(secret, username) }
  }

  /** The page address of the web app for a host (its family's origin) with a room in the link. */
  url (host: NetHost, room: string): string {
    if (this.relay == null) { throw new Error('no relay started') }
    const v4 = host.addrs.some(a => !a.includes(':'))
    return `${this.relay.origin[v4 ? 4 : 6]}/#room=${room}`
  }

  /** The chromium of a host (launched once, inside the host's namespace). */
  async browser (host: NetHost): Promise<Browser> {
    const open = this.browsers.get(host.ns)
    if (open?.isConnected() === true) { return open }
    if (this.relay == null) { throw new Error('start the relay first: pages load the app from it') }
    const wrapper = join(this.wrappers, `${host.ns}.sh`)
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${host.ns} ${CHROMIUM} "$@"\n`)
    chmodSync(wrapper, 0o755)
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${this.relay.origin[4]},${this.relay.origin[6]}`],
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false
    })
    this.browsers.set(host.ns, browser)
    return browser
  }

  /** Close a host's chromium (to give its memory back between cases). */
  async closeBrowser (host: NetHost): Promise<void> {
    const b = this.browsers.get(host.ns)
    this.browsers.delete(host.ns)
    await closeQuietly(b)
  }

  async close (): Promise<void> {
    await Promise.all([...this.browsers.values()].map(closeQuietly))
    this.browsers.clear()
    if (this.relay != null) { await stop([this.relay.proc]) }
    this.net.remove()
    rmSync(this.wrappers, { recursive: true, force: true })
  }
}

async function closeQuietly (browser?: Browser): Promise<void> {
  if (browser == null) { return }
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([browser.close().catch(() => {}), new Promise(resolve => { timer = setTimeout(resolve, 10_000) })])
  clearTimeout(timer)
}
