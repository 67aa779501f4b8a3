/**
 * The web app. It only talks to the room and call objects from protocols/ and listens to their events; it never
 * opens a stream or parses a message itself.
 */
import { keepBootstrapped } from '../../protocols/bootstrap.js'
import { generateRoomKey, normaliseRoomKey, parseRoomKey } from '../../protocols/room-key/index.js'
import { loadIdentity } from './identity.js'
import { createBrowserNode, type BrowserNode } from './node.js'
import { RecordingStore, SessionRecorder, StorageUnavailableError, RecordingUnsupportedError, durationOf, fileName, recordingError, supportedMimeType, type RecordingMeta, type TileView } from './recording.js'
import type { Call, PathInfo } from '../../protocols/call/index.js'
import type { ChatMessage, MemberInfo, Room } from '../../protocols/room/index.js'
import type { PeerId } from '@libp2p/interface'

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id)
  if (el == null) throw new Error(`missing #${id}`)
  return el as T
}

interface Tile {
  el: HTMLElement
  camera: HTMLVideoElement
  screen?: HTMLVideoElement
  avatar: HTMLElement
  flags: HTMLElement
  badge: HTMLElement
  state: HTMLElement
  rec: HTMLElement
  name: string
}

const app = {
  node: undefined as BrowserNode | undefined,
  room: undefined as Room | undefined,
  call: undefined as Call | undefined,
  local: undefined as MediaStream | undefined,
  screen: undefined as MediaStream | undefined,
  mic: true,
  camera: true,
  tiles: new Map<string, Tile>(),
  timers: [] as Array<ReturnType<typeof setInterval>>,
  recorder: undefined as SessionRecorder | undefined,
  /** 'starting' and 'stopping' while the record button waits */
  recording: 'off' as 'off' | 'starting' | 'on' | 'stopping',
  shutdown: undefined as AbortController | undefined
}
;(globalThis as any).freeflow = app // for people debugging in the console

// ---------- the link ----------

function fragment (): { room: string, bootstrap: string[] } {
  const params = new URLSearchParams(location.hash.slice(1))
  return { room: params.get('room') ?? '', bootstrap: params.getAll('bootstrap') }
}

function setFragmentRoom (key: string): void {
  const params = new URLSearchParams(location.hash.slice(1))
  params.set('room', key)
  history.replaceState(null, '', `#${params.toString()}`)
}

// ---------- media ----------

function mediaError (err: any): string {
  switch (err?.name) {
    case 'NotAllowedError': case 'SecurityError':
      return 'Camera and microphone are blocked for this page. You can still join and chat; allow them in the site settings to be seen and heard.'
    case 'NotFoundError': case 'OverconstrainedError':
      return 'No camera or microphone was found. You can still join and chat.'
    case 'NotReadableError':
      return 'The camera or microphone is busy in another program. You can still join and chat.'
    default:
      return `Camera and microphone are unavailable (${String(err?.message ?? err)}). You can still join and chat.`
  }
}

async function getMedia (): Promise<void> {
  const cameraId = $<HTMLSelectElement>('camera-select').value
  const micId = $<HTMLSelectElement>('mic-select').value
  const video: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 }, ...(cameraId !== '' ? { deviceId: { exact: cameraId } } : {}) }
  const audio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, ...(micId !== '' ? { deviceId: { exact: micId } } : {}) }
  app.local?.getTracks().forEach(t => { t.stop() })
  app.local = undefined
  const note = $('preview-note')
  let stream: MediaStream | undefined
  let firstError: any
  for (const constraints of [{ video, audio }, { audio }, { video }]) {
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints)
      break
    } catch (err: any) {
      firstError ??= err
    }
  }
  if (stream == null) {
    note.textContent = mediaError(firstError)
    note.hidden = false
  } else {
    note.hidden = stream.getVideoTracks().length > 0
    if (stream.getVideoTracks().length === 0) note.textContent = 'No camera: others will see your name.'
    app.local = stream
  }
  const preview = $<HTMLVideoElement>('local-video')
  preview.srcObject = app.local ?? null
  await listDevices()
}

async function listDevices (): Promise<void> {
  let devices: MediaDeviceInfo[] = []
  try { devices = await navigator.mediaDevices.enumerateDevices() } catch {}
  for (const [select, kind] of [['camera-select', 'videoinput'], ['mic-select', 'audioinput']] as const) {
    const el = $<HTMLSelectElement>(select)
    const current = app.local?.getTracks().find(t => t.kind === (kind === 'videoinput' ? 'video' : 'audio'))?.getSettings().deviceId
    el.replaceChildren(...devices.filter(d => d.kind === kind).map((d, i) => {
      const o = document.createElement('option')
      o.value = d.deviceId
      o.textContent = d.label !== '' ? d.label : `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`
      o.selected = d.deviceId === current
      return o
    }))
    el.disabled = el.options.length === 0
  }
}

// ---------- pre-join ----------

function status (text: string, error = false): void {
  const el = $('prejoin-status')
  el.textContent = text
  el.classList.toggle('error', error)
}

async function bootstrapAddrs (): Promise<string[]> {
  const addrs = [...fragment().bootstrap]
  try {
    const res = await fetch('/bootstrap.json', { cache: 'no-store' })
    if (res.ok) {
      const info = await res.json()
      // a page can only dial WebSockets (and WebRTC, once introduced); the relay that served it comes first
      addrs.unshift(...(info.addrs as string[]).filter(a => a.includes('/ws')))
    }
  } catch {}
  return [...new Set(addrs)]
}

async function join (evt: Event): Promise<void> {
  evt.preventDefault()
  const keyInput = $<HTMLInputElement>('room-key')
  const nameInput = $<HTMLInputElement>('display-name')
  const key = normaliseRoomKey(keyInput.value)
  try {
    await parseRoomKey(key)
  } catch (err: any) {
    status(err.message.replace(/^room key/, 'The room key'), true)
    keyInput.focus()
    return
  }
  const name = nameInput.value.trim()
  if (name === '') {
    status('Please enter your name, so the others know who you are.', true)
    nameInput.focus()
    return
  }
  localStorage.setItem('freeflow:name', name)
  setFragmentRoom(key)
  $<HTMLButtonElement>('join').disabled = true
  status('Starting…')
  try {
    const addrs = await bootstrapAddrs()
    if (addrs.length === 0) throw new Error('There is no relay to start from: open this page from a FreeFlow relay, or add #bootstrap=<relay address> to the link.')
    const node = app.node = await createBrowserNode(await loadIdentity())
    app.shutdown = new AbortController()
    const reachable = new Map<string, boolean>()
    keepBootstrapped(node, addrs, {
      signal: app.shutdown.signal,
      onStatus: (s) => {
        reachable.set(s.addr, s.connected)
        renderNet(reachable)
      }
    })
    const room = app.room = await node.services.room.join(key, { name })
    const call = app.call = node.services.call.join(room, { RTCPeerConnection: globalThis.RTCPeerConnection, rtcConfiguration: { iceServers: [] } })
    enterCall(room, call, name)
  } catch (err: any) {
    status(err.message ?? String(err), true)
    $<HTMLButtonElement>('join').disabled = false
    await Promise.resolve(app.node?.stop()).catch(() => {})
    app.node = undefined
  }
}

function renderNet (reachable: Map<string, boolean>): void {
  const el = $('net-status')
  const up = [...reachable.values()].filter(Boolean).length
  const known = reachable.size
  if (up > 0) {
    el.textContent = `Connected to ${up} relay${up === 1 ? '' : 's'}`
    el.classList.remove('error')
  } else if (known > 0) {
    el.textContent = 'No relay reachable; retrying. Participants you are already connected to stay connected.'
    el.classList.add('error')
  }
}

// ---------- the call ----------

function enterCall (room: Room, call: Call, name: string): void {
  $('prejoin').hidden = true
  $('call').hidden = false
  $('room-name').textContent = room.shortName
  document.title = `FreeFlow Connect · ${room.shortName}`
  const self = makeTile(undefined, `${name} (you)`)
  self.el.classList.add('self')
  const local = $<HTMLVideoElement>('local-video')
  self.camera.replaceWith(local)
  self.camera = local
  local.classList.add('camera')
  if (app.local != null) {
    call.setStream('camera', app.local)
    self.avatar.hidden = app.local.getVideoTracks().length > 0
  }
  app.mic = app.local?.getAudioTracks().length !== 0 && app.local != null
  app.camera = app.local?.getVideoTracks().length !== 0 && app.local != null
  call.setMediaState({ mic: app.mic, camera: app.camera, screen: false })
  renderControls()
  for (const m of room.members()) addMember(m.peerId, m.name)
  renderPeople()
  renderRecording()

  room.addEventListener('peer:join', ({ detail }) => {
    addMember(detail.peerId, detail.name)
    system(`${detail.name} joined${detail.role === 'recorder' ? ' as a recorder' : ''}`)
    if (isRecording(detail)) system(`${detail.name} is recording`)
    renderRecording()
  })
  room.addEventListener('peer:leave', ({ detail }) => {
    removeMember(detail.peerId)
    system(`${detail.name} ${detail.reason === 'left' ? 'left' : 'lost connection'}`)
    renderRecording()
  })
  room.addEventListener('peer:update', ({ detail }) => {
    const was = app.tiles.get(detail.peerId.toString())?.el.dataset.recording === 'on'
    if (isRecording(detail) !== was) system(`${detail.name} ${isRecording(detail) ? 'started' : 'stopped'} recording`)
    renderTile(detail.peerId.toString())
    renderPeople()
    renderRecording()
  })
  room.addEventListener('chat', ({ detail }) => { addChat(detail) })
  call.addEventListener('track', ({ detail }) => {
    const tile = app.tiles.get(detail.peerId.toString())
    if (tile == null) return
    if (detail.kind === 'screen') {
      tile.screen?.remove()
      const v = tile.screen = video('screen')
      v.srcObject = new MediaStream([detail.track])
      tile.el.prepend(v)
      tile.el.classList.add('sharing')
      tile.el.dataset.screen = 'on'
    } else {
      if (tile.camera.srcObject !== detail.stream) tile.camera.srcObject = detail.stream
      if (detail.kind === 'camera') tile.el.dataset.video = 'on'
      void tile.camera.play().catch(() => {})
    }
    renderTile(detail.peerId.toString())
  })
  call.addEventListener('track:removed', ({ detail }) => {
    const tile = app.tiles.get(detail.peerId.toString())
    if (tile != null && detail.kind === 'screen') {
      tile.screen?.remove()
      tile.screen = undefined
      tile.el.classList.remove('sharing')
      delete tile.el.dataset.screen
    }
  })
  call.addEventListener('media-state', ({ detail }) => {
    const tile = app.tiles.get(detail.peerId.toString())
    if (tile == null) return
    tile.el.dataset.mic = detail.mic ? 'on' : 'off'
    tile.el.dataset.camera = detail.camera ? 'on' : 'off'
    if (!detail.screen && tile.screen != null) {
      tile.screen.remove()
      tile.screen = undefined
      tile.el.classList.remove('sharing')
      delete tile.el.dataset.screen
    }
    renderTile(detail.peerId.toString())
    renderPeople()
  })
  call.addEventListener('peer-state', ({ detail }) => {
    const tile = app.tiles.get(detail.peerId.toString())
    if (tile == null) return
    tile.el.dataset.state = detail.state
    renderTile(detail.peerId.toString())
  })
  app.timers.push(setInterval(() => { void updateBadges() }, 2_000))
  app.timers.push(setInterval(() => { void activeSpeaker() }, 300))
  app.timers.push(setInterval(() => { if (app.recording === 'on') renderRecordButton() }, 1_000))
  renderRecordButton()
}

function video (cls: string): HTMLVideoElement {
  const v = document.createElement('video')
  v.autoplay = true
  v.playsInline = true
  v.className = cls
  return v
}

function makeTile (peerId: PeerId | undefined, name: string): Tile {
  const el = document.createElement('div')
  el.className = 'tile'
  const camera = video('camera')
  const avatar = document.createElement('div')
  avatar.className = 'avatar'
  avatar.textContent = (name.trim()[0] ?? '?').toUpperCase()
  const label = document.createElement('div')
  label.className = 'label'
  const nameEl = document.createElement('span')
  nameEl.className = 'name'
  nameEl.textContent = name
  const flags = document.createElement('span')
  flags.className = 'flag'
  flags.hidden = true
  const badge = document.createElement('span')
  badge.className = 'badge'
  const state = document.createElement('div')
  state.className = 'state'
  state.hidden = true
  const rec = document.createElement('span')
  rec.className = 'rec'
  rec.textContent = 'REC'
  rec.title = 'Recording this call'
  rec.hidden = true
  label.append(nameEl, flags, badge)
  el.append(camera, avatar, label, state, rec)
  if (peerId != null) {
    el.dataset.testid = 'tile'
    el.dataset.peerId = peerId.toString()
    el.dataset.name = name
    el.dataset.state = 'calling'
  }
  $('grid').append(el)
  return { el, camera, avatar, flags, badge, state, rec, name }
}

function addMember (peerId: PeerId, name: string): void {
  const key = peerId.toString()
  if (app.tiles.has(key)) return
  app.tiles.set(key, makeTile(peerId, name))
  renderTile(key)
  renderPeople()
}

function removeMember (peerId: PeerId): void {
  const key = peerId.toString()
  app.tiles.get(key)?.el.remove()
  app.tiles.delete(key)
  renderPeople()
}

const STATE_TEXT: Record<string, string> = {
  calling: 'Connecting…',
  reconnecting: 'Reconnecting…',
  unreachable: 'Cannot reach this person directly. Chat still works.',
  'no-call': ''
}

function renderTile (key: string): void {
  const tile = app.tiles.get(key)
  if (tile == null) return
  const { dataset } = tile.el
  const hasVideo = dataset.video === 'on' && dataset.camera !== 'off'
  tile.avatar.hidden = hasVideo || dataset.screen === 'on'
  const flags = [dataset.mic === 'off' ? 'muted' : '', dataset.camera === 'off' ? 'camera off' : ''].filter(f => f !== '')
  tile.flags.textContent = flags.join(' · ')
  tile.flags.hidden = flags.length === 0
  const text = STATE_TEXT[dataset.state ?? ''] ?? ''
  tile.state.textContent = text
  tile.state.hidden = text === ''
  const member = memberInfo(key)
  if (member != null) {
    dataset.role = member.role
    dataset.recording = isRecording(member) ? 'on' : 'off'
    tile.rec.hidden = !isRecording(member)
    if (member.role === 'recorder') {
      // it never sends media: muted and camera off say nothing about it
      tile.badge.textContent = 'recorder'
      tile.flags.hidden = true
    }
  }
  if (dataset.state === 'no-call' && member?.role !== 'recorder') tile.badge.textContent = 'terminal · chat only'
}

function memberInfo (key: string): MemberInfo | undefined {
  return app.room?.members().find(m => m.peerId.toString() === key)
}

/** A recorder (the CLI) records whenever it is present; a participant while it says so. */
function isRecording (m: MemberInfo): boolean {
  return m.recording != null || m.role === 'recorder'
}

function describe (path: PathInfo): { text: string, kind: string } {
  if (path.media != null) {
    const parts = [path.media.direct ? 'direct' : 'relayed', path.media.family != null ? `IPv${path.media.family}` : '', path.media.rttMs != null ? `${path.media.rttMs} ms` : '']
    return { text: parts.filter(p => p !== '').join(' · '), kind: path.media.direct ? 'direct' : 'relayed' }
  }
  return { text: path.signalling.relayed ? 'via relay' : 'direct', kind: path.signalling.relayed ? 'relayed' : 'direct' }
}

async function updateBadges (): Promise<void> {
  const call = app.call
  if (call == null) return
  for (const [key, tile] of app.tiles) {
    if (tile.el.dataset.state === 'no-call' || tile.el.dataset.role === 'recorder') continue
    const peerId = app.room?.members().find(m => m.peerId.toString() === key)?.peerId
    if (peerId == null) continue
    const path = await call.path(peerId)
    if (path == null) continue
    const { text, kind } = describe(path)
    tile.badge.textContent = text
    tile.el.dataset.path = kind
    if (path.media?.family != null) tile.el.dataset.family = String(path.media.family)
    if (path.media?.rttMs != null) tile.el.dataset.rtt = String(path.media.rttMs)
  }
}

/** Below this mean audio level (0..1, RMS) over a tick, a participant is silent. */
const SPEAKING_LEVEL = 0.02
/** The highlight stays this long after a speaker was last heard, ms: short pauses between words do not flicker. */
const SPEAKING_HOLD = 1_500
/** Audio seconds between two ticks beyond which their difference is too old to call anyone speaking now. */
const STALE_WINDOW = 1
/** Per participant: audio energy counters at the last tick, and when they were last heard above SPEAKING_LEVEL. */
const speech = new Map<string, { energy: number, seconds: number, level: number, heardAt: number }>()

/**
 * The active speaker: whoever had the highest mean audio level since the last tick, from the receivers'
 * totalAudioEnergy / totalSamplesDuration (every sample counts, not just the last packet's level), held for
 * SPEAKING_HOLD so that the highlight follows a conversation without flickering.
 */
/** One tick at a time: on a busy page a tick can outlast the interval. */
let speakerTick = false

async function activeSpeaker (): Promise<void> {
  const call = app.call
  if (call == null || speakerTick) return
  speakerTick = true
  try {
    await measureSpeakers(call)
  } finally {
    speakerTick = false
  }
}

async function measureSpeakers (call: NonNullable<typeof app.call>): Promise<void> {
  const now = Date.now()
  const present = new Set<string>()
  for (const m of app.room?.members() ?? []) {
    const key = m.peerId.toString()
    present.add(key)
    const receiver = call.peerConnection(m.peerId)?.getReceivers().find(r => r.track.kind === 'audio' && r.track.readyState === 'live')
    if (receiver == null) { speech.delete(key); continue }
    let energy = 0
    let seconds = 0
    try {
      (await receiver.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') { energy = s.totalAudioEnergy ?? 0; seconds = s.totalSamplesDuration ?? 0 }
      })
    } catch { continue }
    const last = speech.get(key)
    const dt = seconds - (last?.seconds ?? seconds)
    // a window much longer than a tick (the page stalled) holds sound from long ago: it is not speech now
    const level = dt > 0 && dt <= STALE_WINDOW ? Math.sqrt(Math.max(0, energy - (last?.energy ?? energy)) / dt) : 0
    speech.set(key, { energy, seconds, level, heardAt: level > SPEAKING_LEVEL ? now : last?.heardAt ?? 0 })
  }
  for (const key of speech.keys()) if (!present.has(key)) speech.delete(key)
  // the loudest of those heard now; else whoever was heard last, while the hold lasts
  let loudest: string | undefined
  let best = SPEAKING_LEVEL
  for (const [key, s] of speech) if (s.level > best) { best = s.level; loudest = key }
  if (loudest == null) {
    const recent = [...speech].filter(([, s]) => now - s.heardAt < SPEAKING_HOLD).sort((a, b) => b[1].heardAt - a[1].heardAt)[0]
    loudest = recent?.[0]
  }
  for (const [key, tile] of app.tiles) tile.el.classList.toggle('speaking', key === loudest)
}

function renderPeople (): void {
  const list = $('participants')
  const items: HTMLLIElement[] = []
  const me = document.createElement('li')
  me.dataset.testid = 'participant'
  me.dataset.name = localStorage.getItem('freeflow:name') ?? ''
  me.textContent = `${me.dataset.name} (you)`
  if (app.room?.recording != null) {
    const meta = document.createElement('span')
    meta.className = 'meta rec-meta'
    meta.textContent = 'recording'
    me.append(meta)
  }
  items.push(me)
  for (const [key, tile] of app.tiles) {
    const li = document.createElement('li')
    li.dataset.testid = 'participant'
    li.dataset.peerId = key
    li.dataset.name = tile.name
    const n = document.createElement('span')
    n.textContent = tile.name
    const meta = document.createElement('span')
    meta.className = 'meta'
    const member = memberInfo(key)
    const role = member?.role === 'recorder' ? 'recorder' : tile.el.dataset.state === 'no-call' ? 'terminal' : ''
    const off = role === 'recorder' ? [] : [tile.el.dataset.mic === 'off' ? 'muted' : '', tile.el.dataset.camera === 'off' ? 'camera off' : '']
    meta.textContent = [member != null && isRecording(member) ? 'recording' : '', ...off, role].filter(s => s !== '').join(' · ')
    if (member != null && isRecording(member)) meta.classList.add('rec-meta')
    li.append(n, meta)
    items.push(li)
  }
  list.replaceChildren(...items)
  $('people-count').textContent = String(items.length)
}

// ---------- chat ----------

let historyShown = false

function addChat (msg: ChatMessage, own = false): void {
  const list = $('chat-list')
  if (msg.history && !historyShown) {
    historyShown = true
    const d = document.createElement('li')
    d.className = 'divider'
    d.textContent = 'Earlier in this room'
    list.append(d)
  }
  const li = document.createElement('li')
  li.dataset.testid = 'chat-message'
  li.dataset.name = msg.name
  li.dataset.from = msg.from.toString()
  if (msg.history) li.classList.add('history')
  const who = document.createElement('span')
  who.className = 'who'
  who.textContent = `${own ? 'You' : msg.name} · ${new Date(msg.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
  const text = document.createElement('span')
  text.className = 'text'
  text.textContent = msg.text
  li.append(who, text)
  list.append(li)
  list.scrollTop = list.scrollHeight
}

function system (text: string): void {
  const li = document.createElement('li')
  li.className = 'system'
  li.textContent = text
  $('chat-list').append(li)
}

async function sendChat (evt: Event): Promise<void> {
  evt.preventDefault()
  const input = $<HTMLInputElement>('chat-input')
  const text = input.value.trim()
  if (text === '' || app.room == null) return
  input.value = ''
  try {
    addChat(await app.room.send(text), true)
  } catch (err: any) {
    system(`Not sent: ${err.message}`)
    input.value = text
  }
}

// ---------- controls ----------

function renderControls (): void {
  const mic = $<HTMLButtonElement>('toggle-mic')
  const cam = $<HTMLButtonElement>('toggle-camera')
  const share = $<HTMLButtonElement>('share-screen')
  const hasAudio = (app.local?.getAudioTracks().length ?? 0) > 0
  const hasVideo = (app.local?.getVideoTracks().length ?? 0) > 0
  mic.disabled = !hasAudio
  cam.disabled = !hasVideo
  mic.setAttribute('aria-pressed', String(!app.mic))
  mic.textContent = app.mic ? 'Mute' : 'Unmute'
  cam.setAttribute('aria-pressed', String(!app.camera))
  cam.textContent = app.camera ? 'Camera off' : 'Camera on'
  share.setAttribute('aria-pressed', String(app.screen != null))
  share.textContent = app.screen != null ? 'Stop sharing' : 'Share screen'
  share.disabled = navigator.mediaDevices?.getDisplayMedia == null
}

function publishState (): void {
  app.call?.setMediaState({ mic: app.mic, camera: app.camera, screen: app.screen != null })
  renderControls()
}

function toggleMic (): void {
  app.mic = !app.mic
  app.local?.getAudioTracks().forEach(t => { t.enabled = app.mic })
  publishState()
}

function toggleCamera (): void {
  app.camera = !app.camera
  app.local?.getVideoTracks().forEach(t => { t.enabled = app.camera })
  const self = document.querySelector<HTMLElement>('.tile.self .avatar')
  if (self != null) self.hidden = app.camera
  publishState()
}

async function toggleScreen (): Promise<void> {
  if (app.screen != null) {
    stopScreen()
    return
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false })
    app.screen = stream
    ownScreen = video('screen')
    ownScreen.muted = true
    ownScreen.srcObject = stream
    void ownScreen.play().catch(() => {})
    stream.getVideoTracks()[0]?.addEventListener('ended', stopScreen)
    app.call?.setStream('screen', stream)
    publishState()
  } catch (err: any) {
    if (err?.name !== 'NotAllowedError') system(`Screen sharing failed: ${err.message}`)
  }
}

function stopScreen (): void {
  app.screen?.getTracks().forEach(t => { t.stop() })
  app.screen = undefined
  if (ownScreen != null) ownScreen.srcObject = null
  ownScreen = undefined
  app.call?.setStream('screen', null)
  publishState()
}

async function leave (): Promise<void> {
  if (app.recorder != null) await stopRecording()
  app.timers.forEach(t => { clearInterval(t) })
  app.timers = []
  app.call?.hangUp()
  await app.room?.leave().catch(() => {})
  app.shutdown?.abort()
  await Promise.resolve(app.node?.stop()).catch(() => {})
  app.screen?.getTracks().forEach(t => { t.stop() })
  app.local?.getTracks().forEach(t => { t.stop() })
  app.node = app.room = app.call = app.screen = app.local = undefined
  app.tiles.clear()
  $('grid').replaceChildren()
  $('call').hidden = true
  if (!$('recording-download').hidden) $('left-note').textContent = 'Your recording is kept in this browser until you download or discard it; nothing else of the call was stored.'
  $('left').hidden = false
}

// ---------- recording ----------

/** "You are recording", "Ana is recording", "You and Ana are recording": who records, for everyone to see. */
function renderRecording (): void {
  const el = $('recording-indicator')
  const names: string[] = []
  if (app.room?.recording != null) names.push('You')
  for (const m of app.room?.members() ?? []) if (isRecording(m)) names.push(m.name)
  el.hidden = names.length === 0
  const list = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  const verb = names.length === 1 && names[0] !== 'You' ? 'is' : 'are'
  el.querySelector('.text')!.textContent = `${list} ${verb} recording`
  el.title = 'Everyone in the room sees who records. Recordings are made in the recording person\'s browser.'
  const self = document.querySelector<HTMLElement>('.tile.self')
  if (self != null) self.dataset.recording = app.room?.recording != null ? 'on' : 'off'
  const selfRec = document.querySelector<HTMLElement>('.tile.self .rec')
  if (selfRec != null) selfRec.hidden = app.room?.recording == null
}

function clock (ms: number): string {
  const s = Math.floor(ms / 1000)
  const hh = Math.floor(s / 3600)
  const mm = String(Math.floor(s / 60) % 60)
  const ss = String(s % 60).padStart(2, '0')
  return hh > 0 ? `${hh}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

function renderRecordButton (): void {
  const btn = $<HTMLButtonElement>('record')
  const on = app.recording === 'on' || app.recording === 'stopping'
  btn.setAttribute('aria-pressed', String(on))
  btn.disabled = app.recording === 'starting' || app.recording === 'stopping'
  btn.querySelector('.text')!.textContent = app.recording === 'starting'
    ? 'Starting…'
    : app.recording === 'stopping'
      ? 'Saving…'
      : on ? `Stop ${clock(app.recorder?.elapsed ?? 0)}` : 'Record'
  btn.setAttribute('aria-label', on ? 'Stop recording' : 'Record')
}

/** What the recording shows: the tiles as they are on screen, this person first. */
function tileViews (): TileView[] {
  const own = $<HTMLVideoElement>('local-video')
  const views: TileView[] = [{
    name: localStorage.getItem('freeflow:name') ?? 'Me',
    camera: app.camera ? own : undefined,
    screen: ownScreen,
    muted: !app.mic,
    cameraOff: !app.camera,
    recording: app.room?.recording != null,
    speaking: document.querySelector('.tile.self')?.classList.contains('speaking')
  }]
  for (const [key, tile] of app.tiles) {
    const d = tile.el.dataset
    const member = memberInfo(key)
    views.push({
      name: tile.name,
      camera: d.video === 'on' ? tile.camera : undefined,
      screen: tile.screen,
      muted: d.mic === 'off' && member?.role !== 'recorder',
      cameraOff: d.camera === 'off' && member?.role !== 'recorder',
      note: member?.role === 'recorder' ? 'recorder' : d.state === 'no-call' ? 'terminal · chat only' : STATE_TEXT[d.state ?? ''] !== '' ? STATE_TEXT[d.state ?? ''] : undefined,
      speaking: tile.el.classList.contains('speaking'),
      recording: member != null && isRecording(member)
    })
  }
  return views
}

/** What the recording hears: every remote participant who is not muted, and this person's microphone unless muted. */
function audioTracks (): MediaStreamTrack[] {
  const tracks: MediaStreamTrack[] = app.mic ? app.local?.getAudioTracks() ?? [] : []
  for (const m of app.room?.members() ?? []) {
    if (app.tiles.get(m.peerId.toString())?.el.dataset.mic === 'off') continue
    for (const r of app.call?.peerConnection(m.peerId)?.getReceivers() ?? []) {
      if (r.track?.kind === 'audio' && r.track.readyState === 'live') tracks.push(r.track)
    }
  }
  return tracks
}

/** Our own shared screen, for the recording (the page does not show it to its sharer). */
let ownScreen: HTMLVideoElement | undefined

function recordingPanel (): { panel: HTMLElement, text: HTMLElement, link: HTMLAnchorElement, discard: HTMLButtonElement } {
  return { panel: $('recording-panel'), text: $('recording-status'), link: $<HTMLAnchorElement>('recording-download'), discard: $<HTMLButtonElement>('recording-discard') }
}

let panelUrl: string | undefined

function showPanel (message: string, error: boolean, result?: { meta: RecordingMeta, blob: Blob }): void {
  const { panel, text, link, discard } = recordingPanel()
  if (panelUrl != null) URL.revokeObjectURL(panelUrl)
  panelUrl = undefined
  text.textContent = message
  text.classList.toggle('error', error)
  link.hidden = discard.hidden = result == null || result.blob.size === 0
  if (result != null && result.blob.size > 0) {
    panelUrl = URL.createObjectURL(result.blob)
    link.href = panelUrl
    link.dataset.size = String(result.blob.size)
    // how long the page itself recorded (MediaRecorder start to stop), for automation that checks the file
    link.dataset.durationMs = String(Math.round(result.meta.durationMs ?? 0))
    link.download = fileName(result.meta)
    link.textContent = 'Download'
    link.title = link.download
    link.onclick = () => { void RecordingStore.open().then(async store => { await store.mark(result.meta, 'saved') }).catch(() => {}) }
    discard.onclick = () => {
      void RecordingStore.open().then(async store => { await store.discard(result.meta.id) }).catch(() => {})
      hidePanel()
    }
  }
  panel.hidden = false
}

function hidePanel (): void {
  $('recording-panel').hidden = true
  if (panelUrl != null) URL.revokeObjectURL(panelUrl)
  panelUrl = undefined
}

function describeRecording (meta: RecordingMeta, size: number): string {
  const mb = size / 1024 / 1024
  return `${clock(durationOf(meta))} · ${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`
}

async function toggleRecord (): Promise<void> {
  if (app.recording === 'on') await stopRecording()
  else if (app.recording === 'off') await startRecording()
}

async function startRecording (): Promise<void> {
  const room = app.room
  if (room == null) return
  // the cheap checks first, so nobody is told about a recording that cannot happen
  if (supportedMimeType() == null) { showPanel(recordingError(new RecordingUnsupportedError('')), true); return }
  if (navigator.storage?.getDirectory == null) { showPanel(recordingError(new StorageUnavailableError('')), true); return }
  app.recording = 'starting'
  renderRecordButton()
  hidePanel()
  const recorder = new SessionRecorder({
    room: room.shortName,
    tiles: tileViews,
    audio: audioTracks,
    onFailure: (err) => { void recordingEnded(recorder, err) }
  })
  try {
    // consent: everyone is told before the first frame is recorded
    await room.setRecording(true)
    renderRecording()
    await recorder.start()
    app.recorder = recorder
    app.recording = 'on'
    system('You started recording. Everyone in the room sees it.')
    renderPeople()
  } catch (err: any) {
    app.recording = 'off'
    await room.setRecording(false).catch(() => {})
    renderRecording()
    showPanel(recordingError(err), true)
  }
  renderRecordButton()
}

async function stopRecording (): Promise<void> {
  const recorder = app.recorder
  if (recorder == null || app.recording !== 'on') return
  await recordingEnded(recorder)
}

/** Stopped by the person, or by a failure: stop at once, tell the room, then finish the file on disk. */
async function recordingEnded (recorder: SessionRecorder, failure?: Error): Promise<void> {
  if (app.recorder !== recorder) return
  app.recording = 'stopping'
  renderRecordButton()
  // the recording ends now, not when the room has been told (a publish can take a while on a busy machine)
  const stopped = recorder.stop()
  await app.room?.setRecording(false).catch(() => {})
  renderRecording()
  renderPeople()
  try {
    const result = await stopped
    const line = describeRecording(result.meta, result.blob.size)
    showPanel(failure != null ? `${recordingError(failure)} (${line})` : `Recording saved in this browser · ${line}`, failure != null, result)
    system('You stopped recording.')
  } catch (err: any) {
    showPanel(recordingError(err), true)
  } finally {
    app.recorder = undefined
    app.recording = 'off'
    renderRecordButton()
  }
}

/**
 * On the pre-join screen: recordings this browser kept but that were never downloaded (the tab closed or
 * crashed while recording, or nobody clicked Download). Recordings downloaded on an earlier visit are removed.
 */
async function offerRecovery (): Promise<void> {
  let store: RecordingStore
  try { store = await RecordingStore.open() } catch { return }
  const list = $('recording-recover-list')
  const items: HTMLLIElement[] = []
  for (const meta of await store.list()) {
    if (meta.live) continue // another tab is recording it right now
    if (meta.status === 'saved') { await store.discard(meta.id).catch(() => {}); continue }
    const blob = await store.assemble(meta)
    if (blob.size === 0) { await store.discard(meta.id).catch(() => {}); continue }
    const li = document.createElement('li')
    li.dataset.testid = 'recording-recover-item'
    const text = document.createElement('span')
    text.className = 'text'
    const started = new Date(meta.startedAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
    text.textContent = `Room ${meta.room}, ${started} · ${describeRecording(meta, blob.size)}${meta.status === 'recording' ? ' · unfinished' : ''}`
    const a = document.createElement('a')
    a.dataset.testid = 'recording-recover-download'
    a.className = 'button primary'
    a.href = URL.createObjectURL(blob)
    a.dataset.size = String(blob.size)
    a.download = fileName(meta)
    a.textContent = 'Download'
    a.addEventListener('click', () => { void store.mark(meta, 'saved').catch(() => {}) })
    const discard = document.createElement('button')
    discard.type = 'button'
    discard.dataset.testid = 'recording-recover-discard'
    discard.className = 'ghost'
    discard.textContent = 'Discard'
    discard.addEventListener('click', () => {
      void store.discard(meta.id).catch(() => {}).then(() => {
        URL.revokeObjectURL(a.href)
        li.remove()
        $('recording-recover').hidden = list.children.length === 0
      })
    })
    li.append(text, a, discard)
    items.push(li)
  }
  list.replaceChildren(...items)
  $('recording-recover').hidden = items.length === 0
}

// ---------- start ----------

async function main (): Promise<void> {
  $<HTMLInputElement>('display-name').value = localStorage.getItem('freeflow:name') ?? ''
  $<HTMLInputElement>('room-key').value = fragment().room
  $('new-room').addEventListener('click', () => {
    void generateRoomKey().then(key => {
      $<HTMLInputElement>('room-key').value = key
      setFragmentRoom(key)
      status('A new room. Share the link in the address bar with the people you want to talk to.')
    })
  })
  $('join-form').addEventListener('submit', (e) => { void join(e) })
  $('chat-form').addEventListener('submit', (e) => { void sendChat(e) })
  $('toggle-mic').addEventListener('click', toggleMic)
  $('toggle-camera').addEventListener('click', toggleCamera)
  $('share-screen').addEventListener('click', () => { void toggleScreen() })
  $('leave').addEventListener('click', () => { void leave() })
  $('record').addEventListener('click', () => { void toggleRecord() })
  $('recording-close').addEventListener('click', hidePanel)
  $('rejoin').addEventListener('click', () => { location.reload() })
  $('copy-link').addEventListener('click', () => {
    void navigator.clipboard?.writeText(location.href).then(() => { system('Invite link copied. Anyone with it can join.') })
  })
  $('toggle-side').addEventListener('click', () => { $('side').classList.toggle('open') })
  for (const [tab, panel] of [['tab-chat', 'chat-panel'], ['tab-people', 'people-panel']] as const) {
    $(tab).addEventListener('click', () => {
      for (const [t, p] of [['tab-chat', 'chat-panel'], ['tab-people', 'people-panel']]) {
        $(t).setAttribute('aria-selected', String(t === tab))
        $(p).hidden = p !== panel
      }
    })
  }
  for (const id of ['camera-select', 'mic-select']) $(id).addEventListener('change', () => { void getMedia() })
  window.addEventListener('pagehide', () => { void app.room?.leave() })
  window.addEventListener('keydown', (e) => {
    if (app.room == null || (e.target as HTMLElement)?.tagName === 'INPUT') return
    if (e.key === 'm') toggleMic()
    if (e.key === 'v') toggleCamera()
  })
  await getMedia()
  await offerRecovery().catch(() => {})
}

void main()
