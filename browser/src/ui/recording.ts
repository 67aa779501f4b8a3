/**
 * Recording as people see it: the record button (Record, Starting…, Stop 0:12, Saving…), who records (top bar,
 * tiles, people), the card with the finished file, and on the pre-join screen the recordings this browser kept.
 */
import { fileName } from '../recording/recorder.ts'
import { clock } from '../recording-state.ts'
import { byId, h } from './dom.ts'
import type { KeptRecording, RecordingResult } from '../recording-state.ts'
import type { AppState } from '../state.ts'
import type { GridView } from './grid.ts'

export function recordingView (state: AppState, grid: GridView): void {
  const button = byId<HTMLButtonElement>('record')
  button.addEventListener('click', () => { void state.toggleRecording({ tiles: () => grid.tileViews() }) })
  byId('recording-close').addEventListener('click', () => { state.recording.dismiss() })
  const renderCard = cardView(state)
  const render = (): void => {
    renderButton(state, button)
    renderIndicator(state)
    renderCard()
  }
  state.addEventListener('recording', render)
  render()
}

function renderButton (state: AppState, button: HTMLButtonElement): void {
  const { phase, elapsed } = state.recording
  const on = phase === 'on' || phase === 'stopping'
  button.setAttribute('aria-pressed', String(on))
  button.disabled = phase === 'starting' || phase === 'stopping'
  const label: Record<typeof phase, string> = { starting: 'Starting…', stopping: 'Saving…', on: `Stop ${clock(elapsed)}`, off: 'Record' }
  button.querySelector('.text')!.textContent = label[phase]
  button.setAttribute('aria-label', on ? 'Stop recording' : 'Record')
}

/** "You are recording", "Ana is recording", "You and Ana are recording": who records, for everyone to see. */
function renderIndicator (state: AppState): void {
  const el = byId('recording-indicator')
  const names = state.recordingNames()
  el.hidden = names.length === 0
  const list = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`
  const verb = names.length === 1 && names[0] !== 'You' ? 'is' : 'are'
  el.querySelector('.text')!.textContent = `${list} ${verb} recording`
  el.title = 'Everyone in the room sees who records. Recordings are made in the recording person\'s browser.'
}

/** The card after a recording: its sentence, and the file to download or discard. */
function cardView (state: AppState): () => void {
  const panel = byId('recording-panel')
  const text = byId('recording-status')
  const link = byId<HTMLAnchorElement>('recording-download')
  const discard = byId<HTMLButtonElement>('recording-discard')
  /** The object URL the download link points at, revoked when the card shows something else. */
  let shown: { result: RecordingResult, url: string } | undefined
  return () => {
    const notice = state.recording.notice
    const result = notice?.result
    if (shown != null && shown.result !== result) {
      URL.revokeObjectURL(shown.url)
      shown = undefined
    }
    panel.hidden = notice == null
    if (notice == null) { return }
    text.textContent = notice.text
    text.classList.toggle('error', notice.error)
    link.hidden = discard.hidden = result == null
    if (result == null || shown != null) { return }
    shown = { result, url: URL.createObjectURL(result.blob) }
    link.href = shown.url
    link.dataset.size = String(result.blob.size)
    // how long the page itself recorded (MediaRecorder start to stop), for automation that checks the file
    link.dataset.durationMs = String(Math.round(result.meta.durationMs ?? 0))
    link.download = fileName(result.meta)
    link.textContent = 'Download'
    link.title = link.download
    link.onclick = () => { void state.recording.markSaved(result).catch(() => {}) }
    discard.onclick = () => { void state.recording.discard(result).catch(() => {}) }
  }
}

/** Pre-join: recordings this browser kept but that were never downloaded, each with Download and Discard. */
export async function keptRecordingsView (state: AppState): Promise<void> {
  const section = byId('recording-recover')
  const list = byId('recording-recover-list')
  const kept: KeptRecording[] = await state.recording.kept()
  list.replaceChildren(...kept.map(k => {
    const a = h('a', { class: 'button primary', text: 'Download', data: { testid: 'recording-recover-download', size: String(k.blob.size) } })
    a.href = URL.createObjectURL(k.blob)
    a.download = fileName(k.meta)
    a.addEventListener('click', () => { void state.recording.markSaved(k).catch(() => {}) })
    const discard = h('button', { class: 'ghost', text: 'Discard', data: { testid: 'recording-recover-discard' } })
    discard.type = 'button'
    const li = h('li', { data: { testid: 'recording-recover-item' } }, h('span', { class: 'text', text: k.text }), a, discard)
    discard.addEventListener('click', () => {
      void state.recording.discard(k).catch(() => {}).then(() => {
        URL.revokeObjectURL(a.href)
        li.remove()
        section.hidden = list.children.length === 0
      })
    })
    return li
  }))
  section.hidden = kept.length === 0
}
