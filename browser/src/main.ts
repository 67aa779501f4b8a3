/**
 * The web app: one state object (state.ts) that owns what the page knows and talks to the room and call objects
 * from protocols/, and views (ui/) that render from it and call its methods.
 */
import { installDebugHook } from './debug.ts'
import { DoctorControl } from './doctor.ts'
import { AppState } from './state.ts'
import { chatView } from './ui/chat.ts'
import { controlsView } from './ui/controls.ts'
import { devicesView } from './ui/devices.ts'
import { doctorView } from './ui/doctor.ts'
import { GridView } from './ui/grid.ts'
import { peopleView } from './ui/people.ts'
import { prejoinView } from './ui/prejoin.ts'
import { keptRecordingsView, recordingView } from './ui/recording.ts'
import { shellView } from './ui/shell.ts'

const state = new AppState()
shellView(state)
prejoinView(state)
doctorView(state, new DoctorControl(state))
devicesView(state)
const grid = new GridView(state)
controlsView(state)
chatView(state)
peopleView(state)
recordingView(state, grid)
installDebugHook(state)
window.addEventListener('pagehide', () => { state.pageHidden() })

// the form works from the start: Join does not wait for the camera, whose stream joins the call when it comes
void state.start()
void keptRecordingsView(state).catch(() => {})
