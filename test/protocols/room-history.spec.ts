/**
 * Chat history and exactly-once delivery (protocols/room/history.ts) with an injected clock: each id once, order by
 * (author time, id) but never later than arrival, the newest `historySize` kept, a Welcome's share capped by bytes,
 * history handed over in a Welcome opened, verified, de-duplicated and marked, freshness and the replay floor; and
 * the per-author token buckets of protocols/room/rate.ts.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { CHAT_MAX_AHEAD, MAX_HISTORY_BYTES, MAX_SEEN } from '../../protocols/room/constants.ts'
import { sealEnvelope } from '../../protocols/room/envelope.ts'
import { ChatHistory, chatMessage } from '../../protocols/room/history.ts'
import { ChatRate } from '../../protocols/room/rate.ts'
import { deriveRoomKeys, seal, toHex } from '../../protocols/room-key/index.ts'
import type { RoomKeys } from '../../protocols/room-key/index.ts'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'
const KEY_2 = 'aeibceqtcqkrmfyydenbwha5dyp4ar6u'
const T0 = 1_764_036_000_000
const LIMITS = { maxTextLength: 4_000, maxNameLength: 64 }
const MAX_AGE = 300_000

function id (n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(16)
  out[15] = n
  return out
}

describe('room history', () => {
  let keys: RoomKeys
  let keys2: RoomKeys
  let sk: PrivateKey
  let author: PeerId
  let now: number

  before(async () => {
    keys = await deriveRoomKeys(KEY)
    keys2 = await deriveRoomKeys(KEY_2)
    sk = await generateKeyPair('Ed25519')
    author = peerIdFromPrivateKey(sk)
  })

  beforeEach(() => { now = T0 })

  function history (historySize = 200): ChatHistory {
    return new ChatHistory({ historySize, chatMaxAge: MAX_AGE, now: () => now })
  }

  async function sealed (n: number, ts: number, text = `message ${n}`, k = keys): Promise<Uint8Array> {
    return sealEnvelope(k, author, sk, { ts: BigInt(ts), chat: { id: id(n), name: 'alice', text } })
  }

  it('remembers each id once', () => {
    const h = history()
    expect(h.remember('a', T0, new Uint8Array(1))).to.equal(true)
    expect(h.remember('a', T0 + 1, new Uint8Array(2))).to.equal(false)
    expect(h.has('a')).to.equal(true)
    expect(h.forWelcome()).to.have.length(1)
  })

  it('orders by author time then id, and never later than it arrived', () => {
    const h = history()
    h.remember('b', T0 - 10, Uint8Array.of(2))
    h.remember('a', T0 - 10, Uint8Array.of(1))
    h.remember('c', T0 - 20, Uint8Array.of(3))
    // a message stamped an hour ahead is placed at its arrival, before one that arrives later
    h.remember('future', T0 + 3_600_000, Uint8Array.of(4))
    now += 1_000
    h.remember('later', now, Uint8Array.of(5))
    expect(h.forWelcome().map(b => b[0])).to.deep.equal([3, 1, 2, 4, 5])
  })

  it('keeps the newest historySize messages', () => {
    const h = history(3)
    for (let i = 0; i < 5; i++) { h.remember(`m${i}`, T0 - 100 + i, Uint8Array.of(i)) }
    expect(h.forWelcome().map(b => b[0])).to.deep.equal([2, 3, 4])
    // an evicted id is still remembered as seen
    expect(h.remember('m0', T0, Uint8Array.of(0))).to.equal(false)
  })

  it('hands a Welcome the newest messages that fit MAX_HISTORY_BYTES', () => {
    const h = history()
    const size = 100 * 1024
    for (let i = 0; i < 10; i++) { h.remember(`m${i}`, T0 - 100 + i, new Uint8Array(size).fill(i)) }
    const fit = Math.floor(MAX_HISTORY_BYTES / (size + 4))
    expect(h.forWelcome().map(b => b[0])).to.deep.equal(Array.from({ length: fit }, (_, i) => 10 - fit + i))
  })

  it('validates chat: a 16-byte id, 1 to maxTextLength characters, the name cut', () => {
    const ok = { ts: 5n, chat: { id: id(1), name: 'n'.repeat(70), text: 'hi' } }
    expect(chatMessage(author, ok, false, LIMITS)?.name).to.have.length(64)
    expect(chatMessage(author, { ...ok, chat: { ...ok.chat, id: new Uint8Array(15) } }, false, LIMITS)).to.equal(undefined)
    expect(chatMessage(author, { ...ok, chat: { ...ok.chat, text: '' } }, false, LIMITS)).to.equal(undefined)
    expect(chatMessage(author, { ...ok, chat: { ...ok.chat, text: 'x'.repeat(4_001) } }, false, LIMITS)).to.equal(undefined)
    expect(chatMessage(author, { ts: 5n }, false, LIMITS)).to.equal(undefined)
  })

  it('opens history from a Welcome: verified, new only, in order, marked by when this node joined', async () => {
    const h = history()
    h.remember(toHex(id(2)), T0 - 3_000, new Uint8Array(1))
    const entries = [
      await sealed(3, T0 + 500), // written after this node joined: on its way live too
      await sealed(1, T0 - 5_000),
      await sealed(2, T0 - 3_000), // seen already
      await sealed(4, T0 - 4_000, 'other room', keys2), // does not open
      await seal(keys.chatKey, new Uint8Array(10), keys.roomId), // opens, is no envelope
      await sealed(5, T0 - 1_000, '') // not valid chat
    ]
    const dropped: Error[] = []
    const fresh = await h.open(keys, entries, T0, LIMITS, err => { dropped.push(err) })
    expect(fresh.map(f => f.msg.text)).to.deep.equal(['message 1', 'message 3'])
    expect(fresh.map(f => f.msg.history)).to.deep.equal([true, false])
    expect(fresh[0].msg.from.equals(author)).to.equal(true)
    expect(dropped.map(e => e.name)).to.deep.equal(['SealError', 'InvalidMessageError'])
  })

  it('is fresh only within [now - chatMaxAge, now + CHAT_MAX_AHEAD]', () => {
    const h = history()
    expect(h.fresh(T0)).to.equal(true)
    expect(h.fresh(T0 - MAX_AGE)).to.equal(true)
    expect(h.fresh(T0 - MAX_AGE - 1)).to.equal(false)
    expect(h.fresh(T0 - 7 * 24 * 3_600_000)).to.equal(false)
    expect(h.fresh(T0 + CHAT_MAX_AHEAD)).to.equal(true)
    expect(h.fresh(T0 + CHAT_MAX_AHEAD + 1)).to.equal(false)
  })

  it('when an id still in its window is forgotten, nothing stamped at or before it is live any more', () => {
    const h = history()
    // MAX_SEEN old ids (outside the window) go without moving the floor
    for (let i = 0; i < MAX_SEEN; i++) { h.remember(`old${i}`, T0 - MAX_AGE - 1_000, Uint8Array.of(0)) }
    h.remember('fresh0', T0 - 10_000, Uint8Array.of(0))
    expect(h.fresh(T0 - 10_000)).to.equal(true)
    // then MAX_SEEN fresh ones push 'fresh0' out: a replay of it would not be seen, so its time is no longer live
    for (let i = 1; i <= MAX_SEEN; i++) { h.remember(`fresh${i}`, T0 - 5_000, Uint8Array.of(0)) }
    expect(h.has('fresh0')).to.equal(false)
    expect(h.fresh(T0 - 10_000)).to.equal(false)
    expect(h.fresh(T0 - 5_000)).to.equal(true)
    expect(h.fresh(T0)).to.equal(true)
    // ids stamped ahead raise the floor to now at most: later lines still pass
    for (let i = 0; i < MAX_SEEN; i++) { h.remember(`ahead${i}`, T0 + CHAT_MAX_AHEAD, Uint8Array.of(0)) }
    h.remember('one more', T0, Uint8Array.of(0))
    expect(h.fresh(T0)).to.equal(false)
    expect(h.fresh(T0 + 1)).to.equal(true)
  })

  it('opens history from a Welcome: a message stamped outside the window is history, whenever this node joined', async () => {
    const h = history()
    const entries = [await sealed(1, T0 + CHAT_MAX_AHEAD + 60_000), await sealed(2, T0 + 1_000)]
    const fresh = await h.open(keys, entries, T0 - 60_000, LIMITS)
    expect(fresh.map(f => [f.msg.text, f.msg.history])).to.deep.equal([['message 2', false], ['message 1', true]])
  })

  it('token buckets: a burst, then the rate; per author; bounded', () => {
    let t = T0
    const rate = new ChatRate({ burst: 10, rate: 2, maxAuthors: 3, now: () => t })
    const taken = (who: string, n: number): number => Array.from({ length: n }, () => rate.take(who)).filter(Boolean).length
    expect(taken('a', 50)).to.equal(10)
    expect(taken('b', 3)).to.equal(3)
    t += 1_000
    expect(taken('a', 50)).to.equal(2)
    t += 250
    expect(taken('a', 1)).to.equal(0)
    t += 250
    expect(taken('a', 1)).to.equal(1)
    t += 60_000
    expect(taken('a', 50)).to.equal(10)
    // a fourth author: the full buckets (b, refilled for a minute) go first
    rate.take('c')
    rate.take('d')
    expect(rate.size).to.be.at.most(3)
    // a, used just now, kept its empty bucket
    expect(taken('a', 1)).to.equal(0)
  })
})
