/**
 * The tiles: this person's own (the camera preview moves into it at Join) and one per participant, rendered from
 * the state. The data-* attributes on a tile are written from the state for tests and automation; the page never
 * reads them back.
 */
import { byId, h, onOff, reload, setData, show, stuck, videoElement } from './dom.ts'
import type { TileView } from '../recording/recorder.ts'
import type { AppState, CallState, Participant } from '../state.ts'

/** How often the tiles' video elements are looked at for being stuck, in ms; one stuck at two looks in a row is reloaded. */
const STUCK_CHECK = 2_000

const STATE_TEXT: Partial<Record<CallState, string>> = {
  calling: 'Connecting…',
  reconnecting: 'Reconnecting…',
  unreachable: 'Cannot reach this person directly. Chat still works.',
  'waiting-relay': 'Waiting for a relay\'s TURN server (Hide my address is on).'
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
  name: HTMLElement
  /** Stuck at the last look (dom.ts `stuck`). */
  stuck?: boolean
  /** How often its camera element was reloaded for being stuck (`data-video-reloads`). */
  reloads: number
}

function makeTile (name: string, camera: HTMLVideoElement): Tile {
  const avatar = h('div', { class: 'avatar' })
  const nameEl = h('span', { class: 'name' })
  const flags = h('span', { class: 'flag', hidden: true })
  const badge = h('span', { class: 'badge', data: { testid: 'path-badge' } })
  const state = h('div', { class: 'state', hidden: true })
  const rec = h('span', { class: 'rec', text: 'REC', title: 'Recording this call', hidden: true })
  const el = h('div', { class: 'tile' }, camera, avatar, h('div', { class: 'label' }, nameEl, flags, badge), state, rec)
  const tile = { el, camera, avatar, flags, badge, state, rec, name: nameEl, reloads: 0 }
  setName(tile, name)
  return tile
}

function setName (tile: Tile, name: string, suffix = ''): void {
  tile.name.textContent = `${name}${suffix}`
  tile.avatar.textContent = (name.trim()[0] ?? '?').toUpperCase()
}

/** The line under a participant's name, as the tile shows it. */
function note (p: Participant): string | undefined {
  if (p.role === 'recorder') { return 'recorder' }
  if (p.call === 'no-call') { return 'terminal · chat only' }
  const text = STATE_TEXT[p.call]
  return text != null && text !== '' ? text : undefined
}

/**
 * The badge: what the participant is (recorder, terminal), "reconnecting" while the call recovers, else the media
 * path as last read ("direct · UDP · IPv4 · 12 ms"), refreshed every few seconds by the roster.
 */
function badgeText (p: Participant): string {
  if (p.role === 'recorder' || p.call === 'no-call') { return note(p) ?? '' }
  if (p.call === 'reconnecting') { return 'reconnecting' }
  return p.call === 'connected' ? p.path?.text ?? '' : ''
}

/** What a tile says about its participant in data-* attributes, for tests and automation. */
function tileData (p: Participant): Record<string, string | undefined> {
  return {
    testid: 'tile',
    peerId: p.id,
    name: p.name,
    state: p.call,
    mic: onOff(p.mic),
    camera: onOff(p.camera),
    video: p.video ? 'on' : undefined,
    screen: p.screen != null ? 'on' : undefined,
    // the media path: direct|relay, udp|tcp|tls (to the TURN server when through one), 4|6, round trip in ms
    path: p.path?.kind,
    pathProtocol: p.path?.relayProtocol ?? p.path?.protocol,
    pathFamily: p.path?.family != null ? String(p.path.family) : undefined,
    family: p.path?.family != null ? String(p.path.family) : undefined,
    rtt: p.path?.rttMs != null ? String(p.path.rttMs) : undefined,
    role: p.role,
    recording: p.recording ? 'on' : 'off'
  }
}

/** Flags (muted, camera off), the badge (media path, or what the participant is), the call's state, REC. */
function renderLabel (tile: Tile, p: Participant): void {
  // a recorder never sends media: muted and camera off say nothing about it
  const flags = p.role === 'recorder' ? [] : [p.mic === false ? 'muted' : '', p.camera === false ? 'camera off' : ''].filter(f => f !== '')
  tile.flags.textContent = flags.join(' · ')
  tile.flags.hidden = flags.length === 0
  tile.badge.textContent = badgeText(p)
  tile.badge.title = p.role !== 'recorder' && p.call !== 'no-call' ? p.path?.detail ?? '' : ''
  tile.badge.classList.toggle('relay', p.path?.kind === 'relay')
  const text = STATE_TEXT[p.call] ?? ''
  tile.state.textContent = text
  tile.state.hidden = text === ''
  tile.rec.hidden = !p.recording
}

export class GridView {
  private readonly grid = byId('grid')
  private readonly local = byId<HTMLVideoElement>('local-video')
  private readonly tiles = new Map<string, Tile>()
  private self: Tile | undefined
  /** Our own shared screen, for the recording (the page does not show it to its sharer). */
  private ownScreen: HTMLVideoElement | undefined
  private stuckTimer?: ReturnType<typeof setInterval>

  constructor (private readonly state: AppState) {
    state.addEventListener('phase', ({ detail }) => {
      if (detail === 'call') { this.enter() }
      if (detail === 'left') { this.clear() }
    })
    state.addEventListener('media', () => { this.renderSelf() })
    state.addEventListener('recording', () => { this.renderSelf() })
    state.addEventListener('participant', ({ detail }) => { this.render(detail) })
    state.addEventListener('participant:leave', ({ detail }) => {
      this.tiles.get(detail.id)?.el.remove()
      this.tiles.delete(detail.id)
    })
    this.renderSelf()
  }

  /** What the recording shows: the tiles as they are on screen, this person first. */
  tileViews (): TileView[] {
    const { media, room } = this.state
    const views: TileView[] = [{
      name: this.state.name !== '' ? this.state.name : 'Me',
      camera: media.cameraOn ? this.local : undefined,
      screen: this.ownScreen,
      muted: !media.micOn,
      cameraOff: !media.cameraOn,
      recording: room?.recording != null,
      speaking: false
    }]
    for (const p of this.state.participants.values()) {
      const tile = this.tiles.get(p.id)
      if (tile == null) { continue }
      views.push({
        name: p.label,
        camera: p.video ? tile.camera : undefined,
        screen: tile.screen,
        muted: p.mic === false && p.role !== 'recorder',
        cameraOff: p.camera === false && p.role !== 'recorder',
        note: note(p),
        speaking: p.speaking,
        recording: p.recording
      })
    }
    return views
  }

  private enter (): void {
    const self = this.self = makeTile(this.state.name, this.local)
    setName(self, this.state.name, ' (you)')
    self.el.classList.add('self')
    this.local.classList.add('camera')
    this.grid.append(self.el)
    for (const p of this.state.participants.values()) { this.render(p) }
    this.renderSelf()
    clearInterval(this.stuckTimer)
    this.stuckTimer = setInterval(() => { this.unstick() }, STUCK_CHECK)
  }

  /** A camera element that has had a live track to show for two looks in a row and still no frame gets reloaded. */
  private unstick (): void {
    for (const tile of this.tiles.values()) {
      const now = stuck(tile.camera)
      if (now && tile.stuck === true) {
        reload(tile.camera)
        tile.reloads++
        setData(tile.el, { videoReloads: String(tile.reloads) })
        tile.stuck = false
      } else {
        tile.stuck = now
      }
    }
  }

  private clear (): void {
    clearInterval(this.stuckTimer)
    this.stuckTimer = undefined
    this.tiles.clear()
    this.self = undefined
    this.grid.replaceChildren()
    show(this.local, undefined)
  }

  /** The camera preview (before Join) or own tile (after), and the own screen for the recording. */
  private renderSelf (): void {
    const { media, screen, room } = this.state
    show(this.local, media.stream)
    if (screen != null && this.ownScreen?.srcObject !== screen) {
      this.ownScreen = videoElement('screen')
      this.ownScreen.muted = true
      show(this.ownScreen, screen)
    } else if (screen == null && this.ownScreen != null) {
      this.ownScreen.srcObject = null
      this.ownScreen = undefined
    }
    const self = this.self
    if (self == null) { return }
    self.avatar.hidden = media.cameraOn
    setData(self.el, { recording: room?.recording != null ? 'on' : 'off' })
    self.rec.hidden = room?.recording == null
  }

  private render (p: Participant): void {
    if (this.self == null) { return }
    let tile = this.tiles.get(p.id)
    if (tile == null) {
      tile = makeTile(p.label, videoElement('camera'))
      this.tiles.set(p.id, tile)
      this.grid.append(tile.el)
    }
    setName(tile, p.label)
    setData(tile.el, tileData(p))
    show(tile.camera, p.media)
    this.renderScreen(tile, p.screen)
    tile.el.classList.toggle('speaking', p.speaking)
    tile.avatar.hidden = (p.video && p.camera !== false) || p.screen != null
    renderLabel(tile, p)
  }

  private renderScreen (tile: Tile, screen: MediaStream | undefined): void {
    if (screen == null) {
      tile.screen?.remove()
      tile.screen = undefined
    } else if (tile.screen == null || tile.screen.srcObject !== screen) {
      tile.screen?.remove()
      tile.screen = videoElement('screen')
      show(tile.screen, screen)
      tile.el.prepend(tile.screen)
    }
    tile.el.classList.toggle('sharing', tile.screen != null)
  }
}
