/**
 * Chat: messages (history from before joining under "Earlier in this room"), the page's own lines, and the input. The
 * list keeps the newest MAX_CHAT_ENTRIES lines, as the state does.
 */
import { MAX_CHAT_ENTRIES } from '../state.ts'
import { byId, h } from './dom.ts'
import type { AppState, ChatEntry } from '../state.ts'

export function chatView (state: AppState): void {
  const list = byId('chat-list')
  const input = byId<HTMLInputElement>('chat-input')
  let historyShown = false

  const show = (entry: ChatEntry): void => {
    if (entry.kind === 'system') {
      list.append(h('li', { class: 'system', text: entry.text }))
      return
    }
    const { message, label } = entry
    if (message.history && !historyShown) {
      historyShown = true
      list.append(h('li', { class: 'divider', text: 'Earlier in this room' }))
    }
    const time = new Date(message.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    const li = h('li', { data: { testid: 'chat-message', name: message.name, from: message.from.toString() } },
      h('span', { class: 'who', text: `${label} · ${time}` }),
      h('span', { class: 'text', text: message.text }))
    if (message.history) { li.classList.add('history') }
    list.append(li)
  }

  const render = (entry: ChatEntry): void => {
    show(entry)
    while (list.childElementCount > MAX_CHAT_ENTRIES) { list.firstElementChild?.remove() }
    list.scrollTop = list.scrollHeight
  }
  state.addEventListener('chat', ({ detail }) => { render(detail) })

  byId('chat-form').addEventListener('submit', (evt) => {
    evt.preventDefault()
    const text = input.value.trim()
    if (text === '' || state.room == null) { return }
    input.value = ''
    state.send(text).catch((err: any) => {
      state.system(`Not sent: ${err.message}`)
      input.value = text
    })
  })
}
