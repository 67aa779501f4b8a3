/**
 * Privacy from outsiders (issue 10 item 5): a peer without the room key that learned the room's topic name (a relay
 * routes it) connects to two members and subscribes. It must get no Hello and no dial from them, and over a minute
 * of their chat it must learn no member's PeerId from what the topic brings it: topic messages carry no gossipsub
 * author (StrictNoSign) and the author inside the seal is out of its reach. Real processes: a relay, two CLI members
 * (alice, bob); the outsider is an in-process node with no room.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { cleanup, run, sleep, startPeer, startRelay } from '../../harness/procs.ts'
import { createPeer } from '../../node/peer.ts'
import { ROOM_PROTOCOL } from '../../protocols/room/constants.ts'
import { deriveRoomKeys } from '../../protocols/room-key/index.ts'
import type { Proc, RelayProc } from '../../harness/procs.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'

/** How long the members chat while the outsider listens: the "a minute of chat". */
const CHAT_MS = 60_000

/** A gossipsub message as received (RPC.Message): what the outsider gets from the topic. */
interface RawMessage { from?: Uint8Array, key?: Uint8Array, signature?: Uint8Array, seqno?: Uint8Array, data?: Uint8Array, topic: string }

function contains (haystack: Uint8Array | undefined, needle: Uint8Array): boolean {
  if (haystack == null) { return false }
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((b, j) => haystack[i + j] === b)) { return true }
  }
  return false
}

describe('a subscriber without the room key', function () {
  this.timeout(CHAT_MS + 60_000)
  let relay: RelayProc
  let keys: RoomKeys
  let alice: Proc
  let bob: Proc
  let outsider: PeerNode

  before(async () => {
    relay = await startRelay({ http: false })
    const key = (await run(['room', 'new'])).stdout.trim()
    keys = await deriveRoomKeys(key)
    alice = startPeer(key, 'alice', [relay.tcp()])
    bob = startPeer(key, 'bob', [relay.tcp()])
    await alice.waitFor('bob joining', e => e.event === 'peer:join' && e.name === 'bob', 30_000)
    outsider = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  })

  after(async () => {
    await outsider?.stop()
    await cleanup()
  })

  it('gets no Hello and no dial, and learns no member PeerId from a minute of chat', async () => {
    const members = [alice, bob].map(p => peerIdFromString(p.of('ready')[0].peerId as string))
    const names = new Set(members.map(m => m.toString()))
    // what a member would say to it: every room stream and every connection it did not open itself
    let hellos = 0
    let dials = 0
    await outsider.unhandle(ROOM_PROTOCOL)
    await outsider.handle(ROOM_PROTOCOL, (stream) => {
      hellos++
      stream.abort(new Error('not a member'))
    }, { runOnLimitedConnection: true })
    outsider.addEventListener('connection:open', ({ detail }) => { if (detail.direction === 'inbound' && names.has(detail.remotePeer.toString())) { dials++ } })

    // everything the topic brings it, as it arrives, before any validation
    const pubsub = outsider.services.pubsub as any
    const received: RawMessage[] = []
    const handle = pubsub.handleReceivedMessage.bind(pubsub)
    pubsub.handleReceivedMessage = async (from: unknown, msg: RawMessage) => {
      if (msg.topic === keys.topic) { received.push(msg) }
      return handle(from, msg)
    }

    for (const p of [alice, bob]) {
      const tcp = (p.of('ready')[0].addrs as string[]).find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))!
      await outsider.dial(multiaddr(tcp))
    }
    outsider.services.pubsub.subscribe(keys.topic)
    const subscribed = (): boolean => members.every(m => outsider.services.pubsub.getSubscribers(keys.topic).some((p: any) => p.equals(m)))
    for (let i = 0; i < 50 && !subscribed(); i++) { await sleep(100) }
    expect(subscribed(), 'both members are on the topic, seen from the outsider').to.equal(true)

    // a minute of chat, a line a second in turn (within the per-author rate of 2 a second)
    const start = Date.now()
    let lines = 0
    while (Date.now() - start < CHAT_MS) {
      const [from, to] = lines % 2 === 0 ? [alice, bob] : [bob, alice]
      const text = `line ${lines}`
      from.send(text)
      lines++
      await to.waitFor(text, e => e.event === 'chat' && e.text === text, 10_000)
      await sleep(Math.max(0, start + lines * 1_000 - Date.now()))
    }
    await sleep(1_000)

    // member PeerIds in what it received: a gossipsub author (from, key) or the PeerId's bytes anywhere in the message
    const seen = new Set<string>()
    let withAuthor = 0
    for (const msg of received) {
      if (msg.from != null || msg.key != null || msg.signature != null || msg.seqno != null) { withAuthor++ }
      for (const m of members) {
        const bytes = m.toMultihash().bytes
        if (contains(msg.from, bytes) || contains(msg.key, m.publicKey?.raw ?? bytes) || contains(msg.data, bytes)) { seen.add(m.toString()) }
      }
    }
    // eslint-disable-next-line no-console
    console.log(`      outsider over ${Math.round((Date.now() - start) / 1_000)} s of chat (${lines} lines): ${received.length} topic messages received, ` +
      `${withAuthor} with a gossipsub author, ${seen.size} member PeerIds in them; ${hellos} Hello streams, ${dials} dials from members`)
    // otherwise the figures below would prove nothing: the outsider is on the topic and gets the members' messages
    expect(received.length).to.be.at.least(lines)
    expect(withAuthor).to.equal(0)
    expect(seen.size).to.equal(0)
    expect(hellos).to.equal(0)
    expect(dials).to.equal(0)
    expect(alice.running && bob.running).to.equal(true)
  })
})
