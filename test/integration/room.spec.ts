import { expect } from 'aegir/chai'
import { cleanup, run, sleep, startPeer, startRelay } from '../../harness/procs.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'

const NAMES = ['alice', 'bob', 'carol', 'dave']

describe('a room: one relay and four `freeflow join --json` processes', function () {
  this.timeout(120_000)
  let relay: RelayProc
  let key: string
  let peers: Proc[]
  const ids = new Map<Proc, string>()

  before(async () => {
    relay = await startRelay()
    key = (await run(['room', 'new'])).stdout.trim()
    peers = NAMES.map(name => startPeer(key, name, [relay.tcp()]))
    for (const p of peers) { ids.set(p, (await p.waitFor('ready', e => e.event === 'ready')).peerId) }
  })

  after(cleanup)

  it('each peer sees the other three join, by name', async () => {
    for (const p of peers) {
      for (const q of peers) {
        if (p === q) { continue }
        const join = await p.waitFor(`${q.label} joining`, e => e.event === 'peer:join' && e.peerId === ids.get(q), 30_000)
        expect(join.name).to.equal(q.label)
      }
    }
    for (const p of peers) { expect(p.of('peer:join').filter(e => e.peerId === ids.get(p))).to.be.empty() }
  })

  it('each chat line reaches each other peer exactly once, and not its sender', async () => {
    for (const p of peers) { p.send(`hello from ${p.label}`) }
    for (const p of peers) {
      for (const q of peers) {
        if (p === q) { continue }
        const msg = await p.waitFor(`chat from ${q.label}`, e => e.event === 'chat' && e.text === `hello from ${q.label}`)
        expect(msg.from).to.equal(ids.get(q))
        expect(msg.name).to.equal(q.label)
        expect(msg.history).to.equal(false)
        expect(msg.ts).to.be.a('number')
      }
    }
    await sleep(2_000) // room for a duplicate to show up
    for (const p of peers) {
      const texts = p.of('chat').map(e => e.text)
      expect(texts).to.have.lengthOf(3)
      expect(new Set(texts).size).to.equal(3)
      expect(texts).to.not.include(`hello from ${p.label}`)
    }
  })

  it('the end of stdin is not a goodbye', async () => {
    const bob = peers[1]
    bob.child.stdin!.end()
    peers[0].send('can you still hear me?')
    await bob.waitFor('the line', e => e.event === 'chat' && e.text === 'can you still hear me?')
    await sleep(1_000)
    expect(bob.running).to.equal(true)
    for (const p of peers) { expect(p.of('peer:leave')).to.be.empty() }
  })

  it('a fifth, late joiner gets the history once, in order, marked as history', async () => {
    const eve = startPeer(key, 'eve', [relay.tcp()])
    const sent = [...peers.map(p => `hello from ${p.label}`), 'can you still hear me?']
    for (const text of sent) { await eve.waitFor(`history "${text}"`, e => e.event === 'chat' && e.text === text, 30_000) }
    await sleep(2_000)
    const history = eve.of('chat')
    expect(history).to.have.lengthOf(5)
    expect(history.every(e => e.history === true)).to.equal(true)
    const ts = history.map(e => e.ts)
    expect(ts).to.deep.equal([...ts].sort((a, b) => a - b))
    for (const p of peers) { await p.waitFor('eve joining', e => e.event === 'peer:join' && e.name === 'eve', 30_000) }
    // and it is a full member: its line reaches everyone live
    eve.send('hi, I am late')
    for (const p of peers) {
      const msg = await p.waitFor('eve\'s line', e => e.event === 'chat' && e.text === 'hi, I am late')
      expect(msg.history).to.equal(false)
    }
    eve.kill('SIGTERM')
    expect((await eve.exited).code).to.equal(0)
  })

  it('a peer with another key sees nobody, and its messages reach nobody', async () => {
    const otherKey = (await run(['room', 'new'])).stdout.trim()
    const mallory = startPeer(otherKey, 'mallory', [relay.tcp()])
    await mallory.waitFor('bootstrap', e => e.event === 'bootstrap' && e.connected === true)
    mallory.send('can anyone read this?')
    peers[0].send('members only')
    await mallory.waitFor('nothing', () => false, 8_000).catch(() => {})
    expect(mallory.of('peer:join')).to.be.empty()
    expect(mallory.of('chat')).to.be.empty()
    for (const p of peers) {
      expect(p.of('peer:join').map(e => e.name)).to.not.include('mallory')
      expect(p.of('chat').map(e => e.text)).to.not.include('can anyone read this?')
    }
  })

  it('SIGTERM leaves the room: the others see peer:leave as a goodbye, and the process exits 0', async () => {
    const dave = peers[3]
    dave.send('goodbye, all')
    await peers[0].waitFor('dave\'s last line', e => e.event === 'chat' && e.text === 'goodbye, all')
    dave.kill('SIGTERM')
    expect((await dave.exited).code).to.equal(0)
    for (const p of peers.slice(0, 3)) {
      const leave = await p.waitFor('dave leaving', e => e.event === 'peer:leave' && e.peerId === ids.get(dave), 5_000)
      expect(leave.reason).to.equal('left')
    }
  })

  it('a killed peer is reported gone within 15 s', async () => {
    const carol = peers[2]
    const killedAt = Date.now()
    carol.kill('SIGKILL')
    for (const p of peers.slice(0, 2)) {
      const leave = await p.waitFor('carol gone', e => e.event === 'peer:leave' && e.peerId === ids.get(carol), 16_000)
      expect(leave.reason).to.equal('timeout')
      expect(leave.at - killedAt).to.be.below(15_000)
    }
  })

  it('the two that remain still chat', async () => {
    peers[1].send('not a word from me')
    await sleep(1_500)
    expect(peers[0].of('chat').map(e => e.text)).to.not.include('not a word from me') // bob's stdin is closed
    peers[0].send('still here?')
    await peers[1].waitFor('the line', e => e.event === 'chat' && e.text === 'still here?')
  })
  it('a pasted page of 20 lines: the CLI sends the first 10, refuses the rest in one line each, and the others get each sent line once', async () => {
    const [alice, bob] = peers
    const lines = Array.from({ length: 20 }, (_, i) => `pasted ${i}`)
    // the line alice sent last has refilled: her bucket is full again (CHAT_BURST / CHAT_RATE = 5 s)
    await sleep(5_000)
    const errorsBefore = alice.of('error').length
    alice.child.stdin!.write(lines.join('\n') + '\n')
    await alice.waitFor('the refusals', () => alice.of('error').length - errorsBefore >= 9)
    await sleep(2_000)
    const refused = alice.of('error').slice(errorsBefore)
    expect(refused.every(e => /^sending too fast/.test(e.message))).to.equal(true)
    const got = bob.of('chat').map(e => e.text).filter(t => t.startsWith('pasted '))
    expect(got.length + refused.length).to.equal(lines.length)
    expect(new Set(got).size).to.equal(got.length)
    expect(got.length).to.be.within(10, 11)
  })
})
