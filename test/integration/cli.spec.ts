import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { cleanup, run, startPeer, startRelay, tempDir } from '../../harness/procs.ts'
import { parseRoomKey } from '../../protocols/room-key/index.ts'

describe('the freeflow command', function () {
  this.timeout(60_000)
  after(cleanup)

  it('`room new` prints one fresh, valid key and nothing else', async () => {
    const a = await run(['room', 'new'])
    const b = await run(['room', 'new'])
    expect(a.code).to.equal(0)
    expect(a.stdout).to.match(/^[a-z2-7]{32}\n$/)
    expect(a.stdout).to.not.equal(b.stdout)
    await parseRoomKey(a.stdout)
  })

  it('a malformed room key exits 2 with one line', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const typo = key.slice(0, 10) + (key[10] === 'q' ? 'r' : 'q') + key.slice(11)
    for (const bad of ['short', typo, key + 'a', key.replace(/.$/, '1')]) {
      const r = await run(['join', bad, '--name', 'x', '--bootstrap', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWBkHbH8928TBCxF17KvJeexivpRpGF4bieKBK8it9BrE1'])
      expect(r.code, bad).to.equal(2)
      expect(r.stderr.trim().split('\n'), bad).to.have.lengthOf(1)
      expect(r.stderr).to.match(/^freeflow: room key/)
    }
  })

  it('the room key from FREEFLOW_ROOM_KEY or a file keeps it out of `ps`; on the command line it works, and the command says who can read it', async () => {
    const relay = await startRelay({ http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    const file = join(tempDir(), 'key')
    writeFileSync(file, key + '\n', { mode: 0o600 })
    const fromEnv = startPeer('', 'env', [relay.tcp()], { env: { FREEFLOW_ROOM_KEY: key } })
    const fromFile = startPeer('', 'file', [relay.tcp()], { args: ['--key-file', file] })
    const fromArg = startPeer(key, 'arg', [relay.tcp()])
    for (const p of [fromEnv, fromFile, fromArg]) { await p.waitFor('ready', e => e.event === 'ready', 30_000) }
    // one room: each hears the others
    await fromEnv.waitFor('the one with the file', e => e.event === 'peer:join' && e.name === 'file', 30_000)
    await fromFile.waitFor('the one with the argument', e => e.event === 'peer:join' && e.name === 'arg', 30_000)
    for (const p of [fromEnv, fromFile]) {
      expect(p.child.spawnargs.join(' ')).to.not.include(key)
      expect(p.stderr).to.equal('')
    }
    expect(fromArg.stderr.trim().split('\n')).to.deep.equal([
      'freeflow: note: a room key on the command line can be read by other users of this machine (ps); use FREEFLOW_ROOM_KEY, --key-file <file> or the prompt'
    ])
    // no key anywhere, and nobody at a terminal to ask: one line, exit code 2; an unreadable file the same
    const none = await run(['join', '--name', 'x', '--bootstrap', relay.tcp()])
    expect(none.code).to.equal(2)
    expect(none.stderr.trim().split('\n')).to.have.lengthOf(1)
    expect(none.stderr).to.match(/^freeflow: no room key: give it in FREEFLOW_ROOM_KEY/)
    const missing = await run(['join', '--name', 'x', '--bootstrap', relay.tcp(), '--key-file', join(tempDir(), 'nothing')])
    expect(missing.code).to.equal(2)
    expect(missing.stderr.trim()).to.match(/^freeflow: cannot read the room key from .*: ENOENT$/)
  })

  it('a bootstrap address without a peer id, or no bootstrap, is a usage error', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    const noId = await run(['join', key, '--name', 'x', '--bootstrap', '/ip4/127.0.0.1/tcp/9'])
    expect(noId.code).to.equal(2)
    expect(noId.stderr).to.include('must end in /p2p/')
    const none = await run(['join', key, '--name', 'x'])
    expect(none.code).to.equal(2)
    const unknown = await run(['fly'])
    expect(unknown.code).to.equal(2)
  })

  it('an unreachable bootstrap is reported and retried, not a crash', async () => {
    const key = (await run(['room', 'new'])).stdout.trim()
    // a relay that stopped: its address is real but nobody listens there any more
    const relay = await startRelay({ http: false })
    const addr = relay.tcp()
    relay.proc.kill('SIGTERM')
    await relay.proc.exited
    const peer = startPeer(key, 'lonely', [addr])
    await peer.waitFor('ready', e => e.event === 'ready')
    await peer.waitFor('a first failure', e => e.event === 'bootstrap' && e.connected === false)
    await peer.waitFor('a retry', () => peer.of('bootstrap').filter(e => e.connected === false).length >= 2, 15_000)
    expect(peer.running).to.equal(true)
    peer.kill('SIGINT')
    expect((await peer.exited).code).to.equal(0)
  })

  it('the relay serves /healthz, and Prometheus /metrics on its own listener', async () => {
    const relay = await startRelay()
    const health = await (await fetch(`${relay.http}/healthz`)).json()
    expect(health.status).to.equal('ok')
    expect(health.peerId).to.equal(relay.peerId)
    const metrics = await (await fetch(`${relay.metrics}/metrics`)).text()
    expect(metrics).to.include('freeflow_relay_reservations')
    expect(metrics).to.include('libp2p_')
    relay.proc.kill('SIGTERM')
    expect((await relay.proc.exited).code).to.equal(0)
  })

  it('an identity persists in the data directory, readable only by its owner', async () => {
    const { tempDir } = await import('../../harness/procs.ts')
    const { statSync } = await import('node:fs')
    const { join } = await import('node:path')
    const dir = join(tempDir(), 'peer')
    const key = (await run(['room', 'new'])).stdout.trim()
    const relay = await startRelay({ http: false })
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      const p = startPeer(key, 'same', [relay.tcp()], { dataDir: dir })
      ids.push((await p.waitFor('ready', e => e.event === 'ready')).peerId)
      p.kill('SIGTERM')
      await p.exited
    }
    expect(ids[0]).to.equal(ids[1])
    expect(statSync(dir).mode & 0o777).to.equal(0o700)
    expect(statSync(join(dir, 'identity.key')).mode & 0o777).to.equal(0o600)
  })
})
