/**
 * The call protocol's messages off the wire (protocols/call/messages.ts), property-tested with fast-check: any bytes
 * end in a CallHello or a Signal, or in InvalidCallMessageError, never another error; what we encode decodes to the
 * same value; the limits hold.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { MAX_CANDIDATE_LENGTH, MAX_M_LINES, MAX_REMOTE_CANDIDATES, MAX_SDP_SIZE, MAX_TRACK_LABELS, ROOM_ID_LENGTH } from '../../protocols/call/constants.ts'
import { InvalidCallMessageError } from '../../protocols/call/index.ts'
import { decodeHello, decodeSignal } from '../../protocols/call/messages.ts'
import { CallHello, Signal } from '../../protocols/call/pb/call.ts'

/** A value, or InvalidCallMessageError; anything else fails the property. */
function valueOrTyped<T> (decode: () => T): T | InvalidCallMessageError {
  try {
    return decode()
  } catch (err: any) {
    if (err instanceof InvalidCallMessageError && err.name === 'InvalidCallMessageError') { return err }
    throw new Error(`decoding threw ${err?.name}: ${err?.message}`)
  }
}

const text = fc.string({ maxLength: 200 })
const signal: fc.Arbitrary<Signal> = fc.record({
  description: fc.option(fc.record({ type: fc.constantFrom('offer', 'answer', 'rollback'), sdp: text }), { nil: undefined }),
  candidate: fc.option(fc.record({
    candidate: text,
    sdpMid: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
    sdpMLineIndex: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
    usernameFragment: fc.option(fc.string({ maxLength: 16 }), { nil: undefined })
  }, { requiredKeys: ['candidate'] }), { nil: undefined }),
  state: fc.option(fc.record({ mic: fc.boolean(), camera: fc.boolean(), screen: fc.boolean() }), { nil: undefined }),
  tracks: fc.array(fc.record({ streamId: fc.string({ maxLength: 40 }), kind: fc.constantFrom('camera', 'microphone', 'screen') }), { maxLength: MAX_TRACK_LABELS }),
  bye: fc.option(fc.boolean(), { nil: undefined })
}, { requiredKeys: ['tracks'] })

/** What protons gives back for an optional field that was not set: no key at all. */
function normal (s: Signal): Signal {
  return JSON.parse(JSON.stringify(s))
}

describe('call messages', () => {
  it('any bytes decode to a Signal within the limits, or fail with InvalidCallMessageError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const s = valueOrTyped(() => decodeSignal(bytes))
      if (!(s instanceof InvalidCallMessageError)) { expect(s.tracks.length).to.be.at.most(MAX_TRACK_LABELS) }
    }), { numRuns: 2_000 })
  })

  it('a valid Signal with bytes changed decodes to a Signal or fails with InvalidCallMessageError', () => {
    fc.assert(fc.property(signal, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (s, changes) => {
      const bytes = Signal.encode(s)
      if (bytes.length === 0) { return }
      for (const [at, value] of changes) { bytes[at % bytes.length] = value }
      valueOrTyped(() => decodeSignal(bytes))
    }), { numRuns: 1_000 })
  })

  it('any bytes decode to a CallHello with a 16-byte room id, or fail with InvalidCallMessageError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const hello = valueOrTyped(() => decodeHello(bytes))
      if (!(hello instanceof InvalidCallMessageError)) { expect(hello.roomId).to.have.lengthOf(ROOM_ID_LENGTH) }
    }), { numRuns: 2_000 })
  })

  it('a Signal survives encode and decode unchanged', () => {
    fc.assert(fc.property(signal, (s) => {
      expect(normal(decodeSignal(Signal.encode(s)))).to.deep.equal(normal(s))
    }), { numRuns: 500 })
  })

  it('a CallHello survives encode and decode unchanged', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: ROOM_ID_LENGTH, maxLength: ROOM_ID_LENGTH }), (roomId) => {
      expect(decodeHello(CallHello.encode({ roomId: new Uint8Array(roomId) })).roomId).to.deep.equal(new Uint8Array(roomId))
    }))
  })

  it('a Signal with more track labels than the limit, or a room id of another length, is refused', () => {
    const tracks = Array.from({ length: MAX_TRACK_LABELS + 1 }, (_, i) => ({ streamId: `s${i}`, kind: 'camera' }))
    expect(() => decodeSignal(Signal.encode({ tracks }))).to.throw(InvalidCallMessageError)
    for (const length of [0, 15, 17, 32]) {
      expect(() => decodeHello(CallHello.encode({ roomId: new Uint8Array(length) }))).to.throw(InvalidCallMessageError, /16 bytes/)
    }
  })

  it('a description over MAX_SDP_SIZE, MAX_M_LINES or MAX_REMOTE_CANDIDATES, or a candidate over MAX_CANDIDATE_LENGTH, is refused; one at each limit is taken', () => {
    const sdp = (mLines: number, candidates: number, pad = 0): string => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
      ...Array.from({ length: mLines }, (_, i) => `m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:${i}`),
      ...Array.from({ length: candidates }, (_, i) => `a=candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host`),
      ...(pad > 0 ? ['a=x-pad:' + 'x'.repeat(pad)] : [])].join('\r\n') + '\r\n'
    const description = (s: string): Uint8Array => Signal.encode({ tracks: [], description: { type: 'offer', sdp: s } })
    const candidate = (field: 'candidate' | 'sdpMid' | 'usernameFragment', length: number): Uint8Array =>
      Signal.encode({ tracks: [], candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.1 1000 typ host', [field]: 'x'.repeat(length) } })
    const atLimit = sdp(MAX_M_LINES, MAX_REMOTE_CANDIDATES)
    expect(decodeSignal(description(atLimit)).description?.sdp).to.equal(atLimit)
    expect(decodeSignal(description(sdp(1, 0, MAX_SDP_SIZE - 200))).description).to.not.equal(undefined)
    expect(() => decodeSignal(description(sdp(1, 0, MAX_SDP_SIZE)))).to.throw(InvalidCallMessageError, /bytes/)
    expect(() => decodeSignal(description(sdp(MAX_M_LINES + 1, 0)))).to.throw(InvalidCallMessageError, /m-lines/)
    expect(() => decodeSignal(description(sdp(1, MAX_REMOTE_CANDIDATES + 1)))).to.throw(InvalidCallMessageError, /candidates/)
    for (const field of ['candidate', 'sdpMid', 'usernameFragment'] as const) {
      expect(decodeSignal(candidate(field, MAX_CANDIDATE_LENGTH)).candidate).to.not.equal(undefined)
      expect(() => decodeSignal(candidate(field, MAX_CANDIDATE_LENGTH + 1))).to.throw(InvalidCallMessageError, /candidate/)
    }
  })
})
