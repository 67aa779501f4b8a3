/**
 * The call protocol's messages off the wire (protocols/call/messages.ts), property-tested with fast-check: any bytes
 * end in a CallHello or a Signal, or in InvalidCallMessageError, never another error; what we encode decodes to the
 * same value; the limits hold.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { MAX_TRACK_LABELS, ROOM_ID_LENGTH } from '../../protocols/call/constants.ts'
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
})
