/**
 * Which path a call took, from the page's own WebRTC stats (the selected candidate pair), and a control: two plain
 * RTCPeerConnections in two pages, given STUN/TURN servers, with a fake camera's video both ways. The control
 * shows what the network allows, whatever the product does.
 */
import type { Page } from 'playwright-core'

export interface Candidate {
  /** host, srflx, prflx or relay */
  type: string
  /** udp or tcp: between this candidate and the other side (a relay candidate's is UDP from the TURN server) */
  protocol: string
  /** For a local relay candidate: how this page reaches the TURN server (udp, tcp, tls). */
  relayProtocol?: string
  address: string
  port: number
  family: 4 | 6
}

export interface Path {
  local: Candidate
  remote: Candidate
  /** Round-trip time of the pair, ms. */
  rtt?: number
}

/** The selected candidate pair of an RTCPeerConnection, read inside the page. */
async function pairOf (pc: RTCPeerConnection | null | undefined): Promise<any> {
  if (pc == null) { return undefined }
  const stats = await pc.getStats()
  const all: any[] = []
  stats.forEach((s: any) => { all.push(s) })
  const transport = all.find(s => s.type === 'transport' && s.selectedCandidatePairId != null)
  const pair = transport != null
    ? stats.get(transport.selectedCandidatePairId)
    : all.find(s => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded')
  if (pair == null) { return undefined }
  const side = (id: string): any => {
    const c = stats.get(id) ?? {}
    const address = String(c.address ?? c.ip ?? '')
    return { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol, address, port: c.port, family: address.includes(':') ? 6 : 4 }
  }
  return { local: side(pair.localCandidateId), remote: side(pair.remoteCandidateId), rtt: pair.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : undefined }
}

/** The path this page's call with `peerId` uses now (undefined before one is selected). */
export async function callPath (page: Page, peerId: string): Promise<Path | undefined> {
  const pc = await page.evaluateHandle((id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    return (member != null ? f.call?.peerConnection(member.peerId) : undefined) ?? null
  }, peerId)
  try {
    return await pc.evaluate(pairOf)
  } finally {
    await pc.dispose()
  }
}

/** One line for a person: `relay/udp via tcp 203.0.113.18 (v4) -> srflx/udp 203.0.113.34 (v4), rtt 3 ms`. */
export function describePath (path: Path | undefined): string {
  if (path == null) { return 'no selected candidate pair' }
  const c = (x: Candidate): string => `${x.type}/${x.protocol}${x.relayProtocol != null ? ` via ${x.relayProtocol}` : ''} ${x.address} (v${x.family})`
  return `${c(path.local)} -> ${c(path.remote)}${path.rtt != null ? `, rtt ${Math.round(path.rtt)} ms` : ''}`
}

export interface ControlOptions {
  iceServers: RTCIceServer[]
  iceTransportPolicy?: RTCIceTransportPolicy
  /**
   * Video width asked of the fake camera.
   *
   * @default 640
   */
  width?: number
  /**
   * Video height asked of the fake camera.
   *
   * @default 360
   */
  height?: number
}

/**
 * Open a plain RTCPeerConnection in the page (kept as `globalThis.controlPc`), sending the fake camera; returns its
 * offer, or its answer to `remote`. Its ICE candidates collect in `globalThis.controlCandidates` (trickle: waiting
 * for gathering to complete can take 40 s, when a TURN URL of a family the host lacks never answers).
 */
async function controlSide (page: Page, options: ControlOptions, remote?: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
  return page.evaluate(async ({ options, remote }) => {
    const g = globalThis as any
    g.controlPc?.close()
    const pc = g.controlPc = new RTCPeerConnection({ iceServers: options.iceServers, iceTransportPolicy: options.iceTransportPolicy ?? 'all' })
    const candidates: RTCIceCandidateInit[] = g.controlCandidates = []
    pc.addEventListener('icecandidate', (e) => { if (e.candidate != null) { candidates.push(e.candidate.toJSON()) } })
    // how gathering went, for people: each server that failed, and when gathering completed
    const t0 = performance.now()
    const notes: string[] = g.controlGathering = []
    pc.addEventListener('icecandidateerror', (e: any) => { notes.push(`${String(e.url)} ${String(e.errorCode)} ${String(e.errorText)} at ${Math.round(performance.now() - t0)} ms`) })
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { notes.push(`complete at ${Math.round(performance.now() - t0)} ms`) } })
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: options.width ?? 640, height: options.height ?? 360 }, audio: false })
    media.getTracks().forEach(t => pc.addTrack(t, media))
    if (remote == null) {
      await pc.setLocalDescription(await pc.createOffer())
    } else {
      await pc.setRemoteDescription(remote)
      await pc.setLocalDescription(await pc.createAnswer())
    }
    return { type: pc.localDescription!.type, sdp: pc.localDescription!.sdp }
  }, { options, remote })
}

/** Move the ICE candidates `from` gathered since the last call to `to`. */
async function trickle (from: Page, to: Page): Promise<void> {
  const fresh = await from.evaluate(() => ((globalThis as any).controlCandidates as RTCIceCandidateInit[]).splice(0))
  if (fresh.length === 0) { return }
  await to.evaluate(async (candidates) => {
    const pc: RTCPeerConnection = (globalThis as any).controlPc
    for (const c of candidates) { await pc.addIceCandidate(c) }
  }, fresh)
}

/** Video frames this page's control connection has decoded so far. */
async function controlFrames (page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc: RTCPeerConnection | undefined = (globalThis as any).controlPc
    let frames = 0
    if (pc == null) { return 0 }
    (await pc.getStats()).forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { frames += s.framesDecoded ?? 0 } })
    return frames
  })
}

/** The control connection's path in this page. */
export async function controlPath (page: Page): Promise<Path | undefined> {
  const pc = await page.evaluateHandle(() => ((globalThis as any).controlPc as RTCPeerConnection | undefined) ?? null)
  try {
    return await pc.evaluate(pairOf)
  } finally {
    await pc.dispose()
  }
}

/**
 * Call from page `a` to page `b` with plain RTCPeerConnections (the test process carries the offer and answer) and
 * wait until each decodes video that keeps coming. Returns both paths; throws with the connection states if video
 * does not flow both ways within `timeoutMs`.
 */
export async function controlCall (a: Page, b: Page, options: ControlOptions, timeoutMs = 30_000): Promise<{ a?: Path, b?: Path }> {
  const offer = await controlSide(a, options)
  const answer = await controlSide(b, options, offer)
  await a.evaluate(async (answer) => { await (globalThis as any).controlPc.setRemoteDescription(answer) }, answer)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    await Promise.all([trickle(a, b), trickle(b, a)])
    const before = await Promise.all([controlFrames(a), controlFrames(b)])
    await new Promise(resolve => setTimeout(resolve, 500))
    await Promise.all([trickle(a, b), trickle(b, a)])
    await new Promise(resolve => setTimeout(resolve, 500))
    const after = await Promise.all([controlFrames(a), controlFrames(b)])
    if (before.every((n, i) => n > 0 && after[i] > n)) { break }
    if (Date.now() > deadline) {
      const states = await Promise.all([a, b].map(async p => p.evaluate(() => {
        const pc: RTCPeerConnection = (globalThis as any).controlPc
        return `${pc.connectionState}/${pc.iceConnectionState}`
      })))
      throw new Error(`control call: no video both ways within ${timeoutMs} ms (frames ${after.join(', ')}; states ${states.join(', ')})`)
    }
  }
  return { a: await controlPath(a), b: await controlPath(b) }
}

/** How the control connection's gathering went in this page: failed servers, and when it completed. */
export async function controlGathering (page: Page): Promise<string[]> {
  return page.evaluate(() => [...((globalThis as any).controlGathering ?? [])])
}

/** Close the control connections of these pages and stop their cameras. */
export async function endControl (...pages: Page[]): Promise<void> {
  await Promise.all(pages.map(async p => p.evaluate(() => {
    const pc: RTCPeerConnection | undefined = (globalThis as any).controlPc
    pc?.getSenders().forEach(s => { s.track?.stop() })
    pc?.close()
  }).catch(() => {})))
}

/** What a page's call with `peerId` does, for a failure message: states, video in and out, the tile's tracks. */
export async function callDiagnosis (page: Page, peerId: string): Promise<string> {
  return page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    if (pc == null) { return 'no connection' }
    const video = async (): Promise<Record<string, any>> => {
      const out: Record<string, any> = {}
      ;(await pc.getStats()).forEach((s: any) => {
        if (s.kind !== 'video') { return }
        if (s.type === 'inbound-rtp') { out.in = { packets: s.packetsReceived, frames: s.framesDecoded, keyFrames: s.keyFramesDecoded, pli: s.pliCount, nack: s.nackCount } }
        if (s.type === 'outbound-rtp') { out.out = { packets: s.packetsSent, frames: s.framesEncoded, keyFrames: s.keyFramesEncoded, pli: s.pliCount, limit: s.qualityLimitationReason, active: s.active } }
      })
      return out
    }
    // the candidates each side holds: ICE that never starts checking has none from the other side
    const candidates: string[] = []
    ;(await pc.getStats()).forEach((s: any) => {
      if (s.type === 'local-candidate' || s.type === 'remote-candidate') { candidates.push(`${s.type === 'local-candidate' ? 'local' : 'remote'} ${String(s.candidateType)}/${String(s.protocol)}/${String(s.address)}`) }
    })
    const first = await video()
    await new Promise(resolve => setTimeout(resolve, 1_000))
    const later = await video()
    const tile = document.querySelector(`[data-testid=tile][data-peer-id="${id}"] video.camera`) as HTMLVideoElement | null
    const shown = (tile?.srcObject as MediaStream | null)?.getVideoTracks().map(t => `${t.id.slice(0, 8)}:${t.readyState}${t.muted ? ':muted' : ''}`) ?? []
    const received = pc.getReceivers().filter(r => r.track.kind === 'video').map(r => `${r.track.id.slice(0, 8)}:${r.track.readyState}${r.track.muted ? ':muted' : ''}`)
    const sent = pc.getSenders().filter(s => s.track?.kind === 'video').map(s => `${s.track?.readyState ?? 'none'}${s.track?.enabled === false ? ':disabled' : ''}`)
    return `${pc.connectionState}/${pc.iceConnectionState}/${pc.signalingState}; video ${JSON.stringify(first)} then ${JSON.stringify(later)}; ` +
      `tile shows [${shown.join(' ')}], receivers [${received.join(' ')}], senders [${sent.join(' ')}]; candidates [${candidates.join(', ')}]`
  }, peerId)
}
