/**
 * The participant list: this person, then everyone else with what they have on and off, and who records. Members who
 * share a name show the end of their PeerIds (roster.ts `label`).
 */
import { byId, h } from './dom.ts'
import type { AppState } from '../state.ts'

export function peopleView (state: AppState): void {
  const list = byId('participants')
  const count = byId('people-count')
  const render = (): void => {
    if (state.phase !== 'call') { return }
    const recording = state.room?.recording != null
    const me = h('li', { text: `${state.name} (you)`, data: { testid: 'participant', name: state.name } })
    if (recording) { me.append(h('span', { class: 'meta rec-meta', text: 'recording' })) }
    const items = [me]
    for (const p of state.participants.values()) {
      let role = p.role === 'recorder' ? 'recorder' : ''
      if (role === '' && p.call === 'no-call') { role = 'terminal' }
      const off = role === 'recorder' ? [] : [p.mic === false ? 'muted' : '', p.camera === false ? 'camera off' : '']
      const meta = h('span', { class: 'meta', text: [p.recording ? 'recording' : '', ...off, role].filter(s => s !== '').join(' · ') })
      if (p.recording) { meta.classList.add('rec-meta') }
      items.push(h('li', { data: { testid: 'participant', peerId: p.id, name: p.name } }, h('span', { text: p.label }), meta))
    }
    list.replaceChildren(...items)
    count.textContent = String(items.length)
  }
  state.addEventListener('phase', render)
  state.addEventListener('participant', render)
  state.addEventListener('participant:leave', render)
  state.addEventListener('recording', render)
}
