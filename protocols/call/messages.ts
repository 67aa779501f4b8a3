/**
 * The call protocol's messages as they come off the wire: any bytes end in a CallHello or a Signal within our limits,
 * or in an InvalidCallMessageError. The codecs below are what the streams read and write with.
 */
import { MAX_TRACK_LABELS, ROOM_ID_LENGTH } from './constants.ts'
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
  try {
    return Signal.decode(bytes, { limits: { tracks: MAX_TRACK_LABELS } })
  } catch (err: any) {
    throw new InvalidCallMessageError(`not a Signal: ${err.message}`)
  }
}

export const HelloCodec = { encode: (hello: CallHello) => CallHello.encode(hello), decode: decodeHello }
export const SignalCodec = { encode: (signal: Signal) => Signal.encode(signal), decode: decodeSignal }
