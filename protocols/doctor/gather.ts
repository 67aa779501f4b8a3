/**
 * Gather ICE candidates with one RTCPeerConnection and a given configuration, without a peer: enough to see whether a
 * STUN server answers and whether a TURN server grants an allocation. The connection is closed afterwards, which
 * releases any allocation.
 */
import { raceSignal } from '../util/abort.ts'
import type { AbortOptions } from '@libp2p/interface'

export interface GatheredCandidate {
  type: string | undefined
  protocol: string | undefined
  address: string | undefined
  /** The STUN or TURN URL the candidate came from, where the browser says it. */
  url?: string
}

/** An `icecandidateerror`: a STUN or TURN server that did not answer (701) or refused (e.g. 401). */
export interface CandidateError {
  url: string
  errorCode: number
  errorText: string
}

export interface GatherResult {
  candidates: GatheredCandidate[]
  errors: CandidateError[]
  /** Gathering finished (`icegatheringstate` complete) before the deadline. */
  complete: boolean
}

/** The candidate fields from an `icecandidate` event, read from the object or, failing that, its SDP line. */
function readCandidate (c: RTCIceCandidate, url: string | undefined): GatheredCandidate {
  // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...
  const parts = c.candidate.split(' ')
  const typ = parts.indexOf('typ')
  return {
    type: c.type ?? (typ > 0 ? parts[typ + 1] : undefined),
    protocol: c.protocol ?? parts[2]?.toLowerCase(),
    address: c.address ?? parts[4],
    ...(url != null && url !== '' ? { url } : {})
  }
}

/**
 * Gather with `config` until gathering completes, `stopWhen` says enough, or `timeout` ms pass; the caller's
 * signal aborts it. A data channel gives the offer something to gather for.
 */
export async function gather (RTCPeerConnection: new (config?: RTCConfiguration) => RTCPeerConnection, config: RTCConfiguration, init: { timeout: number, stopWhen?(c: GatheredCandidate): boolean }, options: AbortOptions = {}): Promise<GatherResult> {
  options.signal?.throwIfAborted()
  const result: GatherResult = { candidates: [], errors: [], complete: false }
  const pc = new RTCPeerConnection(config)
  const done = new AbortController()
  const signal = AbortSignal.any([done.signal, ...(options.signal != null ? [options.signal] : [])])
  const finished = new Promise<void>(resolve => {
    signal.addEventListener('abort', () => { resolve() }, { once: true })
  })
  const timer = setTimeout(() => { done.abort() }, init.timeout)
  try {
    pc.addEventListener('icecandidate', (evt: RTCPeerConnectionIceEvent) => {
      if (evt.candidate == null || evt.candidate.candidate === '') {
        result.complete = true
        done.abort()
        return
      }
      const c = readCandidate(evt.candidate, (evt as any).url ?? undefined)
      result.candidates.push(c)
      if (init.stopWhen?.(c) === true) { done.abort() }
    })
    pc.addEventListener('icecandidateerror', (evt: Event) => {
      const e = evt as RTCPeerConnectionIceErrorEvent
      result.errors.push({ url: e.url ?? '', errorCode: e.errorCode, errorText: e.errorText ?? '' })
    })
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        result.complete = true
        done.abort()
      }
    })
    pc.createDataChannel('doctor')
    await raceSignal(pc.setLocalDescription(await raceSignal(pc.createOffer(), signal)), signal).catch((err: any) => {
      if (!signal.aborted) { throw err }
    })
    await finished
    options.signal?.throwIfAborted()
    return result
  } finally {
    clearTimeout(timer)
    done.abort()
    pc.close()
  }
}
