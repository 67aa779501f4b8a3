/**
 * PeerSession (protocols/call/session.ts) between two of Chromium's own RTCPeerConnections in one page, with the
 * signalling path between them in the page too, so a test can lose what a stream would lose. werift (the Node
 * specs' connection) puts its candidates in its descriptions and connects without any trickled one; Chromium trickles
 * every candidate and refuses one whose description it does not hold, which is what these tests are about.
 */
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { expect } from 'aegir/chai'
import { build } from 'esbuild'
import { launch } from '../../harness/browser.ts'
import type { AddressInfo, Server } from 'node:net'
import type { Browser, BrowserContext, Page } from 'playwright-core'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** protocols/call/session.ts and media.ts as one script that sets `globalThis.FF.PeerSession` and `FF.PeerMedia`. */
async function bundle (): Promise<string> {
  const out = await build({
    stdin: { contents: "export { PeerSession } from './protocols/call/session.ts'\nexport { PeerMedia } from './protocols/call/media.ts'", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'FF',
    platform: 'browser',
    write: false,
    logLevel: 'silent'
  })
  return out.outputFiles[0].text
}

/** What a test reads of the two sides. */
interface PairState {
  states: [string, string]
  ice: [string, string]
  signalling: [string, string]
  offers: number
  lost: number
  log: string[]
}

describe('call negotiation between two Chromium RTCPeerConnections', function () {
  this.timeout(60_000)
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let script: string
  let server: Server
  let origin: string

  before(async () => {
    script = await bundle()
    browser = await launch()
    // a page of its own origin, allowed the camera: Chromium gathers host candidates on every interface (loopback
    // included) only for a page that may capture; any other gets the default route's, and this namespace has none
    server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>sessions</title>') })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  beforeEach(async () => {
    context = await browser.newContext()
    await context.grantPermissions(['camera', 'microphone'], { origin })
    page = await context.newPage()
    await page.goto(origin)
    await page.addScriptTag({ content: script })
    // two sessions: 'a' polite, 'b' impolite; each direction delivers in order, a task later, or loses what `lose` says
    await page.evaluate((stallInterval) => {
      const w = globalThis as any
      w.losing = false
      w.lost = 0
      w.logs = []
      const log = Object.assign((fmt: string, ...args: unknown[]) => { w.logs.push(`${fmt} ${args.map(String).join(' ')}`) }, { trace: () => {}, error: () => {}, enabled: false })
      const sent: any[] = []
      w.sent = sent
      w.held = []
      const link = (to: () => any) => (signal: any) => {
        sent.push(signal)
        if (w.losing === true && signal.candidate != null) { w.lost++; return }
        if (w.holding === true) { w.held.push(() => { to().handle(signal) }); return }
        setTimeout(() => { to().handle(signal) }, 0)
      }
      const side = (name: string, other: string, polite: boolean): any => new w.FF.PeerSession({
        peerId: { toString: () => other },
        polite,
        RTCPeerConnection,
        rtcConfiguration: {},
        send: link(() => w[other]),
        log,
        stallInterval,
        // as the call wires them (protocols/call/call.ts)
        onRemoteOffer: async () => { await w.media[name].takeOffered() }
      })
      w.a = side('a', 'b', true)
      w.b = side('b', 'a', false)
      // what each side sends, as the call sends it (protocols/call/media.ts)
      // a canvas's video, drawn ten times a second (a canvas gives a frame only when drawn)
      w.canvasStream = (): MediaStream => {
        const canvas = document.createElement('canvas')
        canvas.width = 64
        canvas.height = 48
        const g = canvas.getContext('2d')
        let n = 0
        setInterval(() => { if (g != null) { g.fillStyle = `hsl(${n++ * 36 % 360} 80% 50%)`; g.fillRect(0, 0, 64, 48) } }, 100)
        return canvas.captureStream(10)
      }
      w.media = { a: new w.FF.PeerMedia({ peerId: { toString: () => 'b' }, pc: w.a.pc, log, waitForOffer: true }), b: new w.FF.PeerMedia({ peerId: { toString: () => 'a' }, pc: w.b.pc, log }) }
    }, 3_000)
  })

  afterEach(async () => {
    await page.evaluate(() => { const w = globalThis as any; w.media.a.close(); w.media.b.close(); w.a.close(); w.b.close() }).catch(() => {})
    await context.close()
  })

  after(async () => {
    await browser?.close()
    server?.close()
  })

  async function state (): Promise<PairState> {
    return page.evaluate(() => {
      const w = globalThis as any
      return {
        states: [w.a.state, w.b.state],
        ice: [w.a.pc.iceConnectionState, w.b.pc.iceConnectionState],
        signalling: [w.a.pc.signalingState, w.b.pc.signalingState],
        offers: w.sent.filter((s: any) => s.description?.type === 'offer').length,
        lost: w.lost,
        log: [...w.logs, ...w.sent.filter((x: any) => x.candidate != null).map((x: any) => JSON.stringify(x.candidate))]
      }
    })
  }

  async function until (what: string, check: (s: PairState) => boolean, timeoutMs = 20_000): Promise<PairState> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const s = await state()
      if (check(s)) { return s }
      if (Date.now() > deadline) { throw new Error(`not within ${timeoutMs} ms: ${what}; ${JSON.stringify(s)}`) }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  /** The sides named send a canvas's video each, as the call's camera, all in one task: their negotiations start the call. */
  async function publish (...sides: Array<'a' | 'b'>): Promise<void> {
    await page.evaluate((names) => {
      const w = globalThis as any
      for (const name of names.length > 0 ? names : ['a']) { w.media[name].setStream('camera', w.canvasStream()) }
    }, sides)
  }

  /** Whether each side's received video tracks are muted (what a tile shows: a muted track never plays). */
  async function mutedReceived (): Promise<boolean[][]> {
    return page.evaluate(() => ['a', 'b'].map(n => (globalThis as any)[n].pc.getTransceivers()
      .filter((t: RTCRtpTransceiver) => t.receiver.track.kind === 'video' && (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv'))
      .map((t: RTCRtpTransceiver) => t.receiver.track.muted)))
  }

  /** Frames each side decoded from the other so far. */
  async function decoded (): Promise<[number, number]> {
    return page.evaluate(async () => {
      const w = globalThis as any
      const frames = async (pc: RTCPeerConnection): Promise<number> => {
        let n = 0
        ;(await pc.getStats()).forEach((s: any) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { n += s.framesDecoded ?? 0 } })
        return n
      }
      return [await frames(w.a.pc), await frames(w.b.pc)]
    })
  }

  /** Each side decodes more of the other's frames over 1.5 s. */
  async function videoFlowsBothWays (): Promise<void> {
    const first = await decoded()
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const later = await decoded()
    expect(later[0], 'a decodes b').to.be.above(first[0])
    expect(later[1], 'b decodes a').to.be.above(first[1])
  }

  it('a call comes up: Chromium trickles its candidates and both sides connect', async () => {
    await publish()
    const s = await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    expect(s.offers).to.equal(1)
  })

  it('every candidate of the first round lost: ICE stays \'new\', a stall look says the candidates again, and the call comes up without an ICE restart', async () => {
    await page.evaluate(() => { (globalThis as any).losing = true })
    await publish()
    const done = await until('both sides hold both descriptions', s => s.signalling[0] === 'stable' && s.signalling[1] === 'stable' && s.offers === 1)
    // what each side gathered is lost on the way: both have the other's description and none of its candidates
    await new Promise(resolve => setTimeout(resolve, 300))
    const stuck = await state()
    expect(stuck.lost, 'candidates lost').to.be.above(0)
    expect(stuck.ice, 'no remote candidate: Chromium does not start checking').to.deep.equal(['new', 'new'])
    expect(stuck.states).to.deep.equal(['calling', 'calling'])
    await page.evaluate(() => { (globalThis as any).losing = false })
    const up = await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    expect(up.offers, `one offer, no ICE restart: ${JSON.stringify(up.log)}`).to.equal(done.offers)
  })

  it('both sides start sending at once: the polite side waits for the offer and its answer carries its camera (one round)', async () => {
    await publish('a', 'b')
    await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    await videoFlowsBothWays()
    const s = await state()
    expect(s.offers, 'offers').to.equal(1)
  })

  it('glare: both sides offer at once (the polite side not waiting); the call comes up, video flows both ways, and neither received track stays muted', async () => {
    // as when both start a screen share at once, later in a call
    await page.evaluate(() => { const w = globalThis as any; w.media.a.close(); w.media.a = new w.FF.PeerMedia({ peerId: { toString: () => 'b' }, pc: w.a.pc, log: Object.assign(() => {}, { trace: () => {}, error: () => {} }) }) })
    await publish('a', 'b')
    await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    await videoFlowsBothWays()
    // with addTrack, the polite side's rolled-back transceiver took the other's m-line, and Chromium left the track
    // it received there muted while it decoded: the tile never played
    expect(await mutedReceived()).to.deep.equal([[false], [false]])
  })

  it('both sides restart ICE at once (both saw the network change): the restarts collide, the call comes back, video flows on', async () => {
    await publish('a', 'b')
    await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    const offers = (await state()).offers
    await page.evaluate(() => { (globalThis as any).a.restartIce(); (globalThis as any).b.restartIce() })
    await until('both restarted', s => s.offers >= offers + 2)
    await until('connected again', s => s.states[0] === 'connected' && s.states[1] === 'connected' && s.signalling[0] === 'stable' && s.signalling[1] === 'stable')
    await videoFlowsBothWays()
    expect(await mutedReceived()).to.deep.equal([[false], [false]])
  })

  /** b's offer reaches a as a starts sending: in the very task, or while a applies it. */
  async function otherOfferFirst (when: 'task' | 'have-remote-offer'): Promise<void> {
    // b's offer is held on its way, then handed to a as a starts sending: a's answer takes b's video m-line for a's
    // camera (PeerMedia.takeOffered); an offer of a's own would be a second round, and after a rollback Chromium's
    // next offer can fail outright (firefox.spec under load)
    await page.evaluate((w) => { (globalThis as any).holding = true; (globalThis as any).when = w }, when)
    await publish('b')
    await until('b\'s offer on its way', s => s.offers === 1)
    await page.evaluate(() => {
      const w = globalThis as any
      w.holding = false
      const send = (): void => { w.media.a.setStream('camera', w.canvasStream()) }
      if (w.when === 'have-remote-offer') {
        w.a.pc.addEventListener('signalingstatechange', () => { if (w.a.pc.signalingState === 'have-remote-offer' && w.media.a.sent !== true) { w.media.a.sent = true; send() } })
      } else {
        send()
      }
      for (const deliver of w.held.splice(0)) { deliver() }
    })
    await until('connected', s => s.states[0] === 'connected' && s.states[1] === 'connected')
    const unnegotiated = async (): Promise<number> => page.evaluate(() => (globalThis as any).a.pc.getTransceivers().filter((t: RTCRtpTransceiver) => t.mid == null && t.direction !== 'stopped').length)
    const decodedBoth = async (): Promise<boolean> => {
      const first = await decoded()
      await new Promise(resolve => setTimeout(resolve, 1_000))
      const later = await decoded()
      return later[0] > first[0] && later[1] > first[1]
    }
    const deadline = Date.now() + 15_000
    while (!(await decodedBoth()) && Date.now() < deadline) { /* look again */ }
    expect(await unnegotiated(), `a's transceivers without a mid: ${JSON.stringify((await state()).log)}`).to.equal(0)
    // one offer (b's) and a's answer: a needs no offer of its own, and no m-line beside b's of the same kind
    const tx = await page.evaluate(() => ['a', 'b'].map(n => (globalThis as any)[n].pc.getTransceivers().map((t: RTCRtpTransceiver) => `${String(t.mid)}:${t.direction}/${String(t.currentDirection)}:${t.sender.track?.kind ?? '-'}`)))
    expect((await state()).offers, `offers; a's and b's transceivers ${JSON.stringify(tx)}; ${JSON.stringify((await state()).log.filter(l => !l.startsWith('{')))}`).to.equal(1)
    expect(await page.evaluate(() => (globalThis as any).a.pc.getTransceivers().filter((t: RTCRtpTransceiver) => t.currentDirection !== 'stopped' && t.mid != null).length), 'a\'s m-lines').to.equal(1)
    await videoFlowsBothWays()
  }

  it('the other side\'s offer comes in the task where we start sending: our answer carries what we send, on its m-lines', async () => {
    await otherOfferFirst('task')
  })

  it('we start sending while the other side\'s offer is being applied: our answer carries what we send, on its m-lines', async () => {
    await otherOfferFirst('have-remote-offer')
  })
})
