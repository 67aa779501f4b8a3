import { expect } from 'aegir/chai'
import { canMakeHosts, makeHost, removeHost } from '../../harness/netns.ts'
import { cleanup, run, startPeer, startRelay } from '../../harness/procs.ts'
import type { TestHost } from '../../harness/netns.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'

describe('the relay as an IPv4-to-IPv6 gateway', function () {
  this.timeout(90_000)
  let v4: TestHost
  let v6: TestHost
  let relay: RelayProc
  let alice: Proc
  let bob: Proc

  before(async function () {
    const why = canMakeHosts()
    if (why != null) { throw new Error(`cannot run the gateway test: ${why}`) }
    v4 = makeHost(4, 1)
    v6 = makeHost(6, 2)
    // the relay is dual-stack: it listens on the IPv4 link and on the IPv6 link
    relay = await startRelay({ listen: [`/ip4/${v4.gateway}/tcp/0`, `/ip6/${v6.gateway}/tcp/0`], http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    alice = startPeer(key, 'alice-v4', [relay.tcp(4)], { prefix: v4.prefix, listen: [`/ip4/${v4.addr}/tcp/0`, '/p2p-circuit'] })
    bob = startPeer(key, 'bob-v6', [relay.tcp(6)], { prefix: v6.prefix, listen: [`/ip6/${v6.addr}/tcp/0`, '/p2p-circuit'] })
  })

  after(async () => {
    await cleanup()
    if (v4 != null) { removeHost(v4) }
    if (v6 != null) { removeHost(v6) }
  })

  it('the two hosts really cannot reach each other directly', async () => {
    // a plain TCP connect from the IPv4-only host to the IPv6-only host's address must fail
    const { spawnSync } = await import('node:child_process')
    const probe = spawnSync('ip', ['netns', 'exec', v4.name, process.execPath, '-e',
      `require('net').connect({host:'${v6.addr}',port:9}).on('error',e=>{console.log(e.code);process.exit(0)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)})`], { timeout: 10_000 })
    expect(probe.stdout.toString()).to.match(/ENETUNREACH|EHOSTUNREACH|EADDRNOTAVAIL|ECONNREFUSED/)
    expect(probe.stdout.toString()).to.not.include('CONNECTED')
  })

  it('an IPv4-only peer and an IPv6-only peer see each other, through the relay', async () => {
    const aliceId = (await alice.waitFor('ready', e => e.event === 'ready')).peerId
    const bobId = (await bob.waitFor('ready', e => e.event === 'ready')).peerId
    const seenByAlice = await alice.waitFor('bob joining', e => e.event === 'peer:join' && e.peerId === bobId, 45_000)
    const seenByBob = await bob.waitFor('alice joining', e => e.event === 'peer:join' && e.peerId === aliceId, 45_000)
    expect(seenByAlice.relayed).to.equal(true)
    expect(seenByBob.relayed).to.equal(true)
    expect(seenByAlice.via.join(' ')).to.include(`/p2p/${relay.peerId}/p2p-circuit`)
  })

  it('they chat both ways', async () => {
    alice.send('hello over IPv4')
    bob.send('hello over IPv6')
    expect((await bob.waitFor('alice\'s line', e => e.event === 'chat' && e.text === 'hello over IPv4')).name).to.equal('alice-v4')
    expect((await alice.waitFor('bob\'s line', e => e.event === 'chat' && e.text === 'hello over IPv6')).name).to.equal('bob-v6')
  })
})
