/** The camera video each participant sends each other one, by the size of the call, and how a sender is told. */
import type { StreamKind } from './index.ts'

/** What one participant's camera video to each other participant may use. */
export interface VideoBudget {
  /** Send at the camera's size divided by this. */
  scaleDownBy: number
  /** Bitrate ceiling, kbit/s. */
  maxKbps: number
}

/**
 * The budget by the number of people in the call (self included). A full mesh encodes and uploads one stream per
 * other participant, so both the encoders' CPU and the upload grow with the call, while each tile on screen gets
 * smaller: two people see each other large (720p); three share the screen in thirds (480p); from four, tiles are a
 * quarter of the window or less (360p, then 240p). bench:call on a 2-core machine: a 4-person mesh at 480p kept the
 * machine 100% busy at 21.8 fps; at 360p, 29.8 fps.
 */
export const MESH_VIDEO_BUDGET: ReadonlyArray<{ upTo: number } & VideoBudget> = [
  { upTo: 2, scaleDownBy: 1, maxKbps: 2_500 },
  { upTo: 3, scaleDownBy: 1.5, maxKbps: 1_200 },
  { upTo: 5, scaleDownBy: 2, maxKbps: 700 },
  { upTo: Infinity, scaleDownBy: 3, maxKbps: 400 }
]

export function videoBudgetFor (participants: number): VideoBudget {
  const { scaleDownBy, maxKbps } = MESH_VIDEO_BUDGET.find(b => participants <= b.upTo) ?? MESH_VIDEO_BUDGET[MESH_VIDEO_BUDGET.length - 1]
  return { scaleDownBy, maxKbps }
}

export function sameBudget (a: VideoBudget, b: VideoBudget): boolean {
  return a.scaleDownBy === b.scaleDownBy && a.maxKbps === b.maxKbps
}

/**
 * A video sender's parameters for its kind: a camera gets the budget, and keeps its resolution while `hold` (a new
 * encoder that starts under 'balanced' often starts small), then 'balanced' (smooth motion matters more than detail
 * for faces); a screen always keeps its resolution (text must stay readable, frame rate gives way first).
 */
export function videoParameters (params: RTCRtpSendParameters, kind: StreamKind, budget: VideoBudget, hold: boolean): RTCRtpSendParameters {
  if (params.encodings == null || params.encodings.length === 0) { params.encodings = [{}] }
  if (kind === 'camera') {
    params.encodings[0].scaleResolutionDownBy = budget.scaleDownBy
    params.encodings[0].maxBitrate = budget.maxKbps * 1_000
    params.degradationPreference = hold ? 'maintain-resolution' : 'balanced'
  } else {
    params.degradationPreference = 'maintain-resolution'
  }
  return params
}
