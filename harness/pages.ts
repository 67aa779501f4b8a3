/**
 * What a test reads from and does in a page of the web app, whatever drives the browser: Chromium through
 * playwright-core (harness/browser.ts), Firefox through puppeteer-core over WebDriver BiDi (harness/firefox.ts). Each
 * harness hands its page in as a `PageDriver`; the functions that run inside the page are written once, here.
 */

/** The few things the shared helpers need from a driven page. */
export interface PageDriver {
  /** Run `fn` inside the page with `arg` (both must survive serialisation: `fn` closes over nothing). */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>
  /** Type `text` into the element with this `data-testid`, replacing what it holds. */
  fill(testid: string, text: string): Promise<void>
  /** Click the element with this `data-testid`. */
  click(testid: string): Promise<void>
  /** Wait until an element matches `selector` (`state: 'detached'`: until none does). */
  waitFor(selector: string, options: { timeout: number, state?: 'attached' | 'visible' | 'detached' }): Promise<void>
}

export interface VideoProgress { frames: number, width: number, height: number, playing: boolean }

/** The wall clock to the millisecond (HH:MM:SS.mmm, UTC), put before each line a page logs: lines of several pages line up. */
export function clock (): string {
  return new Date().toISOString().slice(11, 23)
}

/** Which video of a participant's tile: the camera, or the screen they share. */
export type TileVideo = 'camera' | 'screen'

export function tileSelector (peerId: string): string {
  return `[data-testid=tile][data-peer-id="${peerId}"]`
}

/** Type a name, click Join, and wait for the call screen. */
export async function join (page: PageDriver, name: string): Promise<void> {
  await page.fill('display-name', name)
  await page.click('join')
  await page.waitFor('#call', { state: 'visible', timeout: 30_000 })
}

/** Frames decoded so far by the first video matching `selector`, and its size (all 0 while there is none). */
export async function videoProgress (page: PageDriver, selector: string): Promise<VideoProgress> {
  return page.evaluate((sel) => {
    const v = document.querySelector(sel) as HTMLVideoElement | null
    if (v == null) { return { frames: 0, width: 0, height: 0, playing: false } }
    // Chromium counts a stream's frames in the playback quality; Firefox does not (0 for a MediaStream), but counts
    // the frames it painted
    const painted = (v as HTMLVideoElement & { mozPaintedFrames?: number }).mozPaintedFrames ?? 0
    return {
      frames: Math.max(v.getVideoPlaybackQuality?.().totalVideoFrames ?? 0, painted),
      width: v.videoWidth,
      height: v.videoHeight,
      playing: !v.paused && v.readyState >= 2
    }
  }, selector)
}

/** The page's libp2p PeerId (the app exposes its objects as `globalThis.freeflow` for debugging). */
export async function pagePeerId (page: PageDriver): Promise<string> {
  return page.evaluate(() => (globalThis as any).freeflow.node.peerId.toString() as string, undefined)
}

/**
 * What a page can tell about the media from `peerId` when a wait for it failed: the inbound video of that member's
 * call (received, decoded, dropped, freezes, PLIs) with the connection's state, and the tracks the tile's element
 * shows against those received, so a failure says whether the media stopped arriving, stopped decoding or stopped
 * being shown (whether the page still draws at all: `pageHealth`).
 */
export async function mediaDiagnosis (page: PageDriver, peerId: string): Promise<string> {
  return answerWithin(page.evaluate(async (id) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    const video: Record<string, unknown> = {}
    // the candidates each side holds: ICE that never starts checking has none from the other side
    const ice: Record<string, string[]> = { local: [], remote: [] }
    if (pc != null) {
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          video[s.mid ?? s.id] = { rx: s.framesReceived, dec: s.framesDecoded, drop: s.framesDropped, freezes: s.freezeCount, pli: s.pliCount, lost: s.packetsLost, bytes: s.bytesReceived, size: `${String(s.frameWidth)}x${String(s.frameHeight)}` }
        }
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          video[`out:${String(s.mid ?? s.id)}`] = { enc: s.framesEncoded, sent: s.framesSent, bytes: s.bytesSent, limit: s.qualityLimitationReason, active: s.active }
        }
        if (s.type === 'local-candidate' || s.type === 'remote-candidate') { ice[s.type === 'local-candidate' ? 'local' : 'remote'].push(`${String(s.candidateType)}/${String(s.protocol)}`) }
      })
      const ufrag = (sdp?: string): string => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1] ?? '-'
      ice.ufrags = [ufrag(pc.localDescription?.sdp), ufrag(pc.remoteDescription?.sdp)]
    }
    // what the tile's element shows, against what the connection receives
    const el = document.querySelector(`[data-testid=tile][data-peer-id="${id}"] video.camera`) as HTMLVideoElement | null
    const shown = el?.srcObject instanceof MediaStream ? el.srcObject.getVideoTracks().map(t => `${t.id.slice(0, 8)}:${t.readyState}${t.muted ? ':muted' : ''}`) : []
    const received = pc?.getReceivers().filter(r => r.track.kind === 'video').map(r => `${r.track.id.slice(0, 8)}:${r.track.readyState}${r.track.muted ? ':muted' : ''}`) ?? []
    // each m-line: mid, direction (current), what is sent on it and what is received (muted or not)
    const tx = pc?.getTransceivers().map(t => `${String(t.mid)}:${t.direction}(${String(t.currentDirection)}):${t.sender.track?.kind ?? '-'}>${t.receiver.track.kind}${t.receiver.track.muted ? ':muted' : ''}`) ?? []
    const box = el?.getBoundingClientRect()
    const element = el == null ? 'none' : { shown, received, box: `${Math.round(box!.x)},${Math.round(box!.y)} ${Math.round(box!.width)}x${Math.round(box!.height)}`, paused: el.paused, ready: el.readyState, time: el.currentTime }
    return JSON.stringify({ member: member != null, pc: pc == null ? 'none' : `${pc.connectionState}/${pc.iceConnectionState}/${pc.signalingState}`, ice, tx, video, element })
  }, peerId))
}

/** What `probe` answers, or why it did not within 10 s (a page whose main thread is stuck never answers). */
async function answerWithin (probe: Promise<string>): Promise<string> {
  const answered = await Promise.race([probe, new Promise<undefined>(resolve => { setTimeout(resolve, 10_000) })]).catch((err: Error) => `probe failed: ${err.message}`)
  return answered ?? 'main thread did not answer within 10 s'
}

/**
 * Whether a page still works, for a failed test's message: does its main thread answer, does it still draw
 * (requestAnimationFrame round trip), and how long were its main thread's stalls over the last second.
 */
export async function pageHealth (page: PageDriver): Promise<string> {
  return answerWithin(page.evaluate(async () => {
    const t0 = performance.now()
    const raf = await Promise.race([
      new Promise<number>(resolve => { requestAnimationFrame(() => { resolve(Math.round(performance.now() - t0)) }) }),
      new Promise<number>(resolve => { setTimeout(() => { resolve(-1) }, 3_000) })
    ])
    let worst = 0
    let prev = performance.now()
    const end = prev + 1_000
    while (performance.now() < end) {
      await new Promise(resolve => setTimeout(resolve, 20))
      const now = performance.now()
      worst = Math.max(worst, now - prev - 20)
      prev = now
    }
    return `visibility ${document.visibilityState}, frame in ${raf < 0 ? 'none within 3 s' : `${raf} ms`}, worst timer delay ${Math.round(worst)} ms`
  }, undefined))
}

/** Wait until the `which` video in the tile of `peerId` decodes frames that keep advancing. */
export async function waitForVideo (page: PageDriver, peerId: string, timeoutMs = 30_000, which: TileVideo = 'camera'): Promise<void> {
  const sel = `${tileSelector(peerId)} video.${which}`
  const deadline = Date.now() + timeoutMs
  let last: VideoProgress = { frames: 0, width: 0, height: 0, playing: false }
  while (Date.now() < deadline) {
    last = await videoProgress(page, sel).catch(() => undefined) ?? last
    if (last.frames > 0 && last.width > 0) {
      await new Promise(resolve => setTimeout(resolve, 1_000))
      const later = await videoProgress(page, sel)
      if (later.frames > last.frames) { return }
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  const tile = await answerWithin(page.evaluate((s) => {
    const e = document.querySelector(s) as HTMLElement | null
    return e == null ? 'no tile' : JSON.stringify({ ...e.dataset })
  }, tileSelector(peerId)))
  throw new Error(`${which} video of ${peerId} not playing: ${JSON.stringify(last)}; tile ${tile}; ${await mediaDiagnosis(page, peerId)}; page: ${await pageHealth(page)}`)
}

/** Bytes of `kind` this page has received from `peerId` so far, over every inbound RTP stream of their call. */
export async function inboundBytes (page: PageDriver, peerId: string, kind: 'audio' | 'video'): Promise<number> {
  return page.evaluate(async ({ id, kind }) => {
    const f = (globalThis as any).freeflow
    const member = f?.room?.members().find((m: any) => m.peerId.toString() === id)
    const pc: RTCPeerConnection | undefined = member != null ? f.call?.peerConnection(member.peerId) : undefined
    let bytes = 0
    if (pc == null) { return 0 }
    (await pc.getStats()).forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === kind) { bytes += s.bytesReceived ?? 0 } })
    return bytes
  }, { id: peerId, kind })
}

/** Wait until the `kind` bytes this page receives from `peerId` keep growing (they are heard, or seen). */
export async function waitForInbound (page: PageDriver, peerId: string, kind: 'audio' | 'video', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let before = 0
  let after = 0
  while (Date.now() < deadline) {
    before = await inboundBytes(page, peerId, kind)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    after = await inboundBytes(page, peerId, kind)
    if (before > 0 && after > before) { return }
  }
  throw new Error(`no ${kind} from ${peerId}: ${before} then ${after} bytes`)
}

export interface ChatLine { name: string, text: string, history: boolean }

/** The chat as the page shows it. */
export async function chatLines (page: PageDriver): Promise<ChatLine[]> {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid=chat-message]')].map(e => ({
    name: (e as HTMLElement).dataset.name ?? '',
    text: e.querySelector('.text')?.textContent ?? '',
    history: e.classList.contains('history')
  })), undefined)
}

/** Type a chat line and send it. */
export async function say (page: PageDriver, text: string): Promise<void> {
  await page.fill('chat-input', text)
  await page.click('chat-send')
}

/** Wait until the chat shows a line with this text; the line. */
export async function waitForChat (page: PageDriver, text: string, timeoutMs = 20_000): Promise<ChatLine> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const found = (await chatLines(page)).find(m => m.text === text)
    if (found != null) { return found }
    if (Date.now() > deadline) { throw new Error(`no chat line "${text}" within ${timeoutMs} ms: ${JSON.stringify(await chatLines(page))}`) }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}
