/**
 * Ghost members (issue 10 item 4): someone who holds the room key signs presence with throwaway keys. Every such
 * presence opens and verifies, but none of its authors ever completed a handshake: none may be shown, dialled or
 * called. Real processes: a relay, two CLI members (alice, bob); the attacker is an in-process node with the key.
 */
import { createServer } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { cleanup, run, sleep, startPeer, startRelay } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { sealEnvelope } from '../../protocols/room/envelope.ts'
import { Presence, Role } from '../../protocols/room/pb/room.ts'
import { deriveRoomKeys } from '../../protocols/room-key/index.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { Server, Socket } from 'node:net'

const GHOSTS = 500

describe('ghost members', function () {
  this.timeout(120_000)
  let relay: RelayProc
  let keys: RoomKeys
  let alice: Proc
  let bob: Proc
  let aliceId: string
  let attacker: PeerNode
  let trap: Server
  const dialled: Socket[] = []

  before(async () => {
    relay = await startRelay({ http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    keys = await deriveRoomKeys(key)
    alice = startPeer(key, 'alice', [relay.tcp()])
    bob = startPeer(key, 'bob', [relay.tcp()])
    const ready = await alice.waitFor('ready', e => e.event === 'ready')
    aliceId = ready.peerId
    await alice.waitFor('bob joining', e => e.event === 'peer:join' && e.name === 'bob', 30_000)
    // where every ghost says it can be reached: any dial to a ghost lands here
    trap = createServer(socket => { dialled.push(socket); socket.on('error', () => {}) })
    await new Promise<void>(resolve => trap.listen(0, '127.0.0.1', resolve))
    attacker = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    const tcp = (ready.addrs as string[]).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))!
    await attacker.dial(multiaddr(tcp))
  })

  after(async () => {
    for (const s of dialled) { s.destroy() }
    trap?.close()
    await attacker?.stop()
    await cleanup()
  })

  it(`${GHOSTS} presences signed by throwaway keys: 0 shown, 0 dials, and the room keeps working`, async () => {
    const pubsub = attacker.services.pubsub
    pubsub.subscribe(keys.topic)
    const wanted = aliceId
    const aliceSubscribed = (): boolean => pubsub.getSubscribers(keys.topic).some((p: any) => p.toString() === wanted)
    for (let i = 0; i < 50 && !aliceSubscribed(); i++) { await sleep(100) }
    // otherwise nothing below would reach alice and the test would prove nothing
    expect(pubsub.getSubscribers(keys.topic).map((p: any) => p.toString())).to.include(aliceId)
    const port = (trap.address() as { port: number }).port
    let published = 0
    for (let i = 0; i < GHOSTS; i++) {
      const ghostKey = await generateKeyPair('Ed25519')
      const ghost = peerIdFromPrivateKey(ghostKey)
      const sealed = await sealEnvelope(keys, ghost, ghostKey, {
        ts: BigInt(Date.now()),
        presence: {
          kind: Presence.Kind.JOIN,
          name: `ghost ${i}`,
          addrs: [multiaddr(`/ip4/127.0.0.1/tcp/${port}`).bytes],
          role: Role.PARTICIPANT,
          recordingSince: 0n
        }
      })
      // and a chat line from every tenth ghost
      const chat = i % 10 === 0
        ? await sealEnvelope(keys, ghost, ghostKey, { ts: BigInt(Date.now()), chat: { id: crypto.getRandomValues(new Uint8Array(16)), name: `ghost ${i}`, text: `boo ${i}` } })
        : undefined
      // the topic carries no gossipsub author (StrictNoSign): the envelope's signature, the ghost's, is all there
      // is, and the attacker publishes it as any member would
      for (const data of chat == null ? [sealed] : [sealed, chat]) {
        if (await pubsub.publish(keys.topic, data).then(() => true, () => false)) { published++ }
      }
    }
    // what a forwarder that relays valid sealed messages would do: they reached alice (the control below shows the
    // channel works); give her time to react to them
    await sleep(3_000)
    const shown = alice.of('peer:join').filter(e => String(e.name).startsWith('ghost')).length
    const chats = alice.of('chat').filter(e => String(e.text).startsWith('boo')).length
    // eslint-disable-next-line no-console
    console.log(`      ${GHOSTS} ghost presences (${published} messages published): ${shown} shown, ${chats} ghost chat lines shown, ${dialled.length} dials to the ghosts' address`)
    expect(published).to.equal(GHOSTS + GHOSTS / 10)
    expect(shown).to.equal(0)
    expect(chats).to.equal(0)
    expect(dialled).to.have.lengthOf(0)
    expect(alice.running).to.equal(true)
    // the attacker's channel to alice works: a line from a real member on it arrives (bob's, through the mesh)
    bob.send('still here')
    await alice.waitFor('bob\'s line', e => e.event === 'chat' && e.text === 'still here')
    expect(alice.of('peer:leave').filter(e => e.name === 'bob')).to.have.lengthOf(0)
  })
})
