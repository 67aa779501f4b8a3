/**
 * The other members of the room and the call with each of them, kept from the room's and the call's events:
 * names, roles, who records, each call's state, what they have on, their tracks, the media path and who speaks.
 * Members who share a name (this person included) are labelled with the end of their PeerIds, as `freeflow join`
 * names them (protocols/room/text.ts `tellApart`).
 * Part of the page's state (state.ts), which hands each change on to the views.
 */
import { pathDetail, pathLabel } from '../../protocols/call/index.ts'
import { tellApart } from '../../protocols/room/text.ts'
import { SpeakerMeter } from './speaker.ts'
import type { Call, PathInfo, PeerStateEvent } from '../../protocols/call/index.ts'
import type { MemberInfo, MemberRole, Room } from '../../protocols/room/index.ts'
import type { NamedMember } from '../../protocols/room/text.ts'
import type { PeerId } from '@libp2p/interface'

export type CallState = PeerStateEvent['state']

/** How the call with one participant is carried, for its badge (protocols/call/stats.ts). */
export interface MediaPath {
  /** "direct · UDP · IPv4 · 3 ms", "via relay (TURN/TCP) · IPv6 · 48 ms" */
  text: string
  /** Which kind of candidate each side uses, in a sentence. */
  detail: string
  kind: 'direct' | 'relay'
  protocol?: 'udp' | 'tcp'
  relayProtocol?: 'udp' | 'tcp' | 'tls'
  family?: 4 | 6
  rttMs?: number
}

/** One other member of the room, and the call with them. */
export interface Participant {
  readonly peerId: PeerId
  /** The PeerId as a string. */
  readonly id: string
  name: string
  /**
   * The name as shown: the name, or, while another present member (this person included) has it too, the name with
   * the end of the PeerId ("Sam (…x7Yq2a)").
   */
  label: string
  role: MemberRole
  /** Records the room: announced it does, or is a recorder (which records whenever present). */
  recording: boolean
  call: CallState
  /** What they said is on; undefined until they say. */
  mic?: boolean
  camera?: boolean
  /** Their camera and microphone, as received. */
  media?: MediaStream
  /** A camera track of theirs is here. */
  video: boolean
  /** Their shared screen, as received. */
  screen?: MediaStream
  path?: MediaPath
  /** The loudest one right now. */
  speaking: boolean
}

/** Where the roster's changes go. */
export interface RosterOutput {
  changed(p: Participant): void
  left(p: Participant): void
  /** A line for the chat ("Ana joined"). */
  say(text: string): void
}

/** How often the media path of each call is read for the badges, ms. */
const PATH_INTERVAL = 2_000
/** How often the active speaker is measured, ms. */
const SPEAKER_INTERVAL = 300

/** A recorder (the CLI) records whenever it is present; a participant while it says so. */
export function isRecording (m: MemberInfo): boolean {
  return m.recording != null || m.role === 'recorder'
}

function describePath (path: PathInfo): MediaPath | undefined {
  const m = path.media
  if (m == null) { return undefined }
  return { text: pathLabel(m), detail: pathDetail(m), kind: m.direct ? 'direct' : 'relay', protocol: m.protocol, relayProtocol: m.relayProtocol, family: m.family, rttMs: m.rttMs }
}

export class Roster {
  private readonly map = new Map<string, Participant>()
  private readonly speakers = new SpeakerMeter()
  private timers: Array<ReturnType<typeof setInterval>> = []
  private listening = new AbortController()
  private call: Call | undefined
  /** This person, as the others name them: counts when telling members with one name apart. */
  private self: NamedMember | undefined

  constructor (private readonly out: RosterOutput) {}

  values (): IterableIterator<Participant> { return this.map.values() }

  /**
   * How a member is shown now, among the present ones and this person: its name, with the end of its PeerId while
   * someone else here has that name. For chat lines, whose author may have left.
   */
  label (member: NamedMember): string {
    return this.labeller()(member)
  }

  /** Follow a room and its call, starting with the members already there; `self` is this person as the others name them. */
  attach (room: Room, call: Call, self: NamedMember): void {
    this.detach()
    this.call = call
    this.self = self
    const signal = (this.listening = new AbortController()).signal
    room.addEventListener('peer:join', ({ detail }) => {
      const p = this.upsert(detail)
      this.out.say(`${p.label} joined${detail.role === 'recorder' ? ' as a recorder' : ''}`)
      if (isRecording(detail)) { this.out.say(`${p.label} is recording`) }
    }, { signal })
    room.addEventListener('peer:leave', ({ detail }) => {
      // named as it was shown while here: with its PeerId's end if it shared its name
      const label = this.map.get(detail.peerId.toString())?.label ?? this.label(detail)
      this.remove(detail.peerId.toString())
      this.out.say(`${label} ${detail.reason === 'left' ? 'left' : 'lost connection'}`)
    }, { signal })
    room.addEventListener('peer:update', ({ detail }) => {
      const was = this.map.get(detail.peerId.toString())?.recording
      const p = this.upsert(detail)
      if (was != null && isRecording(detail) !== was) { this.out.say(`${p.label} ${isRecording(detail) ? 'started' : 'stopped'} recording`) }
    }, { signal })
    call.addEventListener('track', ({ detail }) => {
      this.update(detail.peerId, p => {
        if (detail.kind === 'screen') {
          p.screen = new MediaStream([detail.track])
        } else {
          p.media = detail.stream
          if (detail.kind === 'camera') { p.video = true }
        }
      })
    }, { signal })
    call.addEventListener('track:removed', ({ detail }) => {
      this.update(detail.peerId, p => {
        if (detail.kind === 'screen') {
          p.screen = undefined
        } else if (detail.kind === 'camera' && p.media === detail.stream) {
          p.video = detail.stream.getVideoTracks().some(t => t !== detail.track && t.readyState === 'live')
        }
      })
    }, { signal })
    call.addEventListener('media-state', ({ detail }) => {
      this.update(detail.peerId, p => {
        p.mic = detail.mic
        p.camera = detail.camera
        if (!detail.screen) { p.screen = undefined }
      })
    }, { signal })
    call.addEventListener('peer-state', ({ detail }) => {
      this.update(detail.peerId, p => { p.call = detail.state })
    }, { signal })
    for (const m of room.members()) { this.upsert(m) }
    this.timers.push(setInterval(() => { void this.readPaths() }, PATH_INTERVAL))
    this.timers.push(setInterval(() => { void this.measureSpeakers() }, SPEAKER_INTERVAL))
  }

  /** Stop following the room and call, and forget everyone. */
  detach (): void {
    this.listening.abort()
    this.timers.forEach(t => { clearInterval(t) })
    this.timers = []
    this.call = undefined
    for (const id of [...this.map.keys()]) { this.remove(id, false) }
    this.self = undefined
  }

  /** How members are named among this person and those present now. */
  private labeller (): (member: NamedMember) => string {
    return tellApart(this.self != null ? [this.self, ...this.map.values()] : this.map.values())
  }

  /** Label everyone anew (a name came or went): each one whose label changed is a change. */
  private relabel (except?: Participant): void {
    const label = this.labeller()
    for (const p of this.map.values()) {
      const now = label(p)
      if (now === p.label) { continue }
      p.label = now
      if (p !== except) { this.out.changed(p) }
    }
  }

  private upsert (m: MemberInfo): Participant {
    const id = m.peerId.toString()
    const p: Participant = this.map.get(id) ?? { peerId: m.peerId, id, name: m.name, label: m.name, role: m.role, recording: false, call: 'calling', video: false, speaking: false }
    const renamed = !this.map.has(id) || p.name !== m.name
    p.name = m.name
    p.role = m.role
    p.recording = isRecording(m)
    this.map.set(id, p)
    if (renamed) { this.relabel(p) }
    this.out.changed(p)
    return p
  }

  private update (peerId: PeerId, change: (p: Participant) => void): void {
    const p = this.map.get(peerId.toString())
    if (p == null) { return }
    change(p)
    this.out.changed(p)
  }

  /** Someone left: the others are labelled anew (`relabel`: false when everyone goes). */
  private remove (id: string, relabel = true): void {
    const p = this.map.get(id)
    if (p == null) { return }
    this.map.delete(id)
    this.out.left(p)
    if (relabel) { this.relabel() }
  }

  private async readPaths (): Promise<void> {
    const call = this.call
    if (call == null) { return }
    for (const p of [...this.map.values()]) {
      if (p.call === 'no-call' || p.role === 'recorder') { continue }
      const info = await call.path(p.peerId)
      if (info == null || this.map.get(p.id) !== p) { continue }
      const path = describePath(info)
      if (JSON.stringify(path) !== JSON.stringify(p.path)) { this.update(p.peerId, q => { q.path = path }) }
    }
  }

  private async measureSpeakers (): Promise<void> {
    const call = this.call
    if (call == null) { return }
    const loudest = await this.speakers.tick(call, [...this.map.values()].map(p => p.peerId))
    if (loudest === null) { return }
    for (const p of this.map.values()) {
      if (p.speaking !== (p.id === loudest)) { this.update(p.peerId, q => { q.speaking = q.id === loudest }) }
    }
  }
}
