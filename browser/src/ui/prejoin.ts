/** The pre-join screen: preview note, name, room key, New room, Hide my address, Join, and the sentence under them. */
import { readLink } from '../link.ts'
import { byId, h } from './dom.ts'
import type { AppState } from '../state.ts'

/** The trade-off of hiding one's address, in one sentence. */
export const HIDE_ADDRESS_NOTE = 'Others won\'t see your IP address; your calls go through a relay, which sees your address and how much you send, never what.'

/** The "Hide my address" checkbox and its sentence, put in the form before Join. */
function hideAddressOption (state: AppState, join: HTMLElement): void {
  const box = document.createElement('input')
  box.type = 'checkbox'
  box.id = 'hide-address'
  box.dataset.testid = 'hide-address'
  box.checked = state.hideAddress
  box.setAttribute('aria-describedby', 'hide-address-note')
  box.addEventListener('change', () => { state.setHideAddress(box.checked) })
  const label = h('label', { class: 'hide-address' }, box, document.createTextNode(' Hide my address'))
  // the form's labels stack their input under the text; this one sits beside it
  label.style.display = 'flex'
  label.style.alignItems = 'center'
  label.style.gap = '.5em'
  const note = h('p', { class: 'fineprint', text: HIDE_ADDRESS_NOTE })
  note.id = 'hide-address-note'
  join.before(label, note)
  state.addEventListener('phase', ({ detail }) => { box.disabled = detail !== 'prejoin' })
}

export function prejoinView (state: AppState): void {
  const nameInput = byId<HTMLInputElement>('display-name')
  const keyInput = byId<HTMLInputElement>('room-key')
  const join = byId<HTMLButtonElement>('join')
  const status = byId('prejoin-status')
  const note = byId('preview-note')

  nameInput.value = state.name
  keyInput.value = readLink().room
  hideAddressOption(state, join)

  byId('new-room').addEventListener('click', () => {
    void state.newRoom().then(key => { keyInput.value = key })
  })
  byId('join-form').addEventListener('submit', (evt) => {
    evt.preventDefault()
    void state.join({ name: nameInput.value, key: keyInput.value })
  })

  state.addEventListener('status', ({ detail }) => {
    status.textContent = detail.text
    status.classList.toggle('error', detail.error)
    if (detail.field === 'key') { keyInput.focus() }
    if (detail.field === 'name') { nameInput.focus() }
  })
  state.addEventListener('phase', ({ detail }) => {
    join.disabled = detail === 'joining'
  })
  const renderNote = (): void => {
    const { media } = state
    note.textContent = media.note ?? ''
    note.hidden = media.note == null || media.hasVideo
  }
  state.addEventListener('media', renderNote)
  renderNote()
}
