/* eslint-disable no-console -- each attack prints its figure (sent, shown, dropped) for the log */
/**
 * Chat against a malicious member, between real libp2p nodes in this process (TCP on loopback, an in-process relay
 * for the DHT): a member that floods, a member that stamps its lines with another time, and a member that captured a
 * sealed message and sends it again later, past gossipsub's own seen-cache (the captured gossipsub message, sent
 * straight to a node that has not seen its message id). Each prints its figure.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { CHAT_BURST, CHAT_RATE, CHAT_RECEIVE_SLACK } from '../../protocols/room/constants.ts'
import { openEnvelope, sealEnvelope } from '../../protocols/room/envelope.ts'
import { ChatRateError } from '../../protocols/room/errors.ts'
import { deriveRoomKeys, generateRoomKey } from '../../protocols/room-key/index.ts'
import { sleep } from '../../protocols/util/backoff.ts'
import { createRelay } from '../../relay/relay.ts'
import { rejection, until } from '../helpers/assert.ts'
import { peerNode } from '../helpers/nodes.ts'
import type { ChatMessage, Room, RoomServiceApi, RoomServiceInit } from '../../protocols/room/index.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { Relay } from '../../relay/relay.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

type Node = Libp2p<{ room: RoomServiceApi, pubsub: GossipSub }>

interface Member {
  node: Node
  key: PrivateKey
  room: Room
  chat: ChatMessage[]
}

/** Sealed gossipsub messages as they travel (RPC.Message, unsigned: no from, seqno, signature or key): what a member captures and can send again. */
interface RawMessage { data?: Uint8Array, topic: string }

/** gossipsub internals the replay needs: the message cache, the seen-cache, and sending an RPC to one peer. */
interface GossipInternals {
  mcache: { msgs: Map<string, { message: RawMessage }> }
  seenCache: { clear(): void }
  streamsOutbound: Map<string, unknown>
  sendRpc(id: string, rpc: { subscriptions: never[], messages: RawMessage[] }): boolean
}

function internals (node: Node): GossipInternals {
  return node.services.pubsub as unknown as GossipInternals
}

describe('room chat: rates, freshness and replays', function () {
  this.timeout(90_000)
  let relay: Relay
  const nodes: Node[] = []

  async function node (room: RoomServiceInit = {}): Promise<{ node: Node, key: PrivateKey }> {
    const key = await generateKeyPair('Ed25519')
    const n = await peerNode<Node>(relay.node, key, ['/ip4/127.0.0.1/tcp/0'], { room })
    nodes.push(n)
    return { node: n, key }
  }

  async function join (n: { node: Node, key: PrivateKey }, roomKey: string, name: string): Promise<Member> {
    const room = await n.node.services.room.join(roomKey, { name })
    const chat: ChatMessage[] = []
    room.addEventListener('chat', ({ detail }) => { chat.push(detail) })
    return { ...n, room, chat }
  }

  async function meet (members: Member[]): Promise<void> {
    for (const a of members) {
      for (const b of members) {
        if (a !== b) { await until(`${a.node.peerId} sees ${b.node.peerId}`, () => a.room.isMember(b.node.peerId)) }
      }
    }
  }

  /** A chat line sealed and signed by `m` with any timestamp, published on the topic as gossipsub publishes. */
  async function publish (m: Member, keys: RoomKeys, text: string, ts = Date.now()): Promise<void> {
    const sealed = await sealEnvelope(keys, m.node.peerId, m.key, { ts: BigInt(ts), chat: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'mallory', text } })
    await m.node.services.pubsub.publish(keys.topic, sealed)
  }

  const texts = (m: Member): string[] => m.chat.map(c => c.text)

  before(async () => {
    relay = await createRelay({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  after(async () => {
    await Promise.all(nodes.map(async n => n.stop()))
    await relay?.stop()
  })

  describe('in one room', () => {
    let roomKey: string
    let keys: RoomKeys
    let alice: Member
    let bob: Member
    let mallory: Member

    before(async () => {
      roomKey = await generateRoomKey()
      keys = await deriveRoomKeys(roomKey)
      alice = await join(await node(), roomKey, 'alice')
      bob = await join(await node(), roomKey, 'bob')
      mallory = await join(await node(), roomKey, 'mallory')
      await meet([alice, bob, mallory])
    })

    it('a line stamped 7 days ago or an hour ahead is not shown as live', async () => {
      const now = Date.now()
      await publish(mallory, keys, 'from last week', now - 7 * 24 * 3_600_000)
      await publish(mallory, keys, 'from an hour ahead', now + 3_600_000)
      await publish(mallory, keys, 'from six minutes ago', now - 6 * 60_000)
      await publish(mallory, keys, 'now')
      for (const m of [alice, bob]) { await until('the fresh line', () => texts(m).includes('now')) }
      await sleep(500)
      for (const m of [alice, bob]) {
        expect(texts(m)).to.deep.equal(['now'])
        expect(m.room.chatDropped.stale).to.equal(3)
      }
      console.log(`      stale: sent 4 (3 stamped -7 d, +1 h, -6 min), shown ${bob.chat.length}, dropped as stale ${bob.room.chatDropped.stale}`)
    })

    it('a member that floods 200 lines gets at most its bucket shown; an honest line still comes through', async () => {
      const sent = 200
      const before = { shown: bob.chat.length, dropped: bob.room.chatDropped.rate }
      const start = Date.now()
      for (let i = 0; i < sent; i++) { await publish(mallory, keys, `flood ${i}`) }
      await until('every flood line reached bob', () => bob.chat.length - before.shown + bob.room.chatDropped.rate - before.dropped >= sent)
      const seconds = (Date.now() - start) / 1_000
      const shown = bob.chat.filter(c => c.text.startsWith('flood ')).length
      const dropped = bob.room.chatDropped.rate - before.dropped
      console.log(`      flood: sent ${sent} in ${seconds.toFixed(1)} s, shown ${shown}, dropped ${dropped} (bucket ${CHAT_BURST} + ${CHAT_RECEIVE_SLACK}, ${CHAT_RATE}/s)`)
      expect(shown + dropped).to.equal(sent)
      // the burst passes, then the refill over the time the flood took to arrive; not a line more
      expect(shown).to.be.at.least(CHAT_BURST)
      expect(shown).to.be.at.most(CHAT_BURST + CHAT_RECEIVE_SLACK + Math.ceil(CHAT_RATE * seconds))
      await alice.room.send('still here')
      await until('alice\'s line after the flood', () => texts(bob).includes('still here'))
    })

    it('send refuses to go faster than the others take, with ChatRateError; what it sent is all shown', async () => {
      const sentTexts: string[] = []
      let refused: Error | undefined
      for (let i = 0; i < CHAT_BURST + 5 && refused == null; i++) {
        try {
          await bob.room.send(`burst ${i}`)
          sentTexts.push(`burst ${i}`)
        } catch (err: any) {
          refused = err
        }
      }
      expect(refused).to.be.instanceOf(ChatRateError)
      expect(refused?.message).to.match(/^sending too fast/)
      // the bucket held CHAT_BURST (less any token it regained while sending)
      expect(sentTexts.length).to.be.within(CHAT_BURST, CHAT_BURST + 1)
      await until('every line bob sent reached alice', () => sentTexts.every(t => texts(alice).includes(t)))
      expect(await rejection(bob.room.send('one too many'))).to.be.instanceOf(ChatRateError)
      console.log(`      sender: ${sentTexts.length} sent at once, then refused: "${refused?.message}"`)
    })
  })

  it('a captured message sent again is a duplicate inside the window and stale after it, never live', async () => {
    const chatMaxAge = 3_000
    const roomKey = await generateRoomKey()
    const keys = await deriveRoomKeys(roomKey)
    const alice = await join(await node(), roomKey, 'alice')
    const bob = await join(await node({ chatMaxAge }), roomKey, 'bob')
    const mallory = await join(await node(), roomKey, 'mallory')
    await meet([alice, bob, mallory])

    // mallory keeps the gossipsub message that carried alice's line, with alice's signature inside the seal (the
    // gossipsub message names no author: mallory finds it by opening it)
    const said = await alice.room.send('meet at the station at noon')
    await until('bob has the line', () => texts(bob).includes(said.text))
    let captured: RawMessage | undefined
    for (let i = 0; i < 50 && captured == null; i++) {
      for (const { message } of internals(mallory.node).mcache.msgs.values()) {
        if (message.topic !== keys.topic || message.data == null) { continue }
        const opened = await openEnvelope(keys, message.data).catch(() => undefined)
        if (opened?.from.equals(alice.node.peerId) === true && opened.payload.chat?.text === said.text) { captured = message }
      }
      if (captured == null) { await sleep(100) }
    }
    expect(captured, 'mallory captured the line').to.not.equal(undefined)

    /** Send the captured message to `to` as gossipsub forwards one; resolves once `to` dropped or showed it. */
    const replay = async (to: Member): Promise<void> => {
      const id = to.node.peerId.toString()
      await until('mallory has a gossipsub stream to the target', () => internals(mallory.node).streamsOutbound.has(id))
      const before = to.chat.length + to.room.chatDropped.duplicate + to.room.chatDropped.stale
      expect(internals(mallory.node).sendRpc(id, { subscriptions: [], messages: [captured!] })).to.equal(true)
      await until('the replay was handled', () => to.chat.length + to.room.chatDropped.duplicate + to.room.chatDropped.stale > before, 10_000)
        .catch(() => {})
    }

    // inside the window, to a member that saw it, once gossipsub's seen-cache (2 minutes) forgot it
    internals(bob.node).seenCache.clear()
    await replay(bob)
    expect(texts(bob).filter(t => t === said.text)).to.have.length(1)
    expect(bob.room.chatDropped.duplicate).to.equal(1)

    // after the window, to a member that never saw it: the room met again another day (alice among them, so her
    // messages count for carol: ghosts.spec covers an author nobody met), nobody kept the history
    await Promise.all([alice, bob, mallory].map(async m => m.room.leave()))
    const carol = await join(await node({ chatMaxAge }), roomKey, 'carol')
    const again = await join(alice, roomKey, 'alice')
    await meet([again, carol])
    await until('past the window', () => Date.now() > said.ts + chatMaxAge + 500)
    await mallory.node.dial(carol.node.getMultiaddrs()[0])
    await replay(carol)
    const live = carol.chat.filter(c => c.text === said.text && !c.history)
    console.log(`      replay: inside the window to bob: ${bob.room.chatDropped.duplicate} duplicate; after it to carol: shown live ${live.length}, dropped as stale ${carol.room.chatDropped.stale}`)
    expect(live).to.have.length(0)
    expect(carol.room.chatDropped.stale).to.equal(1)
  })
})
