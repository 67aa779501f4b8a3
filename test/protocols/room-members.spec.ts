/**
 * The member and presence state machine (protocols/room/members.ts) with an injected clock: join, heartbeat
 * refresh, timeout after leaveTimeout, LEAVE, replayed presence, a heartbeat after LEAVE, disconnect grace, and the
 * status (role, recording) that travels with presence. The room calls `sweep()` every second; here the test does.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { MAX_ADDRS, MAX_PRESENCE_AGE, MAX_STATES } from '../../protocols/room/constants.ts'
import { Members } from '../../protocols/room/members.ts'
import { Presence, Role } from '../../protocols/room/pb/room.ts'
import type { MemberInfo, RoomEvents } from '../../protocols/room/index.ts'
import type { MemberEvent } from '../../protocols/room/members.ts'
import type { PeerId } from '@libp2p/interface'

const LEAVE_TIMEOUT = 12_000
const GRACE = 7_000
/** An arbitrary start, in ms since the epoch (2025-11-25). */
const T0 = 1_764_036_000_000

type Seen = Array<{ type: MemberEvent, detail: MemberInfo & { reason?: string } }>

describe('room members', () => {
  let bob: PeerId
  let carol: PeerId
  let now: number
  let events: Seen
  let members: Members

  before(async () => {
    bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    carol = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  })

  beforeEach(() => {
    now = T0
    events = []
    members = new Members({
      leaveTimeout: LEAVE_TIMEOUT,
      disconnectGrace: GRACE,
      maxNameLength: 8,
      now: () => now,
      dispatch: <K extends MemberEvent>(type: K, detail: RoomEvents[K]['detail']) => { events.push({ type, detail: detail as MemberInfo }) }
    })
    // bob and carol completed a handshake with this node an hour ago and have been gone since: their presence counts
    now = T0 - 3_600_000
    for (const [who, name] of [[bob, 'bob'], [carol, 'carol']] as const) {
      members.verified(who, name, { role: Role.PARTICIPANT, recordingSince: 0n })
      members.disconnected(who)
    }
    now += GRACE + 1
    members.sweep()
    expect(members.present()).to.be.empty()
    now = T0
    events = []
  })

  function presence (kind: Presence.Kind, extra: Partial<Presence> = {}): Presence {
    return { kind, name: 'bob', addrs: [], role: Role.PARTICIPANT, recordingSince: 0n, ...extra }
  }

  /** Presence from `who`, stamped with the current clock (plus `skew`), as its author would. */
  function hear (kind: Presence.Kind, who = bob, skew = 0, extra: Partial<Presence> = {}): ReturnType<Members['presence']> {
    return members.presence(who, BigInt(now + skew), presence(kind, extra))
  }

  function types (): string[] {
    return events.map(e => e.type + (e.detail.reason == null ? '' : `:${e.detail.reason}`))
  }

  describe('join and heartbeat', () => {
    it('a JOIN makes a member present, once, with its name', () => {
      expect(hear(Presence.Kind.JOIN)?.present).to.equal(true)
      now += 1_000
      hear(Presence.Kind.HEARTBEAT)
      expect(types()).to.deep.equal(['peer:join'])
      expect(events[0].detail.name).to.equal('bob')
      expect(events[0].detail.peerId.equals(bob)).to.equal(true)
      expect(members.present().map(m => m.name)).to.deep.equal(['bob'])
    })

    it('is a member only once a handshake verified it', () => {
      hear(Presence.Kind.JOIN)
      expect(members.isMember(bob)).to.equal(false)
      members.verified(bob, 'bob', { role: Role.PARTICIPANT, recordingSince: 0n })
      expect(members.isMember(bob)).to.equal(true)
      expect(types()).to.deep.equal(['peer:join'])
    })

    it('a handshake alone makes a member present and verified', () => {
      members.verified(carol, 'carol', { role: Role.PARTICIPANT, recordingSince: 0n })
      expect(types()).to.deep.equal(['peer:join'])
      expect(members.isMember(carol)).to.equal(true)
    })

    it('heartbeats keep a member present; silence longer than leaveTimeout ends it as a timeout', () => {
      hear(Presence.Kind.JOIN)
      for (let i = 0; i < 10; i++) {
        now += 5_000
        hear(Presence.Kind.HEARTBEAT)
        members.sweep()
      }
      expect(types()).to.deep.equal(['peer:join'])
      // exactly leaveTimeout of silence is still present; one ms more is not
      now += LEAVE_TIMEOUT
      members.sweep()
      expect(types()).to.deep.equal(['peer:join'])
      now += 1
      members.sweep()
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout'])
      expect(members.present()).to.be.empty()
      expect(members.isMember(bob)).to.equal(false)
    })

    it('a member that timed out comes back with its next heartbeat', () => {
      hear(Presence.Kind.JOIN)
      now += LEAVE_TIMEOUT + 1
      members.sweep()
      now += 1_000
      hear(Presence.Kind.HEARTBEAT)
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout', 'peer:join'])
    })

    it('chat counts as being heard', () => {
      hear(Presence.Kind.JOIN)
      now += 10_000
      expect(members.heardOnTopic(bob, { name: 'bob' })).to.not.equal(undefined)
      now += 10_000
      members.sweep()
      expect(types()).to.deep.equal(['peer:join'])
    })

    it('cuts names to maxNameLength and keeps at most MAX_ADDRS addresses', () => {
      const addrs = Array.from({ length: 20 }, (_, i) => multiaddr(`/ip4/192.0.2.${i + 1}/tcp/4001`).bytes)
      const m = hear(Presence.Kind.JOIN, bob, 0, { name: 'a very long name', addrs })
      expect(events[0].detail.name).to.equal('a very l')
      expect(m?.addrs).to.have.length(MAX_ADDRS)
      expect(m?.addrs[0].toString()).to.equal('/ip4/192.0.2.1/tcp/4001')
    })
  })

  describe('leave', () => {
    it('a LEAVE ends a member at once with reason left, and no timeout follows', () => {
      hear(Presence.Kind.JOIN)
      now += 1_000
      expect(hear(Presence.Kind.LEAVE)).to.equal(undefined)
      now += LEAVE_TIMEOUT * 2
      members.sweep()
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:left'])
    })

    it('a heartbeat sent before the LEAVE but arriving after it does not bring the member back', () => {
      hear(Presence.Kind.JOIN)
      now += 5_000
      const late = BigInt(now)
      now += 1_000
      hear(Presence.Kind.LEAVE)
      now += 2_000
      expect(members.presence(bob, late, presence(Presence.Kind.HEARTBEAT))).to.equal(undefined)
      // nor one stamped the same millisecond as the LEAVE
      expect(members.presence(bob, BigInt(now - 2_000), presence(Presence.Kind.HEARTBEAT))).to.equal(undefined)
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:left'])
      expect(members.present()).to.be.empty()
    })

    it('a member that left and joins again (newer presence) is back', () => {
      hear(Presence.Kind.JOIN)
      now += 1_000
      hear(Presence.Kind.LEAVE)
      now += 1_000
      hear(Presence.Kind.JOIN)
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:left', 'peer:join'])
    })
  })

  describe('replays', () => {
    it('a replayed heartbeat (not newer than the last) does not refresh a member', () => {
      hear(Presence.Kind.JOIN)
      now += 5_000
      const recorded = BigInt(now)
      hear(Presence.Kind.HEARTBEAT)
      // the member goes quiet; an attacker replays its last heartbeat every few seconds
      for (let i = 0; i < 4; i++) {
        now += 4_000
        expect(members.presence(bob, recorded, presence(Presence.Kind.HEARTBEAT))).to.equal(undefined)
        members.sweep()
      }
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout'])
    })

    it('a replayed heartbeat does not bring back a member that timed out', () => {
      hear(Presence.Kind.JOIN)
      const recorded = BigInt(now)
      now += LEAVE_TIMEOUT + 1
      members.sweep()
      expect(members.presence(bob, recorded, presence(Presence.Kind.HEARTBEAT))).to.equal(undefined)
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout'])
    })

    it('presence older than MAX_PRESENCE_AGE is ignored, even from a member not present', () => {
      expect(hear(Presence.Kind.JOIN, carol, -MAX_PRESENCE_AGE - 1)).to.equal(undefined)
      expect(events).to.be.empty()
      expect(hear(Presence.Kind.JOIN, carol, -MAX_PRESENCE_AGE + 1000)?.present).to.equal(true)
    })

    it('out-of-order presence is dropped, newer presence is taken', () => {
      hear(Presence.Kind.JOIN, bob, 0, { name: 'first' })
      expect(hear(Presence.Kind.HEARTBEAT, bob, -1, { name: 'older' })).to.equal(undefined)
      expect(members.present()[0].name).to.equal('first')
      expect(hear(Presence.Kind.HEARTBEAT, bob, 1, { name: 'newer' })?.name).to.equal('newer')
    })
  })

  describe('ghosts', () => {
    it('presence and chat from an author that never completed a handshake make nobody present and are not kept', async () => {
      for (let i = 0; i < 500; i++) {
        const ghost = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
        expect(hear(Presence.Kind.JOIN, ghost, 0, { name: `ghost ${i}`, addrs: [multiaddr('/ip4/192.0.2.9/tcp/1').bytes] })).to.equal(undefined)
        expect(members.heardOnTopic(ghost, { name: `ghost ${i}` })).to.equal(undefined)
        expect(members.get(ghost)).to.equal(undefined)
      }
      expect(events).to.be.empty()
      expect(members.present()).to.be.empty()
      // and once a ghost's identity completes a handshake, it is a member like any other
      members.verified(bob, 'bob', { role: Role.PARTICIPANT, recordingSince: 0n })
      expect(types()).to.deep.equal(['peer:join'])
    })

    it('keeps at most MAX_STATES peers: absent ones are forgotten first, present ones never', async () => {
      members.verified(bob, 'bob', { role: Role.PARTICIPANT, recordingSince: 0n })
      for (let i = 0; i < MAX_STATES + 10; i++) {
        const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
        members.verified(other, `m${i}`, { role: Role.PARTICIPANT, recordingSince: 0n })
        members.disconnected(other)
        now += GRACE + 1
        members.heardOnTopic(bob)
        members.sweep()
      }
      expect(members.get(carol), 'carol, absent and known the longest, is forgotten').to.equal(undefined)
      expect(members.present().map(m => m.name)).to.deep.equal(['bob'])
    })
  })

  describe('disconnect grace', () => {
    it('a member whose connection closed and who stays silent is gone after disconnectGrace', () => {
      members.verified(bob, 'bob', { role: Role.PARTICIPANT, recordingSince: 0n })
      expect(members.disconnected(bob)?.peerId.equals(bob)).to.equal(true)
      expect(members.isMember(bob)).to.equal(false)
      now += GRACE
      members.sweep()
      expect(types()).to.deep.equal(['peer:join'])
      now += 1
      members.sweep()
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout'])
    })

    it('a member heard after its connection closed (through others) stays until leaveTimeout', () => {
      members.verified(bob, 'bob', { role: Role.PARTICIPANT, recordingSince: 0n })
      members.disconnected(bob)
      now += 3_000
      hear(Presence.Kind.HEARTBEAT)
      now += GRACE + 1
      members.sweep()
      expect(types()).to.deep.equal(['peer:join'])
      now += LEAVE_TIMEOUT
      members.sweep()
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:timeout'])
    })

    it('a disconnect of a peer that is not present changes nothing', () => {
      expect(members.disconnected(carol)).to.equal(undefined)
      hear(Presence.Kind.JOIN)
      now += 1_000
      hear(Presence.Kind.LEAVE)
      expect(members.disconnected(bob)).to.equal(undefined)
      expect(types()).to.deep.equal(['peer:join', 'peer:leave:left'])
    })
  })

  describe('status', () => {
    it('a recorder arrives with its role and recording in peer:join, and updates as it stops', () => {
      hear(Presence.Kind.JOIN, bob, 0, { role: Role.RECORDER, recordingSince: BigInt(T0 - 60_000) })
      expect(events[0].type).to.equal('peer:join')
      expect(events[0].detail.role).to.equal('recorder')
      expect(events[0].detail.recording).to.deep.equal({ since: T0 - 60_000 })
      now += 5_000
      hear(Presence.Kind.HEARTBEAT, bob, 0, { role: Role.RECORDER, recordingSince: BigInt(T0 - 60_000) })
      expect(types()).to.deep.equal(['peer:join'])
      now += 5_000
      hear(Presence.Kind.HEARTBEAT, bob, 0, { role: Role.RECORDER, recordingSince: 0n })
      expect(types()).to.deep.equal(['peer:join', 'peer:update'])
      expect(events[1].detail.recording).to.equal(undefined)
    })

    it('clamps a recording start in the future to now', () => {
      hear(Presence.Kind.JOIN, bob, 0, { recordingSince: BigInt(T0 + 3_600_000) })
      expect(events[0].detail.recording).to.deep.equal({ since: T0 })
    })

    it('a member that is gone is no longer shown recording', () => {
      hear(Presence.Kind.JOIN, bob, 0, { recordingSince: BigInt(T0) })
      now += LEAVE_TIMEOUT + 1
      members.sweep()
      expect(events[1].detail.recording).to.deep.equal({ since: T0 })
      expect(members.get(bob)?.recordingSince).to.equal(undefined)
    })
  })

  describe('close and welcome lists', () => {
    it('after close nothing is reported and nobody becomes present', () => {
      hear(Presence.Kind.JOIN)
      members.close()
      now += 1_000
      hear(Presence.Kind.JOIN, carol)
      hear(Presence.Kind.LEAVE)
      members.sweep()
      expect(types()).to.deep.equal(['peer:join'])
      expect(members.present()).to.be.empty()
    })

    it('lists present members other than the one being welcomed', () => {
      hear(Presence.Kind.JOIN, bob, 0, { addrs: [multiaddr('/ip4/192.0.2.7/tcp/1').bytes] })
      hear(Presence.Kind.JOIN, carol, 0, { name: 'carol' })
      expect(members.listFor(carol).map(m => m.name)).to.deep.equal(['bob'])
      expect(multiaddr(members.listFor(carol)[0].addrs[0]).toString()).to.equal('/ip4/192.0.2.7/tcp/1')
      now += 1
      hear(Presence.Kind.LEAVE)
      expect(members.listFor(carol)).to.be.empty()
    })
  })
})
