/**
 * The call protocol's messages as they come off the wire: any bytes end in a CallHello or a Signal within our limits,
 * or in an InvalidCallMessageError. The codecs below are what the streams read and write with.
 */
import { MAX_CANDIDATE_LENGTH, MAX_M_LINES, MAX_REMOTE_CANDIDATES, MAX_SDP_SIZE, MAX_TRACK_LABELS, ROOM_ID_LENGTH } from './constants.ts'
import { InvalidCallMessageError } from './errors.ts'
import { CallHello, Signal } from './pb/call.ts'
import type { Uint8ArrayList } from 'uint8arraylist'

export function decodeHello (bytes: Uint8Array | Uint8ArrayList): CallHello {
  let hello: CallHello
  try {
    hello = CallHello.decode(bytes)
  } catch (err: any) {
    throw new InvalidCallMessageError(`not a CallHello: ${err.message}`)
  }
  if (hello.roomId.byteLength !== ROOM_ID_LENGTH) { throw new InvalidCallMessageError(`a room id is ${ROOM_ID_LENGTH} bytes, not ${hello.roomId.byteLength}`) }
  return hello
}

export function decodeSignal (bytes: Uint8Array | Uint8ArrayList): Signal {
  let signal: Signal
  try {
    signal = Signal.decode(bytes, { limits: { tracks: MAX_TRACK_LABELS } })
  } catch (err: any) {
    throw new InvalidCallMessageError(`not a Signal: ${err.message}`)
  }
  if (signal.description != null) { checkSdp(signal.description.sdp) }
  const c = signal.candidate
  if (c != null && Math.max(c.candidate.length, c.sdpMid?.length ?? 0, c.usernameFragment?.length ?? 0) > MAX_CANDIDATE_LENGTH) {
    throw new InvalidCallMessageError(`a candidate's fields are at most ${MAX_CANDIDATE_LENGTH} characters`)
  }
  return signal
}

/** A description within the caps: MAX_SDP_SIZE bytes, MAX_M_LINES m-lines, MAX_REMOTE_CANDIDATES candidates. */
function checkSdp (sdp: string): void {
  // an SDP is ASCII: its length is its size on the wire
  if (sdp.length > MAX_SDP_SIZE) { throw new InvalidCallMessageError(`a description is at most ${MAX_SDP_SIZE} bytes, not ${sdp.length}`) }
  const mLines = count(sdp, /^m=/gm)
  if (mLines > MAX_M_LINES) { throw new InvalidCallMessageError(`a description has at most ${MAX_M_LINES} m-lines, not ${mLines}`) }
  const candidates = count(sdp, /^a=candidate:/gm)
  if (candidates > MAX_REMOTE_CANDIDATES) { throw new InvalidCallMessageError(`a description has at most ${MAX_REMOTE_CANDIDATES} candidates, not ${candidates}`) }
}

function count (text: string, re: RegExp): number {
  let n = 0
  while (re.exec(text) != null) { n++ }
  return n
}

export const HelloCodec = { encode: (hello: CallHello) => CallHello.encode(hello), decode: decodeHello }
export const SignalCodec = { encode: (signal: Signal) => Signal.encode(signal), decode: decodeSignal }
