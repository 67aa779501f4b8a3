/**
 * The room service's signals and clean-up, on one real in-process libp2p node (the overlay a peer runs, with no
 * listen address and no bootstrap: nothing leaves the process). A join whose signal aborts and every leave must
 * leave nothing behind: no room, no topic subscription, no topic validator.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'aegir/chai'
import { createPeer } from '../../node/peer.ts'
import { ROOM_PROTOCOL } from '../../protocols/room/constants.ts'
import { InvalidMessageError, RoomLeftError } from '../../protocols/room/errors.ts'
import { deriveRoomKeys, generateRoomKey, InvalidRoomKeyError } from '../../protocols/room-key/index.ts'
import { rejection } from '../helpers/assert.ts'
import type { PeerNode } from '../../node/peer.ts'
import type { Room } from '../../protocols/room/index.ts'

describe('room service', function () {
  this.timeout(30_000)
  let node: PeerNode

  before(async () => {
    node = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  })

  after(async () => {
    await node?.stop()
  })

  /** Where the node takes part in the room of `key`: a room object, a subscription, a topic validator. */
  async function traces (key: string): Promise<{ room: boolean, subscribed: boolean, validator: boolean }> {
    const { topic, roomId } = await deriveRoomKeys(key)
    const pubsub = node.services.pubsub
    return {
      room: node.services.room.rooms().some(r => r.roomId.every((b, i) => b === roomId[i])),
      subscribed: pubsub.getTopics().includes(topic),
      validator: pubsub.topicValidators.has(topic)
    }
  }

  const nothing = { room: false, subscribed: false, validator: false }
  const everything = { room: true, subscribed: true, validator: true }

  it('answers the room protocol', () => {
    expect(node.getProtocols()).to.include(ROOM_PROTOCOL)
  })

  it('join and leave: the room is there, then nothing is left of it', async () => {
    const key = await generateRoomKey()
    const room = await node.services.room.join(key, { name: 'alice' })
    expect(await traces(key)).to.deep.equal(everything)
    expect(await node.services.room.join(key, { name: 'alice' })).to.equal(room)
    await room.leave()
    expect(await traces(key)).to.deep.equal(nothing)
    // leaving twice is fine
    await room.leave()
  })

  it('join with a signal that has already aborted: rejects with its reason and does nothing', async () => {
    const key = await generateRoomKey()
    const reason = new Error('cancelled')
    const err = await rejection(node.services.room.join(key, { name: 'alice', signal: AbortSignal.abort(reason) }))
    expect(err).to.equal(reason)
    expect(await traces(key)).to.deep.equal(nothing)
  })

  it('join whose signal aborts while it runs: rejects, and nothing stays subscribed or registered', async () => {
    let rejected = 0
    let resolved = 0
    for (const delay of [-1, 0, 1, 2, 5, 10, 20, 50]) {
      const key = await generateRoomKey()
      const controller = new AbortController()
      const reason = new Error(`cancelled after ${delay} ms`)
      const joining = node.services.room.join(key, { name: 'alice', signal: controller.signal })
      if (delay < 0) { controller.abort(reason) } else { setTimeout(() => { controller.abort(reason) }, delay) }
      let room: Room | undefined
      try {
        room = await joining
      } catch (err) {
        expect(err, `${delay} ms`).to.equal(reason)
      }
      if (room == null) {
        rejected++
        expect(await traces(key), `${delay} ms`).to.deep.equal(nothing)
      } else {
        // a join that finished before the abort is a joined room; the late abort does not touch it
        resolved++
        expect(await traces(key), `${delay} ms`).to.deep.equal(everything)
        await room.leave()
        expect(await traces(key), `${delay} ms`).to.deep.equal(nothing)
      }
    }
    expect(rejected).to.be.greaterThan(0)
    expect(rejected + resolved).to.equal(8)
  })

  it('a join of a room whose first join is aborted meanwhile gets a live room', async () => {
    const key = await generateRoomKey()
    const { topic } = await deriveRoomKeys(key)
    const controller = new AbortController()
    const reason = new Error('cancelled')
    const first = node.services.room.join(key, { name: 'alice', signal: controller.signal })
    // the first join has registered the room and is announcing it
    while (!node.services.pubsub.topicValidators.has(topic)) { await new Promise(resolve => setImmediate(resolve)) }
    const second = node.services.room.join(key, { name: 'alice' })
    controller.abort(reason)
    const firstOutcome = await first.catch((err: Error) => err)
    const room = await second
    // either the first join finished before the abort (one room for both), or it was undone (a fresh one)
    if (firstOutcome instanceof Error) { expect(firstOutcome).to.equal(reason) } else { expect(room).to.equal(firstOutcome) }
    expect(node.services.room.rooms()).to.include(room)
    expect(await traces(key)).to.deep.equal(everything)
    await room.leave()
    expect(await traces(key)).to.deep.equal(nothing)
  })

  it('leave with an aborted signal still leaves, and rejects with the reason', async () => {
    const key = await generateRoomKey()
    const room = await node.services.room.join(key, { name: 'alice' })
    const reason = new Error('no time for goodbyes')
    expect(await rejection(room.leave({ signal: AbortSignal.abort(reason) }))).to.equal(reason)
    expect(await traces(key)).to.deep.equal(nothing)
  })

  it('send and setRecording: typed errors, signals honoured, nothing after leave', async () => {
    const key = await generateRoomKey()
    const room = await node.services.room.join(key, { name: 'alice' })
    expect(await rejection(room.send(''))).to.be.instanceOf(InvalidMessageError)
    expect(await rejection(room.send('x'.repeat(4_001)))).to.be.instanceOf(InvalidMessageError)
    const reason = new Error('cancelled')
    expect(await rejection(room.send('hello', { signal: AbortSignal.abort(reason) }))).to.equal(reason)
    const msg = await room.send('hello')
    expect(msg.text).to.equal('hello')
    expect(msg.from.equals(node.peerId)).to.equal(true)
    await room.setRecording(true)
    expect(room.recording?.since).to.be.a('number')
    await room.setRecording(false)
    expect(room.recording).to.equal(undefined)
    await room.leave()
    expect(await rejection(room.send('after'))).to.be.instanceOf(RoomLeftError)
    expect(await rejection(room.setRecording(true))).to.be.instanceOf(RoomLeftError)
  })

  it('a malformed key: InvalidRoomKeyError, nothing joined', async () => {
    const before = node.services.room.rooms().length
    expect(await rejection(node.services.room.join('not a key', { name: 'alice' }))).to.be.instanceOf(InvalidRoomKeyError)
    expect(node.services.room.rooms()).to.have.length(before)
  })

  it('stopping the node leaves every room', async () => {
    const other = await createPeer({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    const key = await generateRoomKey()
    const { topic } = await deriveRoomKeys(key)
    await other.services.room.join(key, { name: 'bob' })
    expect(other.services.pubsub.getTopics()).to.include(topic)
    await other.stop()
    expect(other.services.room.rooms()).to.be.empty()
    expect(other.services.pubsub.topicValidators.has(topic)).to.equal(false)
  })
})
