/**
 * The active speaker: whoever had the highest mean audio level since the last tick, from the receivers'
 * totalAudioEnergy / totalSamplesDuration (every sample counts, not just the last packet's level), held for
 * SPEAKING_HOLD so that the highlight follows a conversation without flickering.
 */
import { receiving } from '../../protocols/call/index.ts'
import type { Call } from '../../protocols/call/index.ts'
import type { PeerId } from '@libp2p/interface'

/** Below this mean audio level (0..1, RMS) over a tick, a participant is silent. */
const SPEAKING_LEVEL = 0.02
/** The highlight stays this long after a speaker was last heard, ms: short pauses between words do not flicker. */
const SPEAKING_HOLD = 1_500
/** Audio seconds between two ticks beyond which their difference is too old to call anyone speaking now. */
const STALE_WINDOW = 1

export class SpeakerMeter {
  /** Per participant: audio energy counters at the last tick, and when they were last heard above SPEAKING_LEVEL. */
  private readonly speech = new Map<string, { energy: number, seconds: number, level: number, heardAt: number }>()
  /** One tick at a time: on a busy page a tick can outlast the interval. */
  private busy = false

  /** Measure once; resolves with the speaker's PeerId string, or undefined when nobody speaks (or a tick is still running: null). */
  async tick (call: Pick<Call, 'peerConnection'>, members: PeerId[]): Promise<string | undefined | null> {
    if (this.busy) { return null }
    this.busy = true
    try {
      return await this.measure(call, members)
    } finally {
      this.busy = false
    }
  }

  private async measure (call: Pick<Call, 'peerConnection'>, members: PeerId[]): Promise<string | undefined> {
    const now = Date.now()
    const present = new Set<string>()
    for (const peerId of members) {
      const key = peerId.toString()
      present.add(key)
      const pc = call.peerConnection(peerId)
      const receiver = pc != null ? receiving(pc, 'audio')[0] : undefined
      if (receiver == null) { this.speech.delete(key); continue }
      let energy = 0
      let seconds = 0
      try {
        (await receiver.getStats()).forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') { energy = s.totalAudioEnergy ?? 0; seconds = s.totalSamplesDuration ?? 0 }
        })
      } catch { continue }
      const last = this.speech.get(key)
      const dt = seconds - (last?.seconds ?? seconds)
      // a window much longer than a tick (the page stalled) holds sound from long ago: it is not speech now
      const level = dt > 0 && dt <= STALE_WINDOW ? Math.sqrt(Math.max(0, energy - (last?.energy ?? energy)) / dt) : 0
      this.speech.set(key, { energy, seconds, level, heardAt: level > SPEAKING_LEVEL ? now : last?.heardAt ?? 0 })
    }
    for (const key of this.speech.keys()) { if (!present.has(key)) { this.speech.delete(key) } }
    // the loudest of those heard now; else whoever was heard last, while the hold lasts
    let loudest: string | undefined
    let best = SPEAKING_LEVEL
    for (const [key, s] of this.speech) { if (s.level > best) { best = s.level; loudest = key } }
    if (loudest == null) {
      const recent = [...this.speech].filter(([, s]) => now - s.heardAt < SPEAKING_HOLD).sort((a, b) => b[1].heardAt - a[1].heardAt)[0]
      loudest = recent?.[0]
    }
    return loudest
  }
}
