/**
 * Live WebM streams built in memory, laid out as MediaRecorder writes them (a Segment and Clusters of unknown size,
 * SimpleBlocks), with the marks a scanner must find in them: for the specs of protocols/webm/stream.ts and of the
 * browser recorder's chunk intake.
 */
import { concat, encodeElement, encodeId, encodeSize, encodeUint, ID_BLOCK, ID_BLOCK_GROUP, ID_CLUSTER, ID_EBML, ID_INFO, ID_SEGMENT, ID_SIMPLE_BLOCK, ID_TIMECODE, ID_TIMECODE_SCALE, ID_TRACK_ENTRY, ID_TRACK_NUMBER, ID_TRACK_TYPE, ID_TRACKS, UNKNOWN_SIZE } from '../../protocols/webm/ebml.ts'
import type { WebmMark } from '../../protocols/webm/stream.ts'

export const AUDIO = 1
export const VIDEO = 2

export interface Block { track: number, ms: number, group?: boolean }

export function head (scale = 1_000_000): Uint8Array {
  const entry = (n: number, type: number): Uint8Array => encodeElement(ID_TRACK_ENTRY, [encodeElement(ID_TRACK_NUMBER, encodeUint(n)), encodeElement(ID_TRACK_TYPE, encodeUint(type))])
  return concat([
    encodeElement(ID_EBML, encodeElement(0x4282, new TextEncoder().encode('webm'))),
    encodeId(ID_SEGMENT), UNKNOWN_SIZE,
    encodeElement(ID_INFO, encodeElement(ID_TIMECODE_SCALE, encodeUint(scale))),
    encodeElement(ID_TRACKS, [entry(AUDIO, 2), entry(VIDEO, 1)])
  ])
}

export function block (b: Block, rel: number): Uint8Array {
  const body = [encodeSize(b.track), Uint8Array.from([(rel >> 8) & 0xFF, rel & 0xFF, 0x80]), new Uint8Array(b.track === VIDEO ? 120 : 30).fill(0x33)]
  return b.group === true ? encodeElement(ID_BLOCK_GROUP, encodeElement(ID_BLOCK, body)) : encodeElement(ID_SIMPLE_BLOCK, body)
}

/**
 * A live stream of `blocks` (in time order, times in ms with 1 ms ticks unless `scale` says otherwise), a new
 * Cluster every `clusterMs`, and the marks a scanner must find in it.
 */
export function stream (blocks: Block[], options: { clusterMs?: number, known?: boolean, scale?: number } = {}): { bytes: Uint8Array, marks: WebmMark[] } {
  const { clusterMs = 1_000, known = false, scale = 1_000_000 } = options
  const tick = 1_000_000 / scale
  const parts = [head(scale)]
  let offset = parts[0].length
  const marks: WebmMark[] = []
  let i = 0
  while (i < blocks.length) {
    const start = blocks[i].ms
    const inCluster: Block[] = []
    while (i < blocks.length && blocks[i].ms - start < clusterMs) { inCluster.push(blocks[i++]) }
    const timecode = encodeElement(ID_TIMECODE, encodeUint(start * tick))
    const bodies = inCluster.map(b => block(b, (b.ms - start) * tick))
    const el = encodeElement(ID_CLUSTER, [timecode, ...bodies], known ? 'min' : 'unknown')
    const headerLength = el.length - timecode.length - bodies.reduce((n, b) => n + b.length, 0)
    marks.push({ kind: 'cluster', offset, end: offset + headerLength + timecode.length, ms: start, cuttable: true })
    let at = offset + headerLength + timecode.length
    inCluster.forEach((b, k) => {
      marks.push({ kind: 'block', offset: at, end: at + bodies[k].length, ms: b.ms, track: b.track, cuttable: !known })
      at += bodies[k].length
    })
    parts.push(el)
    offset += el.length
  }
  return { bytes: concat(parts), marks }
}

/** Audio every 60 ms from 0, video every `videoMs` from 10, up to `ms`, in time order. */
export function call (ms: number, videoMs = 200): Block[] {
  const out: Block[] = []
  for (let t = 0; t <= ms; t += 10) {
    if (t % 60 === 0) { out.push({ track: AUDIO, ms: t }) }
    if (t % videoMs === 10) { out.push({ track: VIDEO, ms: t }) }
  }
  return out
}
