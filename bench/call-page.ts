/**
 * Code that `npm run bench:call` runs inside the pages (handed to page.evaluate, so every function here stands
 * alone: no imports, no module scope). Times are epoch ms with sub-ms precision (performance.timeOrigin +
 * performance.now()), so marks from different pages and from Node share one clock.
 */

/** One inbound or outbound video stream's numbers from getStats, as the bench uses them. */
export interface VideoSample {
  t: number
  ssrc?: number
  width?: number
  height?: number
  fps?: number
  frames?: number
  freezeCount?: number
  freezeSec?: number
  framesDropped?: number
  bytes?: number
  /** outbound only */
  limitation?: string
  limitationSec?: Record<string, number>
  targetBitrate?: number
  encoder?: string
  decoder?: string
  encodeSec?: number
  decodeSec?: number
  availableOutgoingBitrate?: number
  rttMs?: number
}

/** The probe on a page in a join trial: the first time each milestone was seen, and the video timeline. */
export interface ProbeState {
  clickAt?: number
  remoteId?: string
  marks: Record<string, number>
  inbound: VideoSample[]
  outbound: VideoSample[]
  /** from the first decoded frame, by the receiver's stats */
  qualityAt?: number
  /** libp2p connections to the remote participant: address, limited (relayed) or not, direction, when opened */
  conns: Array<{ id: string, addr: string, limited: boolean, direction: string, openAt: number, seenAt: number }>
  /** first time a stream of each protocol was seen on a connection to the remote, by `protocol relayed|direct` */
  streams: Record<string, number>
  done: boolean
}

export interface ProbeArgs {
  /** the participant whose video we wait for; the first other member when absent */
  remoteId?: string
  /** getStats is polled this often, ms */
  statsEvery: number
  /** quality target (the receiver's inbound-rtp) */
  minWidth: number
  minHeight: number
  minFps: number
}

/**
 * Watch a page of the web app: milestones of joining (polled every 10 ms) and, once there is a media connection
 * with the remote participant, its video stats (every `statsEvery` ms). Results accumulate in globalThis.__bench.
 */
export function installProbe (args: ProbeArgs): void {
  const w = globalThis as any
  const now = (): number => performance.timeOrigin + performance.now()
  const state: ProbeState = { marks: {}, inbound: [], outbound: [], conns: [], streams: {}, done: false, remoteId: args.remoteId }
  w.__bench = state
  const mark = (name: string, cond: boolean): void => {
    if (cond && state.marks[name] == null) { state.marks[name] = now() }
  }
  let watched: HTMLVideoElement | undefined
  let pc: RTCPeerConnection | undefined
  /** The libp2p connections to the remote participant, and the first stream of each protocol on them. */
  const watchConnections = (conns: any[]): void => {
    const toRemote = conns.filter(c => c.remotePeer.toString() === state.remoteId && c.status === 'open')
    mark('connRelayed', toRemote.some(c => c.limits != null))
    mark('connDirect', toRemote.some(c => c.limits == null))
    for (const c of toRemote) {
      const limited = c.limits != null
      if (!state.conns.some(k => k.id === c.id)) {
        state.conns.push({ id: c.id, addr: c.remoteAddr.toString(), limited, direction: c.direction, openAt: c.timeline?.open ?? NaN, seenAt: now() })
      }
      for (const s of c.streams ?? []) {
        const key = `${String(s.protocol)} ${limited ? 'relayed' : 'direct'}`
        if (s.protocol != null && state.streams[key] == null) { state.streams[key] = now() }
      }
    }
  }
  const watchNode = (node: any): void => {
    mark('node', true)
    const conns: any[] = node.getConnections()
    mark('relayConnected', conns.length > 0)
    const addrs: string[] = node.getMultiaddrs().map((a: any) => a.toString())
    mark('reservation', addrs.some(a => a.includes('/p2p-circuit')))
    if (state.remoteId != null) { watchConnections(conns) }
  }
  /** The media connection with the remote participant, and its video in the tile. */
  const watchCall = (app: any): void => {
    const members: any[] = app?.room?.members() ?? []
    if (state.remoteId == null && members.length > 0) { state.remoteId = members[0].peerId.toString() }
    const member = members.find(m => m.peerId.toString() === state.remoteId)
    mark('seen', member != null)
    if (member != null && app.call != null) { pc = app.call.peerConnection(member.peerId) ?? pc }
    if (pc != null) {
      mark('pc', true)
      mark('localDescription', pc.localDescription != null)
      mark('remoteDescription', pc.remoteDescription != null)
      mark('stable', pc.remoteDescription != null && pc.signalingState === 'stable')
      mark('iceChecking', pc.iceConnectionState !== 'new')
      mark('iceConnected', pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed')
      mark('connected', pc.connectionState === 'connected')
    }
    const video = document.querySelector<HTMLVideoElement>(`[data-testid=tile][data-peer-id="${state.remoteId ?? '-'}"] video.camera`)
    if (video?.srcObject != null && watched !== video) {
      watched = video
      mark('track', true)
      video.requestVideoFrameCallback(() => { mark('firstFrame', true) })
    }
  }
  const tick = (): void => {
    if (state.done) { return }
    const app = w.freeflow
    if (app?.node != null) { watchNode(app.node) }
    mark('room', app?.room != null)
    mark('callVisible', document.getElementById('call')?.hidden === false)
    watchCall(app)
  }
  const stats = async (): Promise<void> => {
    if (state.done) { return }
    if (pc != null) {
      try {
        const report = await pc.getStats()
        const t = now()
        report.forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            state.inbound.push({ t, width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, frames: s.framesDecoded, freezeCount: s.freezeCount, bytes: s.bytesReceived, decoder: s.decoderImplementation })
            mark('firstDecoded', (s.framesDecoded ?? 0) > 0)
            if (state.qualityAt == null && (s.frameWidth ?? 0) >= args.minWidth && (s.frameHeight ?? 0) >= args.minHeight && (s.framesPerSecond ?? 0) >= args.minFps) {
              state.qualityAt = t
              mark('quality', true)
            }
          } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
            const pair = [...report.values()].find((p: any) => p.type === 'candidate-pair' && p.nominated === true && p.state === 'succeeded')
            state.outbound.push({ t, width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, frames: s.framesEncoded, bytes: s.bytesSent, limitation: s.qualityLimitationReason, targetBitrate: s.targetBitrate, encoder: s.encoderImplementation, availableOutgoingBitrate: pair?.availableOutgoingBitrate })
          }
        })
      } catch { /* the connection closed under us: try again at the next poll */ }
    }
    setTimeout(() => { void stats() }, args.statsEvery)
  }
  const timer = setInterval(tick, 10)
  w.__benchStop = () => { state.done = true; clearInterval(timer) }
  tick()
  void stats()
}

/** Fill in nothing: the name is filled by playwright. Note the time and press Join. */
export function clickJoin (): number {
  const w = globalThis as any
  const at = performance.timeOrigin + performance.now()
  if (w.__bench != null) { w.__bench.clickAt = at }
  document.querySelector<HTMLButtonElement>('[data-testid=join]')!.click()
  return at
}

export function readProbe (): ProbeState {
  return (globalThis as any).__bench
}

export function stopProbe (): void {
  (globalThis as any).__benchStop?.()
}

export interface BaselineArgs {
  video: MediaTrackConstraints
  timeoutMs: number
  /** after the first frame, wait this long for the quality target; 0: stop at the first frame */
  qualityMs: number
  /** x-google-start-bitrate in kbit/s, added to the remote descriptions the way FreeFlow does (globalThis.__withStartBitrate) */
  startBitrate?: number
  degradationPreference?: RTCDegradationPreference
  statsEvery: number
  minWidth: number
  minHeight: number
  minFps: number
}

export interface BaselineRun {
  /** from the start of connect: creating both RTCPeerConnections, adding the tracks, offer/answer, trickle ICE */
  iceConnected?: number
  track?: number
  firstFrame?: number
  firstDecoded?: number
  quality?: number
  error?: string
  inbound: VideoSample[]
}

/**
 * The baseline: two plain RTCPeerConnections in this page, no libp2p, iceServers []; both send the same camera
 * and microphone stream (as two participants would), signalled by direct calls. Times in ms from the start of
 * connect. The camera is opened once per page, before the first run.
 */
export async function baselineRun (args: BaselineArgs): Promise<BaselineRun> {
  const w = globalThis as any
  w.__stream ??= await navigator.mediaDevices.getUserMedia({ video: args.video, audio: true })
  const stream: MediaStream = w.__stream
  const now = (): number => performance.now()
  const result: BaselineRun = { inbound: [] }
  const video = document.createElement('video')
  video.muted = true
  video.autoplay = true
  video.playsInline = true
  document.body.append(video)
  const t0 = now()
  const a = new RTCPeerConnection({ iceServers: [] })
  const b = new RTCPeerConnection({ iceServers: [] })
  try {
    a.onicecandidate = ({ candidate }) => { if (candidate != null) { void b.addIceCandidate(candidate).catch(() => {}) } }
    b.onicecandidate = ({ candidate }) => { if (candidate != null) { void a.addIceCandidate(candidate).catch(() => {}) } }
    b.oniceconnectionstatechange = () => {
      if (result.iceConnected == null && (b.iceConnectionState === 'connected' || b.iceConnectionState === 'completed')) { result.iceConnected = now() - t0 }
    }
    b.ontrack = (evt) => {
      if (evt.track.kind !== 'video' || result.track != null) { return }
      result.track = now() - t0
      video.srcObject = evt.streams[0] ?? new MediaStream([evt.track])
      video.requestVideoFrameCallback(() => { result.firstFrame ??= now() - t0 })
    }
    for (const pc of [a, b]) {
      for (const track of stream.getTracks()) {
        const sender = pc.addTrack(track, stream)
        if (track.kind === 'video' && args.degradationPreference != null) {
          const params = sender.getParameters()
          params.degradationPreference = args.degradationPreference
          await sender.setParameters(params)
        }
      }
    }
    const munge = (d: RTCSessionDescription | null): RTCSessionDescriptionInit => ({ type: d!.type, sdp: args.startBitrate != null ? w.__withStartBitrate(d!.sdp, args.startBitrate) : d!.sdp })
    await a.setLocalDescription()
    await b.setRemoteDescription(munge(a.localDescription))
    await b.setLocalDescription()
    await a.setRemoteDescription(munge(b.localDescription))
    const deadline = t0 + args.timeoutMs
    let qualityDeadline = deadline
    /** The receiver's video stats at `t` ms from the start. */
    const note = (report: RTCStatsReport, t: number): void => {
      for (const s of report.values() as Iterable<any>) {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') { continue }
        result.inbound.push({ t, width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, frames: s.framesDecoded })
        if ((s.framesDecoded ?? 0) > 0 && result.firstDecoded == null) {
          result.firstDecoded = t
          // with qualityMs 0, still wait (briefly) for the frame to be shown
          qualityDeadline = t0 + t + (args.qualityMs > 0 ? args.qualityMs : 2_000)
        }
        if (result.quality == null && (s.frameWidth ?? 0) >= args.minWidth && (s.frameHeight ?? 0) >= args.minHeight && (s.framesPerSecond ?? 0) >= args.minFps) { result.quality = t }
      }
    }
    while (now() < qualityDeadline) {
      const report = await b.getStats()
      note(report, now() - t0)
      if (result.firstFrame != null && result.firstDecoded != null && (result.quality != null || args.qualityMs === 0)) { break }
      await new Promise(resolve => setTimeout(resolve, args.statsEvery))
    }
  } catch (err: any) {
    result.error = String(err?.message ?? err)
  } finally {
    a.close()
    b.close()
    video.srcObject = null
    video.remove()
  }
  return result
}

/** Per remote participant of a page in a mesh: the numbers of its inbound and outbound video. */
export interface MeshPeerSample {
  remoteId: string
  inbound?: VideoSample
  outbound?: VideoSample
}

export async function meshSample (): Promise<MeshPeerSample[]> {
  const app = (globalThis as any).freeflow
  const out: MeshPeerSample[] = []
  for (const m of app?.room?.members() ?? []) {
    const pc: RTCPeerConnection | undefined = app.call?.peerConnection(m.peerId)
    const sample: MeshPeerSample = { remoteId: m.peerId.toString() }
    out.push(sample)
    if (pc == null) { continue }
    try {
      const report = await pc.getStats()
      const t = performance.timeOrigin + performance.now()
      const pair = [...report.values()].find((p: any) => p.type === 'candidate-pair' && p.nominated === true && p.state === 'succeeded')
      report.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          sample.inbound = { t, ssrc: s.ssrc, width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, frames: s.framesDecoded, freezeCount: s.freezeCount, freezeSec: s.totalFreezesDuration, framesDropped: s.framesDropped, bytes: s.bytesReceived, decoder: s.decoderImplementation, decodeSec: s.totalDecodeTime }
        } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
          sample.outbound = { t, ssrc: s.ssrc, width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond, frames: s.framesEncoded, bytes: s.bytesSent, limitation: s.qualityLimitationReason, limitationSec: s.qualityLimitationDurations, targetBitrate: s.targetBitrate, encoder: s.encoderImplementation, encodeSec: s.totalEncodeTime, availableOutgoingBitrate: pair?.availableOutgoingBitrate, rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : undefined }
        }
      })
    } catch { /* the connection closed under us: no numbers for it in this sample */ }
  }
  return out
}

/** What a page of the web app is up to, for a mesh that did not come together. */
export async function meshState (): Promise<Record<string, unknown>> {
  const app = (globalThis as any).freeflow
  const node = app?.node
  const members: string[] = []
  for (const m of app?.room?.members() ?? []) {
    const pc: RTCPeerConnection | undefined = app.call?.peerConnection(m.peerId)
    let candidates = ''
    if (pc != null) {
      const report = await pc.getStats()
      let local = 0
      let remote = 0
      report.forEach((s: any) => {
        if (s.type === 'local-candidate') { local++ }
        if (s.type === 'remote-candidate') { remote++ }
      })
      // what each transceiver sends and receives as negotiated, and the kinds of the tracks we send
      const tx = pc.getTransceivers().map(t => `${t.receiver.track.kind[0]}:${t.currentDirection ?? '-'}`).join(',')
      const sending = pc.getSenders().map(x => x.track?.kind ?? '-').join(',')
      candidates = ` candidates local=${local} remote=${remote} desc=${pc.localDescription?.type ?? '-'}/${pc.remoteDescription?.type ?? '-'} tx=${tx} sending=${sending}`
    }
    members.push(`${String(m.peerId.toString()).slice(-6)} ${String(m.name)} pc=${pc?.connectionState ?? '-'}/${pc?.iceConnectionState ?? '-'}/${pc?.signalingState ?? '-'}${candidates}`)
  }
  return {
    inCall: document.getElementById('call')?.hidden === false,
    peerId: node?.peerId?.toString(),
    circuitAddrs: node?.getMultiaddrs().filter((a: any) => a.toString().includes('p2p-circuit')).length,
    connections: node?.getConnections().map((c: any) => `${String(c.remotePeer.toString()).slice(-6)} ${c.limits != null ? 'relayed' : 'direct'} ${String(c.status)}`),
    members,
    tiles: [...document.querySelectorAll<HTMLElement>('[data-testid=tile]')].map(t => `${t.dataset.peerId?.slice(-6) ?? ''} ${t.dataset.state ?? ''} video=${t.dataset.video ?? ''}`)
  }
}
