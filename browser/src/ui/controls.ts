/** The call's controls: Mute (m), Camera off (v), Share screen, Leave. They show what the others get. */
import { byId } from './dom.ts'
import type { AppState } from '../state.ts'

export function controlsView (state: AppState): void {
  const mic = byId<HTMLButtonElement>('toggle-mic')
  const cam = byId<HTMLButtonElement>('toggle-camera')
  const share = byId<HTMLButtonElement>('share-screen')
  mic.addEventListener('click', () => { state.toggleMic() })
  cam.addEventListener('click', () => { state.toggleCamera() })
  share.addEventListener('click', () => { void state.toggleScreen() })
  byId('leave').addEventListener('click', () => { void state.leave() })
  window.addEventListener('keydown', (e) => {
    if (state.phase !== 'call' || (e.target as HTMLElement)?.tagName === 'INPUT') { return }
    if (e.key === 'm') { state.toggleMic() }
    if (e.key === 'v') { state.toggleCamera() }
  })

  const render = (): void => {
    const { media, screen } = state
    const missing = media.access === 'asking' ? 'waiting for the browser to allow it' : 'not available'
    mic.disabled = !media.hasAudio
    mic.setAttribute('aria-pressed', String(!media.micOn))
    mic.textContent = media.micOn ? 'Mute' : 'Unmute'
    mic.title = media.hasAudio ? `${media.micOn ? 'Mute' : 'Unmute'} (m)` : `Microphone: ${missing}`
    cam.disabled = !media.hasVideo
    cam.setAttribute('aria-pressed', String(!media.cameraOn))
    cam.textContent = media.cameraOn ? 'Camera off' : 'Camera on'
    cam.title = media.hasVideo ? `${media.cameraOn ? 'Camera off' : 'Camera on'} (v)` : `Camera: ${missing}`
    share.setAttribute('aria-pressed', String(screen != null))
    share.textContent = screen != null ? 'Stop sharing' : 'Share screen'
    share.disabled = navigator.mediaDevices?.getDisplayMedia == null
  }
  state.addEventListener('media', render)
  render()
}
