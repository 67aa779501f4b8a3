/**
 * Who is in the room: the member and presence state machine (docs/protocols/room.md section 4.1). Pure apart from
 * the clock it is given: the room feeds it what it hears (sealed presence and chat, handshakes, disconnects) and
 * calls `sweep()` every `SWEEP_INTERVAL`; it reports joins, leaves and status changes through `dispatch`.
 *
 * - absent, then a completed handshake (its Welcome): present, `peer:join`; presence and chat keep a member present
 * only once it has proven itself so: sealed messages from an author that never completed a handshake with this node
 * make nobody present, are not kept, and dial nobody (a member with the key could otherwise sign presence with
 * throwaway keys and make ghost members appear, each dialled at addresses it chose: docs/threat-model.md 3.5);
 * - present, then its LEAVE: absent, `peer:leave` with reason 'left';
 * - present, then silent longer than leaveTimeout, or disconnected longer than disconnectGrace and silent
 * since: absent, `peer:leave` with reason 'timeout'.
 *
 * Replays: presence not newer than the author's last one, older than MAX_PRESENCE_AGE, or at or before its LEAVE
 * is ignored, so a recorded heartbeat cannot bring a member back.
 */
import { decodeAddrs } from './codec.ts'
import { MAX_ADDRS, MAX_MEMBERS, MAX_PRESENCE_AGE, MAX_STATES } from './constants.ts'
import { Presence, Role } from './pb/room.ts'
import { safeName } from './text.ts'
import type { MemberInfo, MemberRole, RoomEvents } from './index.ts'
import type { Member } from './pb/room.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type MemberEvent = 'peer:join' | 'peer:leave' | 'peer:update'

/** A member's own word on its role and recording (its presence or its Welcome). */
export interface MemberStatus {
  role: Role
  /** The author's clock when it started recording, ms; 0: not recording. */
  recordingSince: bigint
}

export interface MemberState {
  peerId: PeerId
  name: string
  present: boolean
  /** Completed a handshake with this node over a connection that is still up. */
  verified: boolean
  /** Completed a handshake with this node at least once: its presence and chat count. */
  proven: boolean
  lastHeard: number
  disconnectedAt?: number
  /** Author timestamp of its LEAVE, so a late heartbeat cannot bring it back. */
  leftTs?: bigint
  /** Author timestamp of its newest presence message. */
  lastPresenceTs?: bigint
  addrs: Multiaddr[]
  role: MemberRole
  /** Author's clock when it started recording; undefined while it is not recording. */
  recordingSince?: number
}

/** What a member told about itself along with being heard. */
export interface Heard {
  name?: string
  addrs?: Multiaddr[]
  status?: MemberStatus
}

export interface MembersInit {
  /** A member not heard from for longer is gone, in ms. */
  leaveTimeout: number
  /** A member whose connection closed is gone when not heard from for this long after, in ms. */
  disconnectGrace: number
  /** Names are cut to this many characters. */
  maxNameLength: number
  /** Reports a join, leave or status change. */
  dispatch<K extends MemberEvent>(type: K, detail: RoomEvents[K]['detail']): void
  /**
   * The clock, in ms since the epoch.
   *
   * @default Date.now
   */
  now?(): number
}

export function infoOf (m: MemberState): MemberInfo {
  return { peerId: m.peerId, name: m.name, role: m.role, ...(m.recordingSince == null ? {} : { recording: { since: m.recordingSince } }) }
}

export class Members {
  private readonly init: MembersInit
  private readonly now: () => number
  private readonly states = new Map<string, MemberState>()
  private closed = false

  constructor (init: MembersInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** The members present, in the order first heard. */
  present (): MemberInfo[] {
    return [...this.states.values()].filter(m => m.present).map(infoOf)
  }

  get (peerId: PeerId): MemberState | undefined {
    return this.states.get(peerId.toString())
  }

  /** Present and verified by a handshake. */
  isMember (peerId: PeerId): boolean {
    const m = this.get(peerId)
    return m?.present === true && m.verified
  }

  isVerified (peerId: PeerId): boolean {
    return this.get(peerId)?.verified === true
  }

  /** The room was left: nothing is reported any more, and nobody becomes present. */
  close (): void {
    this.closed = true
  }

  /**
   * A sealed topic message (chat) from `peerId`: it keeps a member present that has proven itself by a handshake.
   * Undefined for an author that never did (it stays unknown).
   */
  heardOnTopic (peerId: PeerId, news: Heard = {}): MemberState | undefined {
    if (this.get(peerId)?.proven !== true) { return undefined }
    return this.heard(peerId, news)
  }

  private heard (peerId: PeerId, news: Heard = {}): MemberState {
    const m = this.member(peerId)
    // the status goes with the join, so the app never shows a recording member as not recording
    if (news.status != null && !m.present) { this.status(m, news.status) }
    m.lastHeard = this.now()
    m.disconnectedAt = undefined
    const name = news.name == null ? '' : safeName(news.name).slice(0, this.init.maxNameLength)
    if (name !== '') { m.name = name }
    if (news.addrs != null && news.addrs.length > 0) { m.addrs = news.addrs.slice(0, MAX_ADDRS) }
    if (!m.present && !this.closed) {
      m.present = true
      this.init.dispatch('peer:join', infoOf(m))
    } else if (news.status != null) {
      this.status(m, news.status)
    }
    return m
  }

  /** A member completed the handshake with this node (its Welcome): present and verified. */
  verified (peerId: PeerId, name: string, status: MemberStatus): MemberState {
    this.member(peerId).proven = true
    const m = this.heard(peerId, { name, status })
    m.verified = true
    return m
  }

  /**
   * Sealed presence from `from`, stamped `ts` by its author. Returns the member when it is present afterwards;
   * undefined when the message was a replay or a LEAVE, or its author never completed a handshake with this node.
   */
  presence (from: PeerId, ts: bigint, presence: Presence): MemberState | undefined {
    const m = this.get(from)
    if (m?.proven !== true) { return undefined }
    if (m.leftTs != null && ts <= m.leftTs) { return undefined }
    // a recorded heartbeat replayed later must not bring a member back
    if (Number(ts) < this.now() - MAX_PRESENCE_AGE || (m.lastPresenceTs != null && ts <= m.lastPresenceTs)) { return undefined }
    m.lastPresenceTs = ts
    if (presence.kind === Presence.Kind.LEAVE) {
      m.leftTs = ts
      this.gone(m, 'left')
      return undefined
    }
    return this.heard(from, { name: presence.name, addrs: decodeAddrs(presence.addrs), status: presence })
  }

  /** The last connection to a member closed. Returns it when it is present (worth dialling again). */
  disconnected (peerId: PeerId): MemberState | undefined {
    const m = this.get(peerId)
    if (m?.present !== true) { return undefined }
    m.disconnectedAt = this.now()
    m.verified = false
    return m
  }

  /** Report gone every present member that was silent too long, or disconnected too long and silent since. */
  sweep (): void {
    const now = this.now()
    for (const m of this.states.values()) {
      if (!m.present) { continue }
      const silent = now - m.lastHeard > this.init.leaveTimeout
      const disconnected = m.disconnectedAt != null && now - m.disconnectedAt > this.init.disconnectGrace && m.lastHeard <= m.disconnectedAt
      if (silent || disconnected) { this.gone(m, 'timeout') }
    }
  }

  /** The members a Welcome to `remote` lists: present ones other than `remote`, without status (section 4.4). */
  listFor (remote: PeerId): Member[] {
    return [...this.states.values()]
      .filter(m => m.present && !m.peerId.equals(remote))
      .slice(0, MAX_MEMBERS)
      .map(m => ({ peerId: m.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, name: m.name, addrs: m.addrs.slice(0, MAX_ADDRS).map(a => a.bytes as Uint8Array<ArrayBuffer>) }))
  }

  private member (peerId: PeerId): MemberState {
    const key = peerId.toString()
    let m = this.states.get(key)
    if (m == null) {
      m = { peerId, name: '', present: false, verified: false, proven: false, lastHeard: 0, addrs: [], role: 'participant' }
      this.states.set(key, m)
      this.forgetAbsent()
    }
    return m
  }

  /** Over MAX_STATES, the longest-known absent members are forgotten (a LEAVE timestamp goes with them). */
  private forgetAbsent (): void {
    for (const [key, m] of this.states) {
      if (this.states.size <= MAX_STATES) { return }
      if (!m.present) { this.states.delete(key) }
    }
  }

  private status (m: MemberState, status: MemberStatus): void {
    const role: MemberRole = status.role === Role.RECORDER ? 'recorder' : 'participant'
    // a start time is display only; clamp it so a member cannot claim to have been recording since the future
    const since = status.recordingSince === 0n ? undefined : Math.min(Number(status.recordingSince), this.now())
    const changed = role !== m.role || (since == null) !== (m.recordingSince == null)
    m.role = role
    m.recordingSince = since
    if (changed && m.present && !this.closed) { this.init.dispatch('peer:update', infoOf(m)) }
  }

  private gone (m: MemberState, reason: 'left' | 'timeout'): void {
    m.verified = false
    if (!m.present) { return }
    m.present = false
    const info = infoOf(m)
    // a recording that is not renewed by the member's own word is not shown after it is gone
    m.recordingSince = undefined
    if (!this.closed) { this.init.dispatch('peer:leave', { ...info, reason }) }
  }
}
