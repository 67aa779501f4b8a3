/** Small WebM files built with protocols/webm/ebml.ts: the seeds of the WebM targets. */
import { concat, encodeElement, encodeFloat64, encodeId, encodeSize, encodeUint, ID_CLUSTER, ID_CUES, ID_DURATION, ID_EBML, ID_INFO, ID_PIXEL_HEIGHT, ID_PIXEL_WIDTH, ID_SEGMENT, ID_SIMPLE_BLOCK, ID_TIMECODE, ID_TIMECODE_SCALE, ID_TRACK_ENTRY, ID_TRACK_NUMBER, ID_TRACK_TYPE, ID_TRACKS, ID_VIDEO, UNKNOWN_SIZE } from '../../protocols/webm/ebml.ts'
import { bytesOf } from './common.ts'

const ebmlHeader = (): Uint8Array => encodeElement(ID_EBML, [encodeElement(0x4286, encodeUint(1)), encodeElement(0x4282, bytesOf('webm')), encodeElement(0x4287, encodeUint(4))])
const info = (duration?: number): Uint8Array => encodeElement(ID_INFO, [encodeElement(ID_TIMECODE_SCALE, encodeUint(1_000_000)), ...(duration != null ? [encodeElement(ID_DURATION, encodeFloat64(duration))] : [])])
const tracks = (): Uint8Array => encodeElement(ID_TRACKS, [
  encodeElement(ID_TRACK_ENTRY, [encodeElement(ID_TRACK_NUMBER, encodeUint(1)), encodeElement(ID_TRACK_TYPE, encodeUint(2))]),
  encodeElement(ID_TRACK_ENTRY, [encodeElement(ID_TRACK_NUMBER, encodeUint(2)), encodeElement(ID_TRACK_TYPE, encodeUint(1)),
    encodeElement(ID_VIDEO, [encodeElement(ID_PIXEL_WIDTH, encodeUint(640)), encodeElement(ID_PIXEL_HEIGHT, encodeUint(360))])])
])
const block = (track: number, rel: number): Uint8Array => encodeElement(ID_SIMPLE_BLOCK, [encodeSize(track), Uint8Array.of((rel >> 8) & 0xFF, rel & 0xFF, 0x80), new Uint8Array(8).fill(0x55)])
const cluster = (time: number, size: 'unknown' | 'min'): Uint8Array => encodeElement(ID_CLUSTER, [encodeElement(ID_TIMECODE, encodeUint(time)), block(1, 0), block(2, 20)], size)

/** A live recording as werift writes it (unknown-sized Segment and Clusters), and a finished one. */
export function webmFiles (): Uint8Array[] {
  const live = concat([ebmlHeader(), encodeId(ID_SEGMENT), UNKNOWN_SIZE, info(), tracks(), cluster(0, 'unknown'), cluster(1000, 'unknown')])
  const done = concat([ebmlHeader(), encodeElement(ID_SEGMENT, [info(2000), tracks(), cluster(0, 'min'), cluster(1000, 'min'), encodeElement(ID_CUES, new Uint8Array(8))], 'eight')])
  return [live, done]
}
