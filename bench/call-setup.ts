/** What the parts of `npm run bench:call` share: its targets, deadlines and statistics. */
import type { Stats as Summary } from './report.ts'

export const GOALS = {
  /** FreeFlow's p50 join -> first frame, at most this many times the baseline's p50 connect -> first frame. */
  firstFrameVsBaseline: 1.5,
  /** FreeFlow's p50 join -> first frame, at most this many times PeerJS's (with its server on loopback) in the same run. */
  firstFrameVsPeerjs: 1.5,
  /** Joins without a frame within JOIN_DEADLINE, at most. */
  failedJoins: 0,
  /** Join -> received video at QUALITY, ms. */
  qualityMs: 5_000,
  /** In a mesh of this many, every received stream at FPS_GOAL or more and no freezes. */
  meshN: 4,
  meshFps: 25
}
/** Received video at least this good: inbound-rtp frameWidth/frameHeight/framesPerSecond. */
export const QUALITY = { minWidth: 640, minHeight: 480, minFps: 25 }
/** What the web app asks the camera for (browser/src/main.ts); the baseline asks for the same. */
export const CAMERA: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }
/** A join without a first frame this long after the click has failed, ms. */
export const JOIN_DEADLINE = 30_000
/** After the first frame, wait at most this long for QUALITY, ms. */
export const QUALITY_WAIT = 10_000
/** A mesh in which not everyone sees everyone's video this long after the clicks is measured as it is, ms. */
export const MESH_DEADLINE = 60_000
/** Joining one by one: a participant not decoded by everyone (and decoding everyone) this long after its click has failed, ms. */
export const MESH_STEP_DEADLINE = 20_000
/** From everyone seeing everyone to the start of the mesh measurement, ms. */
export const MESH_SETTLE = 2_000
/** Share of the machine other processes may use during a phase before its numbers are flagged as disturbed, %. */
export const DISTURBED_PCT = 10

export const COMMAND = 'unshare -n sh -c \'ip link set lo up && npm run bench:call\''

/** The quantiles bench:call reports: `stats(values, QUANTILES)` (bench/report.ts). */
export const QUANTILES = ['p50', 'p95', 'min', 'max'] as const

export type Stats = Summary<typeof QUANTILES[number]>

/** A sample list thinned to at most one entry per `everyMs`. */
export function thin<T extends { t: number }> (list: T[], everyMs: number): T[] {
  const out: T[] = []
  for (const s of list) { if (out.length === 0 || s.t - out[out.length - 1].t >= everyMs) { out.push(s) } }
  return out
}
