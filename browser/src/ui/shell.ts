/**
 * The frame around everything: which screen shows (pre-join, call, left), the top bar (room name, relay status,
 * invite link) and the side panel's tabs.
 */
import { byId } from './dom.ts'
import type { AppState } from '../state.ts'

const TABS = [['tab-chat', 'chat-panel'], ['tab-people', 'people-panel'], ['tab-devices', 'devices-panel']] as const

export function shellView (state: AppState): void {
  state.addEventListener('phase', ({ detail: phase }) => {
    byId('prejoin').hidden = phase === 'call' || phase === 'left'
    byId('call').hidden = phase !== 'call'
    byId('left').hidden = phase !== 'left'
    if (phase === 'call' && state.room != null) {
      byId('room-name').textContent = state.room.shortName
      document.title = `FreeFlow Connect · ${state.room.shortName}`
      // the camera and microphone choice moves from the pre-join card into the call's side panel
      byId('devices-panel').prepend(byId('devices'))
    }
    if (phase === 'left' && state.recording.pending) {
      byId('left-note').textContent = 'Your recording is kept in this browser until you download or discard it; nothing else of the call was stored.'
    }
  })
  byId('rejoin').addEventListener('click', () => { location.reload() })
  byId('copy-link').addEventListener('click', () => {
    void navigator.clipboard?.writeText(location.href).then(() => { state.system('Invite link copied. Anyone with it can join.') })
  })
  byId('toggle-side').addEventListener('click', () => { byId('side').classList.toggle('open') })
  for (const [tab, panel] of TABS) {
    byId(tab).addEventListener('click', () => {
      for (const [t, p] of TABS) {
        byId(t).setAttribute('aria-selected', String(t === tab))
        byId(p).hidden = p !== panel
      }
    })
  }
  state.addEventListener('relays', () => { renderNet(state) })
}

function renderNet (state: AppState): void {
  const el = byId('net-status')
  const up = [...state.relays.values()].filter(Boolean).length
  if (up > 0) {
    el.textContent = `Connected to ${up} relay${up === 1 ? '' : 's'}`
    el.classList.remove('error')
  } else if (state.relays.size > 0) {
    el.textContent = 'No relay reachable; retrying. Participants you are already connected to stay connected.'
    el.classList.add('error')
  } else {
    el.textContent = ''
    el.classList.remove('error')
  }
}
