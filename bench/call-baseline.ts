/**
 * bench:call, part 1: the baseline. Two plain RTCPeerConnections in one page (iceServers [], no libp2p), start of
 * connect -> first remote frame; then runs that wait for the quality target, with and without what FreeFlow changes.
 */
import { withStartBitrate } from '../protocols/call/sdp.ts'
import { baselineRun } from './call-page.ts'
import { CAMERA, JOIN_DEADLINE, QUALITY, QUALITY_WAIT, QUANTILES, thin } from './call-setup.ts'
import { log } from './harness.ts'
import { ms, stats } from './report.ts'
import type { BaselineRun } from './call-page.ts'
import type { Stats } from './call-setup.ts'
import type { RelayProc } from '../harness/procs.ts'
import type { Browser } from 'playwright-core'

export interface BaselineVariant {
  name: string
  runs: number
  startBitrate?: number
  degradationPreference?: RTCDegradationPreference
  /** first frame shown -> quality, ms */
  quality: Stats
  /** runs that did not reach it within QUALITY_WAIT of the first frame */
  qualityMissed: number
  /** frame height of the first decoded frames, per run */
  startHeights: number[]
  detail: BaselineRun[]
}

export interface BaselineResult {
  runs: number
  failures: number
  firstFrame: Stats
  firstDecoded: Stats
  iceConnected: Stats
  /** the quality runs, with and without what FreeFlow changes (start bitrate, degradation preference) */
  variants: BaselineVariant[]
  detail: BaselineRun[]
}

/** Baseline runs that wait for the quality target: plain, with FreeFlow's start bitrate, and with maintain-resolution too. */
const BASELINE_VARIANTS: Array<Pick<BaselineVariant, 'name' | 'runs' | 'startBitrate' | 'degradationPreference'>> = [
  { name: 'plain (browser defaults: 300 kbit/s start)', runs: 3 },
  { name: 'x-google-start-bitrate=1500, as FreeFlow sets', runs: 5, startBitrate: 1_500 },
  { name: 'start 1500 + degradationPreference maintain-resolution', runs: 5, startBitrate: 1_500, degradationPreference: 'maintain-resolution' }
]

export async function baseline (browser: Browser, relay: RelayProc, runs: number, withVariants: boolean): Promise<BaselineResult> {
  const context = await browser.newContext()
  await context.grantPermissions(['camera', 'microphone'], { origin: new URL(relay.http!).origin })
  const page = await context.newPage()
  try {
    // a secure context with nothing of the app in it: the relay's health page, emptied
    await page.goto(`${relay.http!}/healthz`)
    await page.setContent('<!doctype html><title>baseline</title><body></body>')
    // the very function FreeFlow uses to set the start bitrate
    await page.evaluate(`globalThis.__withStartBitrate = ${withStartBitrate.toString()}`)
    const detail: BaselineRun[] = []
    for (let i = 0; i < runs; i++) {
      const r = await page.evaluate(baselineRun, { video: CAMERA, timeoutMs: JOIN_DEADLINE, qualityMs: 0, statsEvery: 20, ...QUALITY })
      r.inbound = thin(r.inbound, 250)
      detail.push(r)
      if (i === 0 || (i + 1) % 10 === 0) { log(`baseline ${i + 1}/${runs}: first frame ${ms(r.firstFrame)} ms`) }
    }
    const variants: BaselineVariant[] = []
    for (const v of withVariants ? BASELINE_VARIANTS : []) {
      const runs: BaselineRun[] = []
      for (let i = 0; i < v.runs; i++) {
        const r = await page.evaluate(baselineRun, { video: CAMERA, timeoutMs: JOIN_DEADLINE, qualityMs: QUALITY_WAIT, statsEvery: 50, startBitrate: v.startBitrate, degradationPreference: v.degradationPreference, ...QUALITY })
        r.inbound = thin(r.inbound, 250)
        runs.push(r)
      }
      const ok = runs.filter(d => d.firstFrame != null)
      variants.push({
        ...v,
        quality: stats(ok.map(d => d.quality != null ? d.quality - d.firstFrame! : undefined), QUANTILES),
        qualityMissed: ok.filter(d => d.quality == null).length,
        startHeights: runs.map(d => d.inbound.find(s => (s.height ?? 0) > 0)?.height ?? 0),
        detail: runs
      })
      log(`baseline quality, ${v.name}: reached in ${ok.length - variants[variants.length - 1].qualityMissed}/${runs.length}`)
    }
    const ok = detail.filter(d => d.firstFrame != null)
    return {
      runs,
      failures: runs - ok.length,
      firstFrame: stats(detail.map(d => d.firstFrame), QUANTILES),
      firstDecoded: stats(detail.map(d => d.firstDecoded), QUANTILES),
      iceConnected: stats(detail.map(d => d.iceConnected), QUANTILES),
      variants,
      detail
    }
  } finally {
    await context.close().catch(() => {})
  }
}
