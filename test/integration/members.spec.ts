import { expect } from 'aegir/chai'
import { cleanup, run, startPeer, startRelay } from '../../harness/procs.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'

describe('members tell each other about members', function () {
  this.timeout(90_000)
  let north: RelayProc
  let south: RelayProc
  let alice: Proc
  let bob: Proc
  let carol: Proc

  before(async () => {
    // two relays that do not know each other: two separate DHTs. Alice only knows the north one, Carol only the
    // south one; Bob knows both. Alice and Carol can only learn of each other from Bob.
    north = await startRelay({ http: false })
    south = await startRelay({ http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    bob = startPeer(key, 'bob', [north.tcp(), south.tcp()])
    await bob.waitFor('ready', e => e.event === 'ready')
    alice = startPeer(key, 'alice', [north.tcp()])
    carol = startPeer(key, 'carol', [south.tcp()])
  })

  after(cleanup)

  it('alice and carol meet although no DHT holds both of them', async () => {
    const carolId = (await carol.waitFor('ready', e => e.event === 'ready')).peerId
    const aliceId = (await alice.waitFor('ready', e => e.event === 'ready')).peerId
    await alice.waitFor('carol joining', e => e.event === 'peer:join' && e.peerId === carolId, 45_000)
    await carol.waitFor('alice joining', e => e.event === 'peer:join' && e.peerId === aliceId, 45_000)
  })

  it('and chat reaches all three', async () => {
    alice.send('from the north')
    carol.send('from the south')
    expect((await carol.waitFor('alice\'s line', e => e.event === 'chat' && e.text === 'from the north')).name).to.equal('alice')
    expect((await alice.waitFor('carol\'s line', e => e.event === 'chat' && e.text === 'from the south')).name).to.equal('carol')
    await bob.waitFor('both lines', () => bob.of('chat').length >= 2)
  })
})
