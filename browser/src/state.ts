/**
 * What the page knows, in one place: where the person is (pre-join, joining, in the call, left), the room and its
 * members, this person's camera and microphone, each participant's call, chat, recording, and the relays. Views
 * render from it and call its methods; it talks only to the room and call objects from protocols/, and never opens
 * a stream or parses a message itself.
 *
 * Local media is a value that can change at any time (a permission answered after Join, another device chosen, a
 * device plugged in): every change is applied to the call at once (`call.setStream`, `call.setMediaState`), so
 * everyone sees and hears what this person's controls say.
 */
import { TypedEventEmitter } from 'main-event'
import { receiving } from '../../protocols/call/index.ts'
import { generateRoomKey, normaliseRoomKey, parseRoomKey } from '../../protocols/room-key/index.ts'
import { loadIdentity } from './identity.ts'
import { bootstrapAddrs, setLinkRoom } from './link.ts'
import { LocalMedia } from './media.ts'
import { createBrowserNode } from './node.ts'
import { RecordingControl } from './recording-state.ts'
import { Roster } from './roster.ts'
import type { DeviceKind } from './media.ts'
import type { BrowserNode } from './node.ts'
import type { RecordingSources } from './recording-state.ts'
import type { Participant } from './roster.ts'
import type { Call } from '../../protocols/call/index.ts'
import type { ChatMessage, Room } from '../../protocols/room/index.ts'
import type { NamedMember } from '../../protocols/room/text.ts'

export type { CallState, Participant } from './roster.ts'

export type Phase = 'prejoin' | 'joining' | 'call' | 'left'

/** The pre-join screen's sentence; `field` is the input to fix. */
export interface Status {
  text: string
  error: boolean
  field?: 'key' | 'name'
}

/**
 * Chat entries the page keeps (state and list), the newest: the room's history is 200 lines and the chat rate 2 a
 * second per member, so a busy room fills this in minutes while the page stays small for a call of hours.
 */
export const MAX_CHAT_ENTRIES = 500

/**
 * A chat line. A message's `label` is its author as shown when it came (roster.ts `label`: with the end of the PeerId
 * while someone else here had that name), and stays so: who said what reads the same after one of two Sams left.
 */
export type ChatEntry = { kind: 'message', message: ChatMessage, own: boolean, label: string } | { kind: 'system', text: string }

export interface AppEvents {
  phase: CustomEvent<Phase>
  status: CustomEvent<Status>
  /** A relay was reached or lost. */
  relays: CustomEvent<void>
  /** This person's camera, microphone, devices or screen changed. */
  media: CustomEvent<void>
  /** A participant appeared or something about them changed. */
  participant: CustomEvent<Participant>
  'participant:leave': CustomEvent<Participant>
  chat: CustomEvent<ChatEntry>
  /** Anyone's recording, or this page's recorder, changed. */
  recording: CustomEvent<void>
}

export class AppState extends TypedEventEmitter<AppEvents> {
  phase: Phase = 'prejoin'
  status: Status = { text: '', error: false }
  /** The display name, remembered between visits. */
  name = localStorage.getItem('freeflow:name') ?? ''
  /** "Hide my address": media only through a relay's TURN server; remembered between visits, applied at Join. */
  hideAddress = localStorage.getItem('freeflow:hide-address') === 'true'
  node: BrowserNode | undefined
  room: Room | undefined
  call: Call | undefined
  /** Each relay's multiaddr: reachable or not. */
  readonly relays = new Map<string, boolean>()
  /** The other members and the call with each. */
  readonly participants = new Roster({
    changed: p => {
      this.safeDispatchEvent('participant', { detail: p })
      this.recordersChanged()
    },
    left: p => {
      this.safeDispatchEvent('participant:leave', { detail: p })
      this.recordersChanged()
    },
    say: text => { this.system(text) }
  })

  /** The newest MAX_CHAT_ENTRIES chat entries. */
  readonly chat: ChatEntry[] = []
  readonly media = new LocalMedia()
  /** This person's shared screen. */
  screen: MediaStream | undefined
  readonly recording = new RecordingControl(text => { this.system(text) })
  /** What the call was last given, so a change is sent once. */
  private sent: { stream?: MediaStream, state?: string } = {}
  /** Who records, as last told to the views. */
  private recorders = ''

  constructor () {
    super()
    this.media.addEventListener('change', () => {
      this.applyMedia()
      this.safeDispatchEvent('media')
    })
    this.recording.addEventListener('change', () => { this.safeDispatchEvent('recording') })
  }

  /** Ask for the camera and microphone (joining does not wait for them). */
  async start (): Promise<void> {
    await this.media.start()
  }

  /** Choose whether the next Join hides this person's address (remembered in this browser). */
  setHideAddress (hide: boolean): void {
    this.hideAddress = hide
    localStorage.setItem('freeflow:hide-address', String(hide))
  }

  async newRoom (): Promise<string> {
    const key = await generateRoomKey()
    setLinkRoom(key)
    this.setStatus({ text: 'A new room. Share the link in the address bar with the people you want to talk to.', error: false })
    return key
  }

  /**
   * Start the node, join the room and its call. Whatever fails after the node exists stops it again (with its
   * bootstrap service), so a failed join leaves nothing running and the next Join starts afresh.
   */
  async join (input: { name: string, key: string }): Promise<void> {
    if (this.phase !== 'prejoin') { return }
    const key = normaliseRoomKey(input.key)
    try {
      await parseRoomKey(key)
    } catch (err: any) {
      this.setStatus({ text: err.message.replace(/^room key/, 'The room key'), error: true, field: 'key' })
      return
    }
    const name = input.name.trim()
    if (name === '') {
      this.setStatus({ text: 'Please enter your name, so the others know who you are.', error: true, field: 'name' })
      return
    }
    this.name = name
    localStorage.setItem('freeflow:name', name)
    setLinkRoom(key)
    this.setPhase('joining')
    this.setStatus({ text: 'Starting…', error: false })
    let node: BrowserNode | undefined
    let room: Room | undefined
    try {
      const addrs = await bootstrapAddrs()
      if (addrs.length === 0) { throw new Error('There is no relay to start from: open this page from a FreeFlow relay, or add #bootstrap=<relay address> to the link.') }
      node = this.node = await createBrowserNode(await loadIdentity(), { bootstrap: addrs, relayMediaOnly: this.hideAddress })
      this.watchRelays(node)
      this.setStatus({ text: 'Joining the room…', error: false })
      room = await node.services.room.join(key, { name })
      // the call's connections take the relays' STUN/TURN servers from the node, as the credentials come and renew
      const call = node.services.call.join(room, { RTCPeerConnection: globalThis.RTCPeerConnection })
      this.enter(room, call, { peerId: node.peerId, name })
    } catch (err: any) {
      this.participants.detach()
      this.room = this.call = this.node = undefined
      this.relays.clear()
      this.sent = {}
      await room?.leave().catch(() => {})
      await Promise.resolve(node?.stop()).catch(() => {})
      this.setPhase('prejoin')
      this.setStatus({ text: String(err?.message ?? err), error: true })
    }
  }

  /** Leave the room, stop the node, release camera, microphone and screen. */
  async leave (): Promise<void> {
    if (this.phase !== 'call') { return }
    if (this.room != null) { await this.recording.stop(this.room) }
    this.participants.detach()
    this.call?.hangUp()
    await this.room?.leave().catch(() => {})
    await Promise.resolve(this.node?.stop()).catch(() => {})
    this.node = this.room = this.call = undefined
    this.screen?.getTracks().forEach(t => { t.stop() })
    this.screen = undefined
    this.media.stop()
    this.setPhase('left')
  }

  /** The tab is going away: say goodbye to the room at least. */
  pageHidden (): void {
    void this.room?.leave().catch(() => {})
  }

  toggleMic (): void {
    if (this.media.hasAudio) { this.media.setMic(!this.media.micWanted) }
  }

  toggleCamera (): void {
    if (this.media.hasVideo) { this.media.setCamera(!this.media.cameraWanted) }
  }

  async selectDevice (kind: DeviceKind, id: string): Promise<void> {
    await this.media.select(kind, id)
  }

  async toggleScreen (): Promise<void> {
    if (this.screen != null) {
      this.stopScreen()
      return
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false })
      this.screen = stream
      stream.getVideoTracks()[0]?.addEventListener('ended', () => { if (this.screen === stream) { this.stopScreen() } })
      this.call?.setStream('screen', stream)
      this.applyMedia()
      this.safeDispatchEvent('media')
    } catch (err: any) {
      if (err?.name !== 'NotAllowedError') { this.system(`Screen sharing failed: ${err.message}`) }
    }
  }

  stopScreen (): void {
    this.screen?.getTracks().forEach(t => { t.stop() })
    this.screen = undefined
    this.call?.setStream('screen', null)
    this.applyMedia()
    this.safeDispatchEvent('media')
  }

  async send (text: string): Promise<void> {
    if (this.room == null) { throw new Error('not in a room') }
    const message = await this.room.send(text)
    this.addChat({ kind: 'message', message, own: true, label: 'You' })
  }

  async toggleRecording (sources: Pick<RecordingSources, 'tiles'>): Promise<void> {
    if (this.room == null) { return }
    await this.recording.toggle(this.room, { tiles: sources.tiles, audio: () => this.audioTracks() })
  }

  /** Who records, for everyone to see: "You" first, then the others by name (as labelled: members with one name told apart). */
  recordingNames (): string[] {
    const names = this.room?.recording != null ? ['You'] : []
    for (const p of this.participants.values()) { if (p.recording) { names.push(p.label) } }
    return names
  }

  /** What the recording hears: every remote participant who is not muted, and this person's microphone unless muted. */
  audioTracks (): MediaStreamTrack[] {
    const tracks: MediaStreamTrack[] = this.media.micOn ? this.media.stream?.getAudioTracks() ?? [] : []
    for (const p of this.participants.values()) {
      if (p.mic === false) { continue }
      const pc = this.call?.peerConnection(p.peerId)
      for (const r of pc != null ? receiving(pc, 'audio') : []) { tracks.push(r.track) }
    }
    return tracks
  }

  /** In the call: follow the room's chat and members; `self` is this person as the others name them. */
  private enter (room: Room, call: Call, self: NamedMember): void {
    this.room = room
    this.call = call
    room.addEventListener('chat', ({ detail }) => {
      this.addChat({ kind: 'message', message: detail, own: false, label: this.participants.label({ peerId: detail.from, name: detail.name }) })
    })
    this.sent = {}
    this.applyMedia()
    this.participants.attach(room, call, self)
    this.setStatus({ text: '', error: false })
    this.setPhase('call')
  }

  /** Send the call what this person has now: the stream (when it changed) and what is on. */
  private applyMedia (): void {
    const call = this.call
    if (call == null) { return }
    const stream = this.media.stream
    if (stream !== this.sent.stream) {
      this.sent.stream = stream
      call.setStream('camera', stream ?? null)
    }
    const state = { mic: this.media.micOn, camera: this.media.cameraOn, screen: this.screen != null }
    const text = JSON.stringify(state)
    if (text !== this.sent.state) {
      this.sent.state = text
      call.setMediaState(state)
    }
  }

  private watchRelays (node: BrowserNode): void {
    const onStatus = (s: { addr: string, connected: boolean }): void => {
      if (this.node !== node) { return }
      this.relays.set(s.addr, s.connected)
      this.safeDispatchEvent('relays')
    }
    node.services.bootstrap.statuses().forEach(onStatus)
    node.services.bootstrap.addEventListener('status', ({ detail }) => { onStatus(detail) })
  }

  /** A participant came, went or changed: tell the views if that changed who records. */
  private recordersChanged (): void {
    const names = JSON.stringify(this.recordingNames())
    if (names === this.recorders) { return }
    this.recorders = names
    this.safeDispatchEvent('recording')
  }

  private addChat (entry: ChatEntry): void {
    this.chat.push(entry)
    if (this.chat.length > MAX_CHAT_ENTRIES) { this.chat.splice(0, this.chat.length - MAX_CHAT_ENTRIES) }
    this.safeDispatchEvent('chat', { detail: entry })
  }

  /** A line in the chat from the page itself ("Ana joined"). */
  system (text: string): void {
    this.addChat({ kind: 'system', text })
  }

  private setPhase (phase: Phase): void {
    this.phase = phase
    this.safeDispatchEvent('phase', { detail: phase })
  }

  private setStatus (status: Status): void {
    this.status = status
    this.safeDispatchEvent('status', { detail: status })
  }
}
