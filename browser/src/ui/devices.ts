/**
 * Camera and microphone choice: on the pre-join card, then in the call's side panel. Choosing a device replaces
 * the stream in every call at once.
 */
import { byId, h } from './dom.ts'
import type { Device, DeviceKind } from '../media.ts'
import type { AppState } from '../state.ts'

export function devicesView (state: AppState): void {
  const selects: Array<[DeviceKind, HTMLSelectElement]> = [['camera', byId<HTMLSelectElement>('camera-select')], ['microphone', byId<HTMLSelectElement>('mic-select')]]
  const error = byId('devices-error')
  for (const [kind, select] of selects) {
    select.addEventListener('change', () => { void state.selectDevice(kind, select.value) })
  }
  /** The lists as last rendered: rebuilt only when they change, so an open select stays open. */
  const rendered = new Map<DeviceKind, string>()
  const render = (): void => {
    const { media } = state
    for (const [kind, select] of selects) {
      const devices: Device[] = kind === 'camera' ? media.cameras : media.microphones
      const current = media.deviceId(kind) ?? ''
      const list = JSON.stringify(devices)
      if (rendered.get(kind) !== list) {
        rendered.set(kind, list)
        select.replaceChildren(...devices.map(d => {
          const o = h('option', { text: d.label })
          o.value = d.id
          return o
        }))
      }
      select.value = devices.some(d => d.id === current) ? current : devices[0]?.id ?? ''
      select.disabled = devices.length === 0
    }
    error.textContent = media.switchError ?? ''
    error.hidden = media.switchError == null
  }
  state.addEventListener('media', render)
  render()
}
