/**
 * Our patch to werift (patches/werift+*.patch), the recorder's WebRTC: applying an answer while ICE is 'completed'
 * (the second side's answer of the first negotiation, or any later renegotiation: a track added, a screen shared) no
 * longer starts ICE again, which set the connection back to 'checking' until its checks had run once more (seen in
 * test/protocols/ice.spec.ts at a credential renewal). Two werift connections on loopback, nothing else.
 */
import { expect } from 'aegir/chai'
import { RTCPeerConnection } from 'werift'

async function negotiate (a: RTCPeerConnection, b: RTCPeerConnection): Promise<void> {
  await a.setLocalDescription(await a.createOffer())
  await b.setRemoteDescription(a.localDescription!)
  await b.setLocalDescription(await b.createAnswer())
  await a.setRemoteDescription(b.localDescription!)
}

async function until (what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) { throw new Error(`not within ${timeoutMs} ms: ${what}`) }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('werift, as patched', function () {
  this.timeout(30_000)
  const pcs: RTCPeerConnection[] = []

  afterEach(async () => {
    await Promise.all(pcs.splice(0).map(async pc => pc.close()))
  })

  it('once ICE is up, applying an answer (this negotiation\'s or a later one\'s) never takes it back to checking', async () => {
    const a = new RTCPeerConnection({})
    const b = new RTCPeerConnection({})
    pcs.push(a, b)
    const states: Record<string, string[]> = { a: [], b: [] }
    a.iceConnectionStateChange.subscribe(s => { states.a.push(s) })
    b.iceConnectionStateChange.subscribe(s => { states.b.push(s) })
    a.onicecandidate = ({ candidate }) => { if (candidate != null) { void b.addIceCandidate(candidate).catch(() => {}) } }
    b.onicecandidate = ({ candidate }) => { if (candidate != null) { void a.addIceCandidate(candidate).catch(() => {}) } }
    const up = (pc: RTCPeerConnection): boolean => ['connected', 'completed'].includes(pc.iceConnectionState)
    a.addTransceiver('video', { direction: 'sendonly' })
    await negotiate(a, b)
    await until('ICE up on both', () => up(a) && up(b))
    await new Promise(resolve => setTimeout(resolve, 1_000))
    // a renegotiation: a track added
    a.addTransceiver('audio', { direction: 'sendonly' })
    await negotiate(a, b)
    await new Promise(resolve => setTimeout(resolve, 2_000))
    for (const [side, seen] of Object.entries(states)) {
      const after = seen.slice(seen.findIndex(s => s === 'connected' || s === 'completed'))
      expect(after.filter(s => s !== 'connected' && s !== 'completed'), `${side}'s ICE states once up: ${seen.join(', ')}`).to.deep.equal([])
    }
    expect(up(a) && up(b)).to.equal(true)
  })
})
