/**
 * A real relay process with its real coturn, on loopback (IPv4 and IPv6): STUN answers, credentials obtained over
 * libp2p open allocations over UDP, TCP and TLS and relay data, forged and expired credentials and a full quota are
 * refused, a killed coturn comes back while /healthz says degraded, and TURN that is off (--no-turn, no coturn
 * installed) leaves the relay working.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { StunError, TurnClient } from '../../harness/coturn.ts'
import { cleanup, Proc, run, sleep, tempDir } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { NotConnectedError, turnUserId } from '../../protocols/turn/index.ts'
import { until } from '../helpers/assert.ts'
import type { Address, Transport } from '../../harness/coturn.ts'
import type { FreeflowEvent } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { RelayTurnCredentials, TurnClient as TurnCredentials } from '../../protocols/turn/index.ts'

const run$ = promisify(execFile)

interface RelayRun { proc: Proc, dataDir: string, ready: FreeflowEvent, http: string, metrics: string }

async function startRelay (args: string[], prefix?: string[]): Promise<RelayRun> {
  const dataDir = join(tempDir(), 'relay')
  const proc = new Proc('relay', ['relay', '--json', '--data-dir', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip6/::1/tcp/0', '--http', '127.0.0.1:0', '--metrics', '127.0.0.1:0', ...args], prefix)
  const ready = await proc.waitFor('listening', e => e.event === 'listening', 60_000)
  return { proc, dataDir, ready, http: ready.http, metrics: ready.metrics }
}

async function healthz (relay: RelayRun): Promise<any> {
  return (await fetch(`${relay.http}/healthz`)).json()
}

/** One sample of a Prometheus metric (0 when absent). */
async function metric (relay: RelayRun, name: string): Promise<number> {
  const text = await (await fetch(`${relay.metrics}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith(name + ' '))
  return line == null ? 0 : Number(line.split(' ').at(-1))
}

/** The TURN server behind a URL such as `turn:[::1]:3478?transport=tcp`. */
function target (url: string): { host: string, port: number, transport: Transport } {
  const m = /^(stun|turns?):\[?([^\]]+?)\]?:(\d+)(\?transport=(udp|tcp))?$/.exec(url)
  if (m == null) { throw new Error(`not a TURN URL: ${url}`) }
  return { host: m[2], port: Number(m[3]), transport: m[1] === 'turns' ? 'tls' : (m[5] as Transport | undefined) ?? 'udp' }
}

async function allocate (url: string, c: { username: string, credential: string }, family?: 4 | 6): Promise<{ client: TurnClient, relayed: Address }> {
  const client = await TurnClient.connect(target(url))
  try {
    const { relayed } = await client.allocate(c.username, c.credential, { family })
    return { client, relayed }
  } catch (err) {
    client.close()
    throw err
  }
}

async function refusal (p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (err) {
    return err
  }
  throw new Error('expected a refusal')
}

describe('STUN and TURN on the relay', function () {
  this.timeout(180_000)
  let relay: RelayRun
  let peer: PeerNode
  let creds: RelayTurnCredentials
  let urls: string[]
  const turnEvents = (): FreeflowEvent[] => relay.proc.of('turn')

  before(async () => {
    const dir = tempDir()
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    relay = await startRelay(['--turn-port', '0', '--turn-tls-port', '0', '--turn-tls-cert', join(dir, 'cert.pem'), '--turn-tls-key', join(dir, 'key.pem'),
      '--turn-allow-private', '--turn-user-quota', '2'])
    await relay.proc.waitFor('TURN up', e => e.event === 'turn' && e.status === 'up', 30_000)
    urls = relay.ready.turnUrls
    peer = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [relay.ready.addrs[0]] })
    const service = peer.services.turn as TurnCredentials
    await until('credentials over libp2p', () => service.credentials().length > 0)
    creds = service.credentials()[0]
  })

  after(async () => {
    await peer?.stop()
    await cleanup()
  })

  it('lists STUN, TURN and TURNS URLs of both families; keeps its secret and configuration private', async () => {
    const port = target(urls[0]).port
    const tls = target(urls.find(u => u.startsWith('turns:')) ?? '').port
    for (const h of ['127.0.0.1', '[::1]']) {
      expect(urls).to.include.members([`stun:${h}:${port}`, `turn:${h}:${port}?transport=udp`, `turn:${h}:${port}?transport=tcp`, `turns:${h}:${tls}?transport=tcp`])
    }
    const boot = await (await fetch(`${relay.http}/bootstrap.json`)).json()
    expect(boot.turnUrls).to.deep.equal(urls)
    expect(JSON.stringify(boot)).to.not.match(/credential|username/)
    const health = await healthz(relay)
    expect(health.status).to.equal('ok')
    expect(health.turn).to.include({ status: 'up' })
    expect(creds.urls).to.deep.equal(urls)
    expect(await metric(relay, 'freeflow_turn_credential_requests_total{result="ok"}')).to.be.at.least(1)
    expect(statSync(join(relay.dataDir, 'turn')).mode & 0o777).to.equal(0o700)
    for (const f of ['secret', 'turnserver.conf']) { expect(statSync(join(relay.dataDir, 'turn', f)).mode & 0o777, f).to.equal(0o600) }
  })

  it('answers STUN Binding (turnutils_stunclient over UDP, and over TCP on IPv6)', async () => {
    const { port } = target(urls[0])
    const { stdout } = await run$('turnutils_stunclient', ['-p', String(port), '127.0.0.1'], { timeout: 10_000 })
    expect(stdout).to.match(/UDP reflexive addr: 127\.0\.0\.1:\d+/)
    const client = await TurnClient.connect({ host: '::1', port, transport: 'tcp' })
    expect(await client.binding()).to.include({ family: 6, address: '::1' })
    client.close()
  })

  it('allocates with credentials from libp2p over UDP, TCP and TLS, relays data both ways, and counts it', async () => {
    const udp = urls.find(u => u.startsWith('turn:127.0.0.1') && u.endsWith('udp')) ?? ''
    const { client, relayed } = await allocate(udp, creds)
    expect(relayed.family).to.equal(4)
    const other = createSocket('udp4')
    await new Promise<void>(resolve => other.bind(0, '127.0.0.1', () => { resolve() }))
    const otherAddr: Address = { family: 4, address: '127.0.0.1', port: other.address().port }
    const heard: Buffer[] = []
    other.on('message', (msg, from) => { heard.push(msg); other.send(Buffer.concat([Buffer.from('re:'), msg]), from.port, from.address) })
    const back: Buffer[] = []
    client.onData((_, data) => { back.push(data) })
    await client.createPermission(otherAddr)
    const payload = Buffer.alloc(1000, 7)
    for (let i = 0; i < 5; i++) { client.send(otherAddr, payload) }
    await until('the peer hears the client, and the client hears back', () => heard.length === 5 && back.length === 5)
    expect(heard[0].equals(payload)).to.equal(true)
    expect(back[0].subarray(0, 3).toString()).to.equal('re:')
    expect(await client.refresh(0)).to.equal(0)
    client.close()
    other.close()
    await until('the bytes counted', async () => await metric(relay, 'freeflow_turn_relayed_bytes_total{direction="to_peers"}') >= 5000)
    expect(await metric(relay, 'freeflow_turn_relayed_bytes_total{direction="from_peers"}')).to.be.at.least(5015)
    // a client over IPv6 gets an IPv4 relayed address by default, which IPv4-only peers can reach
    await until('no allocation left', async () => (await healthz(relay)).turn.allocations === 0)
    const v6 = await allocate(urls.find(u => u.startsWith('turn:[::1]') && u.endsWith('tcp')) ?? '', creds)
    expect(v6.relayed.family).to.equal(4)
    v6.client.close()
    // over TLS, asking for IPv6: an IPv6 relayed address
    await until('no allocation left', async () => (await healthz(relay)).turn.allocations === 0)
    const tls = await allocate(urls.find(u => u.startsWith('turns:[::1]')) ?? '', creds, 6)
    expect(tls.relayed).to.include({ family: 6, address: '::1' })
    tls.client.close()
    expect(await metric(relay, 'freeflow_turn_allocations_total')).to.be.at.least(3)
  })

  it('refuses forged and expired credentials, and counts the refusals', async () => {
    const udp = urls.find(u => u.endsWith('udp')) ?? ''
    const before = await metric(relay, 'freeflow_turn_refused_total{code="401"}')
    expect((await refusal(allocate(udp, { username: creds.username, credential: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }))).code).to.equal(401)
    const secret = readFileSync(join(relay.dataDir, 'turn', 'secret'), 'utf8').trim()
    const expired = `${Math.floor(Date.now() / 1000) - 60}:${await turnUserId(peer.peerId)}`
    const signed = createHmac('sha1', secret).update(expired).digest('base64')
    expect((await refusal(allocate(udp, { username: expired, credential: signed }))).code).to.equal(401)
    expect((await refusal(allocate(udp, { username: '', credential: '' }))).code).to.equal(401)
    await until('refusals counted', async () => await metric(relay, 'freeflow_turn_refused_total{code="401"}') >= before + 2)
  })

  it('holds one credential to its allocation quota (--turn-user-quota 2)', async () => {
    await until('no allocation left', async () => (await healthz(relay)).turn.allocations === 0)
    const udp = urls.find(u => u.endsWith('udp')) ?? ''
    const held = [await allocate(udp, creds), await allocate(udp, creds)]
    const err = await refusal(allocate(udp, creds))
    expect(err).to.be.instanceOf(StunError)
    expect(err.code).to.equal(486)
    expect((await healthz(relay)).turn.allocations).to.equal(2)
    await Promise.all(held.map(async h => h.client.refresh(0)))
    held.forEach(h => { h.client.close() })
  })

  it('a peer without a connection to the relay gets no credentials', async () => {
    const lone = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      const service = lone.services.turn as TurnCredentials
      expect(await refusal(service.request(peerIdFromString(relay.ready.peerId)))).to.be.instanceOf(NotConnectedError)
      expect(service.iceServers()).to.deep.equal([])
    } finally {
      await lone.stop()
    }
  })

  it('restarts a killed coturn; /healthz says degraded, with the reason, until it is back', async () => {
    const first = turnEvents().filter(e => e.status === 'up').at(-1)
    const port = target(urls[0]).port
    const downs = turnEvents().filter(e => e.status === 'down').length
    process.kill(first?.pid, 'SIGKILL')
    await relay.proc.waitFor('TURN down', () => turnEvents().filter(e => e.status === 'down').length > downs)
    expect(turnEvents().at(-1)?.reason).to.match(/^turnserver exited \(SIGKILL\)/)
    // the relay waits (backoff) before starting it again: hold its UDP port meanwhile, so it cannot come back yet
    const holder = createSocket('udp4')
    await new Promise<void>(resolve => holder.bind({ port, address: '127.0.0.1', exclusive: true }, () => { resolve() }))
    try {
      await relay.proc.waitFor('TURN down', e => e.event === 'turn' && e.status === 'down' && /in use/.test(e.reason), 20_000)
      const health = await healthz(relay)
      expect(health.status).to.equal('degraded')
      expect(health.reason).to.match(/^TURN is down: UDP 127\.0\.0\.1:\d+ is in use/)
      expect(await metric(relay, 'freeflow_turn_up')).to.equal(0)
    } finally {
      holder.close()
    }
    const back = await relay.proc.waitFor('TURN up again', e => e.event === 'turn' && e.status === 'up' && e.pid !== first?.pid, 30_000)
    expect((await healthz(relay)).status).to.equal('ok')
    expect(await metric(relay, 'freeflow_turn_restarts_total')).to.be.at.least(1)
    // the secret outlives coturn: a credential handed out before the restart still opens an allocation
    const a = await allocate(urls.find(u => u.endsWith('udp')) ?? '', creds)
    a.client.close()
    expect(back.pid).to.be.a('number')
  })

  it('stops coturn when the relay stops', async () => {
    const pid = turnEvents().filter(e => e.status === 'up').at(-1)?.pid
    relay.proc.kill('SIGTERM')
    expect((await relay.proc.exited).code).to.equal(0)
    expect(() => process.kill(pid, 0)).to.throw(/ESRCH/)
  })
})

describe('a relay without TURN', function () {
  // each case starts one or more fresh Node processes: slow on a loaded machine, whatever the code does
  this.timeout(180_000)
  after(cleanup)

  it('--no-turn: no URLs, nothing started, healthy', async () => {
    const relay = await startRelay(['--no-turn'])
    expect(relay.ready.turnUrls).to.deep.equal([])
    const off = await relay.proc.waitFor('TURN off', e => e.event === 'turn')
    expect(off).to.include({ status: 'off', reason: 'switched off (--no-turn)' })
    const health = await healthz(relay)
    expect(health.status).to.equal('ok')
    expect(health.turn.status).to.equal('off')
    expect(existsSync(join(relay.dataDir, 'turn'))).to.equal(false)
  })

  it('without coturn installed: one line that says so, and the relay runs', async () => {
    const relay = await startRelay([], ['env', 'PATH=/nonexistent'])
    const off = await relay.proc.waitFor('TURN off', e => e.event === 'turn')
    expect(off.status).to.equal('off')
    expect(off.reason).to.equal('turnserver (coturn) is not installed: apt-get install coturn')
    expect((await healthz(relay)).status).to.equal('ok')
    const human = new Proc('relay-text', ['relay', '--data-dir', join(tempDir(), 'r'), '--listen', '/ip4/127.0.0.1/tcp/0'], ['env', 'PATH=/nonexistent'])
    await human.waitFor('the TURN line', e => e.event === 'non-json' && /TURN/.test(e.line), 60_000)
    await sleep(500)
    const lines = human.of('non-json').filter(e => /TURN|turnserver|coturn/.test(e.line))
    expect(lines.map(e => e.line)).to.deep.equal(['TURN off: turnserver (coturn) is not installed: apt-get install coturn'])
  })

  it('bad TURN flags are one sentence and exit code 2', async () => {
    const half = await run(['relay', '--turn-tls-cert', '/nonexistent.pem'])
    expect(half.code).to.equal(2)
    expect(half.stderr).to.match(/^freeflow: --turn-tls-cert and --turn-tls-key go together/)
    const missing = await run(['relay', '--data-dir', join(tempDir(), 'r'), '--turn-tls-cert', '/nonexistent.pem', '--turn-tls-key', '/nonexistent.pem'])
    expect(missing.code).to.equal(2)
    expect(missing.stderr.trim()).to.equal('freeflow: --turn-tls-cert: cannot read /nonexistent.pem')
    const port = await run(['relay', '--turn-port', '70000'])
    expect(port.code).to.equal(2)
  })
})
