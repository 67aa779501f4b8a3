/**
 * Reading a live WebM stream in pieces (protocols/webm/stream.ts): where each Cluster and block starts and at what
 * media time, the same whatever the pieces; where to cut the stream at a stop; the last whole block of a recording
 * cut off by a crash. On streams laid out as MediaRecorder writes them, built in memory; truncated and garbage input
 * ends in marks or WebmFormatError, never another exception.
 */
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { lastClusterOffset } from '../../protocols/webm/duration.ts'
import { concat, encodeElement, encodeId, encodeSize, encodeUint, ID_CLUSTER, ID_EBML, ID_INFO, ID_SEGMENT, ID_SIMPLE_BLOCK, ID_TIMECODE, ID_TIMECODE_SCALE, ID_TRACKS, UNKNOWN_SIZE, WebmFormatError } from '../../protocols/webm/ebml.ts'
import { cutAfter, lastBlock, WebmScanner } from '../../protocols/webm/stream.ts'
import { AUDIO, VIDEO, block, call, head, stream } from '../helpers/webm.ts'
import type { WebmMark } from '../../protocols/webm/stream.ts'

/** Push `bytes` in pieces cut at `cuts`. */
function scan (bytes: Uint8Array, cuts: number[] = [], init = {}): { marks: WebmMark[], scanner: WebmScanner } {
  const scanner = new WebmScanner(init)
  const marks: WebmMark[] = []
  let from = 0
  for (const c of [...new Set(cuts.map(c => Math.min(c, bytes.length)))].sort((a, b) => a - b)) {
    scanner.push(bytes.subarray(from, c), marks)
    from = c
  }
  scanner.push(bytes.subarray(from), marks)
  return { marks, scanner }
}

function marksOrFormatError (fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof WebmFormatError)) { throw err }
  }
}

describe('webm: reading a live stream in pieces', () => {
  it('finds every Cluster and block, its offset, media time and track, and the track types', () => {
    const s = stream(call(3_000, 250))
    const { marks, scanner } = scan(s.bytes)
    expect(marks).to.deep.equal(s.marks)
    expect([...scanner.tracks]).to.deep.equal([[AUDIO, 2], [VIDEO, 1]])
    expect(scanner.length).to.equal(s.bytes.length)
  })

  it('reads times in TimecodeScale units, blocks in BlockGroups at the group, and Clusters of known size as not cuttable', () => {
    const scaled = stream(call(1_000), { scale: 100_000 }) // 0.1 ms ticks
    expect(scan(scaled.bytes).marks).to.deep.equal(scaled.marks)
    const groups = stream([{ track: AUDIO, ms: 0 }, { track: VIDEO, ms: 10, group: true }, { track: AUDIO, ms: 60 }])
    expect(scan(groups.bytes).marks).to.deep.equal(groups.marks)
    const known = stream(call(2_000), { known: true })
    expect(scan(known.bytes).marks).to.deep.equal(known.marks)
  })

  it('finds the same marks however the stream is cut into pieces', () => {
    const s = stream(call(2_000, 100))
    fc.assert(fc.property(fc.array(fc.nat(s.bytes.length), { maxLength: 40 }), cuts => {
      expect(scan(s.bytes, cuts).marks).to.deep.equal(s.marks)
    }), { numRuns: 300 })
    // one byte at a time
    expect(scan(s.bytes, Array.from({ length: s.bytes.length }, (_, i) => i)).marks).to.deep.equal(s.marks)
  })

  it('a stream that stops anywhere gives the marks it holds so far, and waits for the rest', () => {
    const s = stream(call(1_500))
    fc.assert(fc.property(fc.nat(s.bytes.length), cut => {
      const marks = scan(s.bytes.subarray(0, cut)).marks
      expect(marks).to.deep.equal(s.marks.slice(0, marks.length))
      // a mark is given once its header and first bytes are there
      for (const m of s.marks.slice(marks.length)) { expect(m.offset + 4).to.be.above(cut - 12) }
    }), { numRuns: 300 })
  })

  it('refuses what is not a live WebM stream, with WebmFormatError', () => {
    const cases: Array<[string, Uint8Array]> = [
      ['no EBML header', encodeElement(ID_SEGMENT, new Uint8Array(4))],
      ['no Segment', concat([encodeElement(ID_EBML, new Uint8Array(2)), encodeElement(ID_INFO, new Uint8Array(2))])],
      ['an unknown-sized Tracks', concat([head(), encodeId(ID_TRACKS), UNKNOWN_SIZE])],
      ['a block before a Timecode', concat([head(), encodeId(ID_CLUSTER), UNKNOWN_SIZE, block({ track: AUDIO, ms: 0 }, 0)])],
      ['a block of one byte', concat([head(), encodeId(ID_CLUSTER), UNKNOWN_SIZE, encodeElement(ID_TIMECODE, encodeUint(0)), encodeElement(ID_SIMPLE_BLOCK, Uint8Array.from([0x81]))])],
      ['TimecodeScale 0', concat([encodeElement(ID_EBML, new Uint8Array(0)), encodeId(ID_SEGMENT), UNKNOWN_SIZE, encodeElement(ID_INFO, encodeElement(ID_TIMECODE_SCALE, encodeUint(0)))])],
      ['an Info too large to read', concat([encodeElement(ID_EBML, new Uint8Array(0)), encodeId(ID_SEGMENT), UNKNOWN_SIZE, encodeId(ID_INFO), encodeSize(2 ** 30)])]
    ]
    for (const [what, b] of cases) { expect(() => new WebmScanner().push(b), what).to.throw(WebmFormatError) }
  })

  it('any bytes, any corruption, any pieces: marks or WebmFormatError', () => {
    const s = stream(call(1_000, 100))
    const mutated = fc.tuple(fc.nat(s.bytes.length), fc.array(fc.tuple(fc.nat(s.bytes.length - 1), fc.nat(255)), { maxLength: 5 }))
      .map(([cut, flips]) => {
        const b = s.bytes.slice(0, cut)
        for (const [at, v] of flips) { if (at < b.length) { b[at] = v } }
        return b
      })
    fc.assert(fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), fc.array(fc.nat(2_000), { maxLength: 8 }), fc.boolean(), (b, cuts, fromCluster) => {
      marksOrFormatError(() => scan(b, cuts, { fromCluster }))
    }), { numRuns: 3_000 })
  })
})

describe('webm: cutting a stream at the stop', () => {
  const s = stream(call(3_000, 500))
  const kept = (cut: { offset: number }): WebmMark[] => scan(s.bytes.subarray(0, cut.offset)).marks

  it('keeps everything up to the stop and the first video frame shortly after it, nothing later', () => {
    // video at 10, 510, 1010, 1510 …: the stop at 1234 keeps the frame at 1510 and the audio before it
    const cut = cutAfter(s.marks, 1_234, { videoTrack: VIDEO, slackMs: 500 })!
    const marks = kept(cut)
    const blocks = marks.filter(m => m.kind === 'block')
    expect(blocks.at(-1)).to.include({ track: VIDEO, ms: 1_510 })
    expect(blocks.every(m => m.ms <= 1_510)).to.equal(true)
    expect(cut.lastMs).to.equal(1_510)
    expect(s.marks.filter(m => m.kind === 'block' && m.ms <= 1_510)).to.deep.equal(blocks)
  })

  it('without a video frame within the slack, ends at the stop; a Cluster left without blocks goes too', () => {
    const cut = cutAfter(s.marks, 1_234, { videoTrack: VIDEO, slackMs: 200 })!
    expect(cut.lastMs).to.equal(1_200)
    expect(kept(cut).filter(m => m.kind === 'block').every(m => m.ms <= 1_234)).to.equal(true)
    // Clusters start at 0, 1010, 2010: a stop at 2009 cuts at the start of the one at 2010
    const clusters = s.marks.filter(m => m.kind === 'cluster')
    expect(clusters.map(m => m.ms)).to.deep.equal([0, 1_010, 2_010])
    expect(cutAfter(s.marks, 2_009)!.offset).to.equal(clusters[2].offset)
    // a Cluster whose Timecode is before the stop but all of whose blocks are after it goes with them
    const marks: WebmMark[] = [
      { kind: 'cluster', offset: 100, end: 120, ms: 1_000, cuttable: true },
      { kind: 'block', offset: 120, end: 160, ms: 1_050, track: AUDIO, cuttable: true }
    ]
    expect(cutAfter(marks, 1_020)).to.deep.equal({ offset: 100, lastMs: -Infinity })
  })

  it('does not cut before `from`, nor where nothing comes after the stop, nor inside Clusters of known size', () => {
    const from = s.marks.find(m => m.ms >= 2_000)!.offset
    expect(cutAfter(s.marks, 100, { from })!.offset).to.be.at.least(from)
    expect(cutAfter(s.marks, 5_000)).to.equal(undefined)
    const known = stream(call(3_000, 500), { known: true })
    // only at a Cluster's start: the one after the Cluster the stop falls in
    expect(cutAfter(known.marks, 1_234)!.offset).to.equal(known.marks.find(m => m.kind === 'cluster' && m.ms === 2_010)!.offset)
  })

  it('any stop: the stream cut there reads cleanly, holds every block up to the stop and none past the slack', () => {
    fc.assert(fc.property(fc.integer({ min: -100, max: 3_200 }), fc.integer({ min: 0, max: 800 }), (stop, slack) => {
      const cut = cutAfter(s.marks, stop, { videoTrack: VIDEO, slackMs: slack })
      if (cut == null) {
        expect(s.marks.every(m => m.ms <= stop + slack)).to.equal(true)
        return
      }
      const blocks = kept(cut).filter(m => m.kind === 'block')
      expect(blocks).to.deep.equal(s.marks.filter(m => m.kind === 'block' && m.offset < cut.offset))
      expect(s.marks.filter(m => m.kind === 'block' && m.ms <= stop).every(m => m.offset < cut.offset)).to.equal(true)
      expect(blocks.every(m => m.ms < stop + slack || m.ms <= stop)).to.equal(true)
    }), { numRuns: 500 })
  })
})

describe('webm: the end of a recording cut off by a crash', () => {
  const s = stream(call(4_000, 400))

  it('finds the last Cluster, and in it the last whole block and where it ends', () => {
    const at = lastClusterOffset(s.bytes)
    expect(at).to.equal(s.marks.filter(m => m.kind === 'cluster').at(-1)!.offset)
    const last = s.marks.at(-1)!
    expect(lastBlock(s.bytes.subarray(at))).to.deep.equal({ ms: last.ms, end: last.end - at })
    expect(lastBlock(s.bytes.subarray(at), VIDEO)!.ms).to.equal(s.marks.filter(m => m.track === VIDEO).at(-1)!.ms)
    // cut in the middle of the last block: the one before is the last whole one
    const cut = s.bytes.subarray(at, last.end - 3)
    const before = s.marks.at(-2)!
    expect(lastBlock(cut)).to.deep.equal({ ms: before.ms, end: before.end - at })
  })

  it('any bytes: a block or nothing, never an exception', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(s.bytes.length), (garbage, cut) => {
      const tail = concat([s.bytes.subarray(lastClusterOffset(s.bytes), cut), garbage])
      lastBlock(tail)
      lastBlock(garbage, VIDEO)
      expect(lastClusterOffset(garbage)).to.be.at.least(-1)
    }), { numRuns: 1_000 })
  })
})
