/**
 * "Check my connection" on the pre-join screen: a button and three lines (relay reachable, UDP to its STUN server, a
 * TURN allocation), each with what was found and, on failure, one sentence saying what to do. Rendered from the
 * DoctorControl; data-* attributes for tests (data-check, data-status), written only.
 */
import { CHECKS } from '../doctor.ts'
import { byId, h, setData } from './dom.ts'
import type { CheckName } from '../../../protocols/doctor/index.ts'
import type { DoctorControl } from '../doctor.ts'
import type { AppState } from '../state.ts'

const TITLES: Record<CheckName, string> = {
  relay: 'Relay reachable',
  stun: 'UDP to the relay (STUN)',
  turn: 'TURN relay for calls'
}

const BUTTON: Record<DoctorControl['phase'], string> = { idle: 'Check my connection', running: 'Checking…', done: 'Check again' }

const MARKS: Record<string, string> = { pass: '✓', warn: '!', fail: '✗', skip: '–', running: '…' }

interface Line { el: HTMLElement, mark: HTMLElement, detail: HTMLElement, advice: HTMLElement }

export function doctorView (state: AppState, doctor: DoctorControl): void {
  const button = h('button', { class: 'secondary', text: 'Check my connection', data: { testid: 'doctor-run' } })
  button.type = 'button'
  const lines = new Map<CheckName, Line>()
  const list = h('ul', { class: 'doctor-results', data: { testid: 'doctor-results' }, hidden: true })
  for (const name of CHECKS) {
    const mark = h('span', { class: 'mark' })
    const detail = h('span', { class: 'detail', data: { testid: 'doctor-detail' } })
    const advice = h('span', { class: 'advice', data: { testid: 'doctor-advice' }, hidden: true })
    const el = h('li', { data: { testid: 'doctor-check', check: name } }, mark, h('strong', { text: TITLES[name] }), detail, advice)
    lines.set(name, { el, mark, detail, advice })
    list.append(el)
  }
  const section = h('section', { class: 'doctor', data: { testid: 'doctor' } }, button, list)
  byId('join-form').after(section)

  button.addEventListener('click', () => { void doctor.run() })
  state.addEventListener('phase', ({ detail }) => {
    if (detail === 'call' || detail === 'left') { doctor.stop() }
  })
  doctor.addEventListener('change', () => {
    button.disabled = doctor.phase === 'running'
    button.textContent = BUTTON[doctor.phase]
    list.hidden = doctor.phase === 'idle'
    setData(list, { state: doctor.phase })
    for (const [name, line] of lines) {
      const r = doctor.results.get(name)
      const status = r?.status ?? (doctor.phase === 'running' ? 'running' : 'skip')
      setData(line.el, { status })
      line.el.className = `check ${status}`
      line.mark.textContent = MARKS[status] ?? ''
      line.detail.textContent = r?.detail ?? (doctor.phase === 'running' ? 'Checking…' : '')
      line.advice.textContent = r?.advice ?? ''
      line.advice.hidden = r?.advice == null
    }
  })
}
