/**
 * Chat history, exactly-once delivery and freshness (docs/protocols/room.md sections 4.2 and 4.3): the ids of the
 * last `MAX_SEEN` messages with their author timestamps, and the sealed bytes of the last `historySize`, ordered by
 * (author timestamp, id), that a Welcome hands to members who join later.
 *
 * A message on the topic is live only if its author timestamp lies within [now - chatMaxAge, now + CHAT_MAX_AHEAD]
 * and its id was not seen: a replay inside the window is a duplicate, one outside it is stale. An id is needed only
 * while its message would still be fresh; if MAX_SEEN forces out one that is, the replay floor rises to its
 * timestamp and nothing stamped at or before the floor is live any more.
 */
import { toHex } from '../room-key/index.ts'
import { CHAT_ID_BYTES, CHAT_MAX_AHEAD, MAX_HISTORY_BYTES, MAX_SEEN } from './constants.ts'
import { openEnvelope } from './envelope.ts'
import { safeName, safeText } from './text.ts'
import type { ChatMessage } from './index.ts'
import type { Payload } from './pb/room.ts'
import type { RoomKeys } from '../room-key/index.ts'
import type { PeerId } from '@libp2p/interface'

export interface ChatLimits {
  maxTextLength: number
  maxNameLength: number
}

export interface ChatHistoryInit {
  /** Messages kept. */
  historySize: number
  /** A message on the topic stamped longer ago than this, in ms, is stale. */
  chatMaxAge: number
  /**
   * The clock, in ms since the epoch.
   *
   * @default Date.now
   */
  now?(): number
}

interface Entry {
  id: string
  ts: number
  sealed: Uint8Array
}

/** A chat payload as the app sees it; undefined when it is not valid chat (id of 16 bytes, text of 1 to maxTextLength). */
export function chatMessage (from: PeerId, payload: Payload, history: boolean, limits: ChatLimits): ChatMessage | undefined {
  const chat = payload.chat
  if (chat == null || chat.id.length !== CHAT_ID_BYTES || chat.text.length === 0 || chat.text.length > limits.maxTextLength) { return undefined }
  const text = safeText(chat.text)
  if (text.trim() === '') { return undefined }
  return { id: toHex(chat.id), from, name: safeName(chat.name).slice(0, limits.maxNameLength), text, ts: Number(payload.ts), history }
}

export class ChatHistory {
  private readonly historySize: number
  private readonly maxAge: number
  private readonly now: () => number
  /** Seen ids and their author timestamps, oldest arrival first. */
  private readonly seen = new Map<string, number>()
  /** Messages stamped at or before this are not live: an id of theirs may have been forgotten. */
  private floor = -Infinity
  private entries: Entry[] = []

  constructor (init: ChatHistoryInit) {
    this.historySize = init.historySize
    this.maxAge = init.chatMaxAge
    this.now = init.now ?? Date.now
  }

  has (id: string): boolean {
    return this.seen.has(id)
  }

  /** True if a message stamped `ts` could be live now: not older than chatMaxAge, not ahead by more than CHAT_MAX_AHEAD, above the floor. */
  fresh (ts: number): boolean {
    const now = this.now()
    return ts >= now - this.maxAge && ts <= now + CHAT_MAX_AHEAD && ts > this.floor
  }

  /** Record a chat message once; false if it was seen before (it must not be delivered again). */
  remember (id: string, ts: number, sealed: Uint8Array): boolean {
    if (this.seen.has(id)) { return false }
    this.seen.set(id, ts)
    if (this.seen.size > MAX_SEEN) {
      const [oldest, oldestTs] = this.seen.entries().next().value as [string, number]
      this.seen.delete(oldest)
      // its message would still be fresh: without its id a replay would pass, so nothing that old is live any more.
      // Never above now: ids stamped ahead (by a member's own clock) must not blank everyone's chat for a minute
      const now = this.now()
      if (oldestTs >= now - this.maxAge) { this.floor = Math.max(this.floor, Math.min(oldestTs, now)) }
    }
    // order by the author's clock, but never later than now: a member cannot pin its messages to the end
    this.entries.push({ id, ts: Math.min(ts, this.now()), sealed })
    this.entries.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1))
    if (this.entries.length > this.historySize) { this.entries = this.entries.slice(-this.historySize) }
    return true
  }

  /** What a Welcome carries: the newest entries whose sizes (plus 4 bytes each) fit MAX_HISTORY_BYTES, oldest first. */
  forWelcome (): Array<Uint8Array<ArrayBuffer>> {
    const out: Array<Uint8Array<ArrayBuffer>> = []
    let bytes = 0
    for (let i = this.entries.length - 1; i >= 0; i--) {
      bytes += this.entries[i].sealed.length + 4
      if (bytes > MAX_HISTORY_BYTES) { break }
      out.unshift(this.entries[i].sealed as Uint8Array<ArrayBuffer>)
    }
    return out
  }

  /**
   * The chat a Welcome handed over that is new to this node, opened and verified, in (timestamp, id) order.
   * Entries that do not open, are not valid chat or were seen are left out (and passed to `onDropped`). A message
   * is history when its author wrote it before `joinedAt` or it is not fresh; otherwise it was handed over while also
   * on its way live.
   */
  async open (keys: RoomKeys, entries: Uint8Array[], joinedAt: number, limits: ChatLimits, onDropped: (err: Error) => void = () => {}): Promise<Array<{ msg: ChatMessage, sealed: Uint8Array }>> {
    const fresh: Array<{ msg: ChatMessage, sealed: Uint8Array }> = []
    for (const sealed of entries) {
      try {
        const opened = await openEnvelope(keys, sealed)
        const msg = chatMessage(opened.from, opened.payload, true, limits)
        if (msg == null || this.seen.has(msg.id)) { continue }
        msg.history = msg.ts < joinedAt || !this.fresh(msg.ts)
        fresh.push({ msg, sealed })
      } catch (err: any) {
        onDropped(err)
      }
    }
    return fresh.sort((a, b) => a.msg.ts - b.msg.ts || (a.msg.id < b.msg.id ? -1 : 1))
  }
}
