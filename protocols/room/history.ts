/**
 * Chat history and exactly-once delivery (docs/protocols/room.md sections 4.2 and 4.3): the ids of the last
 * `MAX_SEEN` messages, and the sealed bytes of the last `historySize`, ordered by (author timestamp, id), that a
 * Welcome hands to members who join later.
 */
import { toHex } from '../room-key/index.ts'
import { CHAT_ID_BYTES, MAX_HISTORY_BYTES, MAX_SEEN } from './constants.ts'
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
  private readonly now: () => number
  private readonly seen = new Set<string>()
  private entries: Entry[] = []

  constructor (init: ChatHistoryInit) {
    this.historySize = init.historySize
    this.now = init.now ?? Date.now
  }

  has (id: string): boolean {
    return this.seen.has(id)
  }

  /** Record a chat message once; false if it was seen before (it must not be delivered again). */
  remember (id: string, ts: number, sealed: Uint8Array): boolean {
    if (this.seen.has(id)) { return false }
    this.seen.add(id)
    if (this.seen.size > MAX_SEEN) { this.seen.delete(this.seen.values().next().value as string) }
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
   * is history when its author wrote it before `joinedAt`; otherwise it was handed over while also on its way live.
   */
  async open (keys: RoomKeys, entries: Uint8Array[], joinedAt: number, limits: ChatLimits, onDropped: (err: Error) => void = () => {}): Promise<Array<{ msg: ChatMessage, sealed: Uint8Array }>> {
    const fresh: Array<{ msg: ChatMessage, sealed: Uint8Array }> = []
    for (const sealed of entries) {
      try {
        const opened = await openEnvelope(keys, sealed)
        const msg = chatMessage(opened.from, opened.payload, true, limits)
        if (msg == null || this.seen.has(msg.id)) { continue }
        msg.history = msg.ts < joinedAt
        fresh.push({ msg, sealed })
      } catch (err: any) {
        onDropped(err)
      }
    }
    return fresh.sort((a, b) => a.msg.ts - b.msg.ts || (a.msg.id < b.msg.id ? -1 : 1))
  }
}
