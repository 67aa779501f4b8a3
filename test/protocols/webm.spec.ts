/**
 * The one EBML reader (protocols/webm/ebml.ts), the Duration patch a browser recording gets (duration.ts) and the
 * finishing pass the command-line recorder's files get (finish.ts), on bytes built in memory: fixed vectors from the
 * EBML spec, heads laid out as MediaRecorder and werift write them, truncated input, and garbage. Whatever the bytes,
 * the result is a value or a WebmFormatError, never another exception.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { setWebmDuration, webmDuration } from '../../protocols/webm/duration.ts'
import { children, concat, encodeElement, encodeFloat64, encodeId, encodeSize, encodeSize8, encodeUint, ID_CLUSTER, ID_CUES, ID_DURATION, ID_EBML, ID_INFO, ID_PIXEL_HEIGHT, ID_PIXEL_WIDTH, ID_SEEK_HEAD, ID_SEGMENT, ID_SIMPLE_BLOCK, ID_TIMECODE, ID_TIMECODE_SCALE, ID_TRACK_ENTRY, ID_TRACK_NUMBER, ID_TRACK_TYPE, ID_TRACKS, ID_VIDEO, peekHeader, readFloat, readHeader, readId, readSize, readUint, UNKNOWN_SIZE, WebmFormatError } from '../../protocols/webm/ebml.ts'
import { memorySource, planFinish } from '../../protocols/webm/finish.ts'
import { rejection } from '../helpers/assert.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)

/** The EBML header of a WebM file. */
function ebmlHeader (): Uint8Array {
  return encodeElement(ID_EBML, [encodeElement(0x4286, encodeUint(1)), encodeElement(0x4282, utf8('webm')), encodeElement(0x4287, encodeUint(4))])
}

/** Info with a TimecodeScale (and a Duration, if given, in ticks). */
function info (scale: number, duration?: number): Uint8Array {
  return encodeElement(ID_INFO, [encodeElement(ID_TIMECODE_SCALE, encodeUint(scale)), encodeElement(0x4D80, utf8('Chrome')),
    ...(duration != null ? [encodeElement(ID_DURATION, encodeFloat64(duration))] : [])])
}

/** Tracks: 1 audio (Opus), 2 video (VP8) with a 2-byte picture size. */
function tracks (): Uint8Array {
  const px = (id: number, n: number): Uint8Array => concat([encodeId(id), encodeSize(2), bytes(n >> 8, n & 0xFF)])
  return encodeElement(ID_TRACKS, [
    encodeElement(ID_TRACK_ENTRY, [encodeElement(ID_TRACK_NUMBER, encodeUint(1)), encodeElement(ID_TRACK_TYPE, encodeUint(2)), encodeElement(0x86, utf8('A_OPUS'))]),
    encodeElement(ID_TRACK_ENTRY, [encodeElement(ID_TRACK_NUMBER, encodeUint(2)), encodeElement(ID_TRACK_TYPE, encodeUint(1)), encodeElement(0x86, utf8('V_VP8')),
      encodeElement(ID_VIDEO, [px(ID_PIXEL_WIDTH, 640), px(ID_PIXEL_HEIGHT, 360)])])
  ])
}

function simpleBlock (track: number, rel: number, payload = 40): Uint8Array {
  return encodeElement(ID_SIMPLE_BLOCK, [encodeSize(track), bytes((rel >> 8) & 0xFF, rel & 0xFF, 0x80), new Uint8Array(payload).fill(0x55)])
}

/** A Cluster at `time` with an audio and a video block; unknown size as MediaRecorder and werift write it. */
function cluster (time: number, size: 'unknown' | 'min' = 'unknown'): Uint8Array {
  return encodeElement(ID_CLUSTER, [encodeElement(ID_TIMECODE, encodeUint(time)), simpleBlock(1, 0), simpleBlock(2, 20, 300)], size === 'unknown' ? 'unknown' : 'min')
}

/** The first bytes of a MediaRecorder file: live Segment, Info without Duration, Tracks, a Cluster. */
function mediaRecorderHead (scale = 1_000_000): Uint8Array {
  return concat([ebmlHeader(), encodeId(ID_SEGMENT), UNKNOWN_SIZE, info(scale), tracks(), cluster(0)])
}

/** Only WebmFormatError may escape `fn`. */
function valueOrFormatError (fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof WebmFormatError)) { throw err }
  }
}

describe('webm: the EBML reader', () => {
  it('reads element IDs with their length marker, as the spec writes them', () => {
    expect(readId(bytes(0x1A, 0x45, 0xDF, 0xA3), 0)).to.deep.equal({ value: ID_EBML, length: 4, unknown: false })
    expect(readId(bytes(0xA3), 0)).to.deep.equal({ value: 0xA3, length: 1, unknown: false })
    expect(readId(bytes(0x00, 0x2A, 0xD7, 0xB1), 1)).to.deep.equal({ value: ID_TIMECODE_SCALE, length: 3, unknown: false })
    for (const bad of [bytes(0x00), bytes(0x08, 0, 0, 0, 0), bytes(0x1A, 0x45), bytes()]) {
      expect(() => readId(bad, 0), String(bad)).to.throw(WebmFormatError)
    }
  })

  it('reads sizes, and all ones as unknown', () => {
    expect(readSize(bytes(0x81), 0)).to.deep.equal({ value: 1, length: 1, unknown: false })
    expect(readSize(bytes(0x40, 0x02), 0)).to.deep.equal({ value: 2, length: 2, unknown: false })
    expect(readSize(bytes(0x01, 0, 0, 0, 0, 0, 0x01, 0x00), 0)).to.deep.equal({ value: 256, length: 8, unknown: false })
    expect(readSize(bytes(0xFF), 0).unknown).to.equal(true)
    expect(readSize(bytes(0x7F, 0xFF), 0).unknown).to.equal(true)
    expect(readSize(UNKNOWN_SIZE, 0).unknown).to.equal(true)
    expect(readSize(bytes(0x7F, 0xFE), 0)).to.deep.equal({ value: 0x3FFE, length: 2, unknown: false })
    expect(() => readSize(bytes(0x00, 0xFF), 0)).to.throw(WebmFormatError)
    expect(() => readSize(bytes(0x01, 0xFF), 0)).to.throw(WebmFormatError) // 8 bytes announced, 2 there
  })

  it('writes sizes that read back, in the fewest bytes or in eight', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 53 - 2 }), n => {
      const min = encodeSize(n)
      expect(readSize(min, 0)).to.deep.equal({ value: n, length: min.length, unknown: false })
      if (n < 2 ** 56 - 1) { expect(readSize(encodeSize8(n), 0)).to.deep.equal({ value: n, length: 8, unknown: false }) }
    }))
    expect(encodeSize(126)).to.deep.equal(bytes(0xFE))
    expect(encodeSize(127)).to.deep.equal(bytes(0x40, 0x7F)) // 0xFF would mean unknown
  })

  it('reads a header only when all of it is there, and unsigned and float values', () => {
    const el = encodeElement(ID_TIMECODE_SCALE, encodeUint(1_000_000))
    expect(readHeader(el, 0)).to.deep.equal({ id: ID_TIMECODE_SCALE, start: 0, dataStart: 4, size: 3, sizeLength: 1 })
    for (let cut = 0; cut < 4; cut++) {
      expect(peekHeader(el.subarray(0, cut), 0)).to.equal(undefined)
      expect(() => readHeader(el.subarray(0, cut), 0)).to.throw(WebmFormatError)
    }
    expect(peekHeader(concat([encodeId(ID_CLUSTER), UNKNOWN_SIZE]), 0)?.size).to.equal(undefined)
    expect(readUint(el, 4, 3)).to.equal(1_000_000)
    expect(readUint(el, 4, 0)).to.equal(0)
    expect(() => readUint(el, 4, 4)).to.throw(WebmFormatError)
    expect(() => readUint(new Uint8Array(9), 0, 9)).to.throw(WebmFormatError)
    expect(readFloat(encodeFloat64(1234.5), 0, 8)).to.equal(1234.5)
    expect(readFloat(bytes(0x44, 0x9A, 0x52, 0x2B), 0, 4)).to.be.closeTo(1234.5678, 0.0001)
    expect(() => readFloat(new Uint8Array(3), 0, 3)).to.throw(WebmFormatError)
  })

  it('walks the children of a master element, and refuses one that runs past its parent', () => {
    const trk = tracks()
    const h = readHeader(trk, 0)
    expect([...children(trk, h.dataStart, trk.length)].map(c => c.id)).to.deep.equal([ID_TRACK_ENTRY, ID_TRACK_ENTRY])
    expect(() => [...children(trk, h.dataStart, trk.length - 1)]).to.throw(WebmFormatError)
    expect(() => [...children(concat([encodeId(ID_CLUSTER), UNKNOWN_SIZE]), 0, 9)]).to.throw(WebmFormatError)
  })

  it('any bytes at any offset: a value or WebmFormatError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.nat(30), fc.nat(9), (buf, pos, n) => {
      valueOrFormatError(() => readId(buf, pos))
      valueOrFormatError(() => readSize(buf, pos))
      valueOrFormatError(() => peekHeader(buf, pos))
      valueOrFormatError(() => readUint(buf, pos, n))
      valueOrFormatError(() => readFloat(buf, pos, n))
      valueOrFormatError(() => [...children(buf, pos, buf.length)])
    }), { numRuns: 2_000 })
  })
})

describe('webm: the Duration of a MediaRecorder file', () => {
  it('writes the Duration into a head without one, and leaves everything after the Info as it was', () => {
    const head = mediaRecorderHead()
    expect(webmDuration(head)).to.equal(undefined)
    const patched = setWebmDuration(head, 12_345.5)
    expect(webmDuration(patched)).to.equal(12_345.5)
    const infoEnd = (b: Uint8Array): number => {
      const segment = readHeader(b, readHeader(b, 0).dataStart + readHeader(b, 0).size!)
      const i = readHeader(b, segment.dataStart)
      return i.dataStart + i.size!
    }
    expect(patched.subarray(infoEnd(patched))).to.deep.equal(head.subarray(infoEnd(head)))
    // replaced, not added
    const again = setWebmDuration(patched, 99_000)
    expect(webmDuration(again)).to.equal(99_000)
    expect(again.length).to.equal(patched.length)
  })

  it('counts the Duration in TimecodeScale units', () => {
    const head = mediaRecorderHead(1_000) // µs ticks
    const patched = setWebmDuration(head, 2_500)
    expect(webmDuration(patched)).to.be.closeTo(2_500, 1e-9)
    // on the wire: 2 500 000 ticks of 1 µs
    const segment = readHeader(patched, ebmlHeader().length)
    const inf = readHeader(patched, segment.dataStart)
    const d = [...children(patched, inf.dataStart, inf.dataStart + inf.size!)].find(c => c.id === ID_DURATION)!
    expect(readFloat(patched, d.dataStart, d.size!)).to.equal(2_500_000)
  })

  it('grows a Segment of known size by what the Info grew, when its size has 8 bytes', () => {
    const body = concat([info(1_000_000), tracks(), cluster(0, 'min')])
    const file = concat([ebmlHeader(), encodeElement(ID_SEGMENT, body, 'eight')])
    const patched = setWebmDuration(file, 1_000)
    const segment = readHeader(patched, readHeader(patched, 0).dataStart + readHeader(patched, 0).size!)
    expect(segment.dataStart + segment.size!).to.equal(patched.length)
    const small = concat([ebmlHeader(), encodeElement(ID_SEGMENT, body)])
    expect(() => setWebmDuration(small, 1_000)).to.throw(WebmFormatError, /grow/)
  })

  it('refuses what it cannot patch: no EBML header, a SeekHead, no Info before the first Cluster, a cut-off Info', () => {
    const head = mediaRecorderHead()
    const infoAt = ebmlHeader().length + 12
    const cases: Array<[string, Uint8Array]> = [
      ['garbage', bytes(1, 2, 3, 4)],
      ['empty', bytes()],
      ['no Segment', concat([ebmlHeader(), info(1_000_000)])],
      ['SeekHead', concat([ebmlHeader(), encodeId(ID_SEGMENT), UNKNOWN_SIZE, encodeElement(ID_SEEK_HEAD, bytes()), info(1_000_000)])],
      ['Cluster first', concat([ebmlHeader(), encodeId(ID_SEGMENT), UNKNOWN_SIZE, cluster(0), info(1_000_000)])],
      ['Info cut off', head.subarray(0, infoAt + 6)],
      ['TimecodeScale 0', concat([ebmlHeader(), encodeId(ID_SEGMENT), UNKNOWN_SIZE, info(0)])]
    ]
    for (const [what, b] of cases) { expect(() => setWebmDuration(b, 1), what).to.throw(WebmFormatError) }
  })

  it('any bytes, any truncation or corruption of a head: a value or WebmFormatError', () => {
    const head = setWebmDuration(mediaRecorderHead(), 5_000)
    const mutated = fc.tuple(fc.nat(head.length), fc.array(fc.tuple(fc.nat(head.length - 1), fc.nat(255)), { maxLength: 4 }))
      .map(([cut, flips]) => {
        const b = head.slice(0, cut)
        for (const [at, v] of flips) { if (at < b.length) { b[at] = v } }
        return b
      })
    fc.assert(fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 200 })), fc.double({ min: 0, max: 1e9, noNaN: true }), (b, ms) => {
      valueOrFormatError(() => setWebmDuration(b, ms))
      valueOrFormatError(() => webmDuration(b))
    }), { numRuns: 3_000 })
  })
})

/** A file as werift writes it: Segment size 3 bytes too long, Clusters of unknown size, Cues at the end. */
function weriftFile (clusters: number): Uint8Array {
  const body = concat([info(1_000_000), tracks(), ...Array.from({ length: clusters }, (_, i) => cluster(i * 1000)), encodeElement(ID_CUES, new Uint8Array(20))])
  return concat([ebmlHeader(), encodeId(ID_SEGMENT), encodeSize8(body.length + 3), body])
}

function apply (b: Uint8Array, patches: Array<{ at: number, bytes: Uint8Array }>): Uint8Array {
  const out = b.slice()
  for (const p of patches) { out.set(p.bytes, p.at) }
  return out
}

describe('webm: finishing a file werift wrote', () => {
  it('gives the Segment and every Cluster their true sizes and the video track its picture size, in place', async () => {
    const file = weriftFile(3)
    const plan = await planFinish(memorySource(file), { width: 1280, height: 720 })
    expect(plan.clusters).to.equal(3)
    const done = apply(file, plan.patches)
    expect(done.length).to.equal(file.length)
    const segment = readHeader(done, ebmlHeader().length)
    expect(segment.dataStart + segment.size!).to.equal(done.length)
    const top = [...children(done, segment.dataStart, done.length)]
    expect(top.map(c => c.id)).to.deep.equal([ID_INFO, ID_TRACKS, ID_CLUSTER, ID_CLUSTER, ID_CLUSTER, ID_CUES])
    expect(top.filter(c => c.id === ID_CLUSTER).map(c => c.size)).to.deep.equal([cluster(0).length - 12, cluster(1000).length - 12, cluster(2000).length - 12])
    const pixels = [...children(done, top[1].dataStart, top[1].end)].flatMap(e => [...children(done, e.dataStart, e.end)])
      .filter(c => c.id === ID_VIDEO).flatMap(v => [...children(done, v.dataStart, v.end)]).map(c => readUint(done, c.dataStart, c.size!))
    expect(pixels).to.deep.equal([1280, 720])
    // finishing again changes nothing
    const second = await planFinish(memorySource(done), { width: 1280, height: 720 })
    expect(second.clusters).to.equal(0)
    expect(apply(done, second.patches)).to.deep.equal(done)
  })

  it('a picture size that does not fit its element is left alone', async () => {
    const plan = await planFinish(memorySource(weriftFile(1)), { width: 70_000, height: 720 })
    const done = apply(weriftFile(1), plan.patches)
    const h = readHeader(done, ebmlHeader().length)
    const trk = [...children(done, h.dataStart, done.length)].find(c => c.id === ID_TRACKS)!
    const px = [...children(done, trk.dataStart, trk.end)].flatMap(e => [...children(done, e.dataStart, e.end)])
      .filter(c => c.id === ID_VIDEO).flatMap(v => [...children(done, v.dataStart, v.end)]).map(c => readUint(done, c.dataStart, c.size!))
    expect(px).to.deep.equal([640, 720])
  })

  it('refuses what werift did not write, with WebmFormatError', async () => {
    const cases: Array<[string, Uint8Array]> = [
      ['garbage', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xFF)],
      ['empty', bytes()],
      ['a Segment size of 1 byte', concat([ebmlHeader(), encodeElement(ID_SEGMENT, info(1_000_000))])],
      ['an unknown-sized Tracks', concat([ebmlHeader(), encodeId(ID_SEGMENT), encodeSize8(0), encodeId(ID_TRACKS), UNKNOWN_SIZE])],
      ['a 1-byte unknown Cluster size', concat([ebmlHeader(), encodeId(ID_SEGMENT), encodeSize8(0), encodeId(ID_CLUSTER), bytes(0xFF)])]
    ]
    for (const [what, b] of cases) { expect((await rejection(planFinish(memorySource(b)))).name, what).to.equal('WebmFormatError') }
  })

  it('a TrackEntry that claims to run past its Tracks (and the file) gets no picture-size patch outside the file', async () => {
    // found by `npm run fuzz` (target webm-finish): the TrackEntry claims 16 bytes where its Tracks has 14 left, and
    // its PixelHeight's 2 bytes lie past the end of the file; the old plan wrote them there
    const b = Uint8Array.from(Buffer.from('1a45dfa38f428681014282847765626d428781041853806701ffffffffffffff1549a966872ad7b1830f42401654ae6b98ae86d78101838102ae90d78102838101e088b0820280ba82', 'hex'))
    const plan = await planFinish(memorySource(b), { width: 1280, height: 720 })
    const outside = plan.patches.filter(p => p.at + p.bytes.length > b.length)
    // eslint-disable-next-line no-console
    console.log(`webm-finish fuzz input: ${plan.patches.length} patch(es), ${outside.length} outside the ${b.length}-byte file`)
    expect(outside).to.deep.equal([])
  })

  it('any bytes, any truncation or corruption of a werift file: a plan or WebmFormatError', async () => {
    const file = weriftFile(3)
    const mutated = fc.tuple(fc.nat(file.length), fc.array(fc.tuple(fc.nat(file.length - 1), fc.nat(255)), { maxLength: 4 }))
      .map(([cut, flips]) => {
        const b = file.slice(0, cut)
        for (const [at, v] of flips) { if (at < b.length) { b[at] = v } }
        return b
      })
    await fc.assert(fc.asyncProperty(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), async b => {
      const plan = await planFinish(memorySource(b), { width: 1280, height: 720 }).catch((err: Error) => {
        if (!(err instanceof WebmFormatError)) { throw err }
        return undefined
      })
      // a plan only ever writes inside the file
      for (const p of plan?.patches ?? []) { expect(p.at + p.bytes.length).to.be.at.most(b.length) }
    }), { numRuns: 2_000 })
  })
})
