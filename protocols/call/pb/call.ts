import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CallHello {
  roomId: Uint8Array<ArrayBuffer>
}

export namespace CallHello {
  let _codec: Codec<CallHello>

  export const codec = (): Codec<CallHello> => {
    if (_codec == null) {
      _codec = message<CallHello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.roomId != null && obj.roomId.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.roomId)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          roomId: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.roomId = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.roomId`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CallHelloRoomIdFieldEvent {
    field: '$.roomId'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CallHello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CallHello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CallHello>): CallHello {
    return decodeMessage(buf, CallHello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CallHello>): Generator<CallHelloRoomIdFieldEvent> {
    return streamMessage(buf, CallHello.codec(), opts)
  }
}

export interface Signal {
  description?: Description
  candidate?: Candidate
  state?: MediaState
  tracks: TrackInfo[]
  bye?: boolean
}

export namespace Signal {
  let _codec: Codec<Signal>

  export const codec = (): Codec<Signal> => {
    if (_codec == null) {
      _codec = message<Signal>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.description != null) {
          w.uint32(10)
          Description.codec().encode(obj.description, w)
        }

        if (obj.candidate != null) {
          w.uint32(18)
          Candidate.codec().encode(obj.candidate, w)
        }

        if (obj.state != null) {
          w.uint32(26)
          MediaState.codec().encode(obj.state, w)
        }

        if (obj.tracks != null && obj.tracks.length > 0) {
          for (const value of obj.tracks) {
            w.uint32(34)
            TrackInfo.codec().encode(value, w)
          }
        }

        if (obj.bye != null) {
          w.uint32(40)
          w.bool(obj.bye)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          tracks: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.description = Description.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.description
              })
              break
            }
            case 2: {
              obj.candidate = Candidate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.candidate
              })
              break
            }
            case 3: {
              obj.state = MediaState.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.state
              })
              break
            }
            case 4: {
              if (opts.limits?.tracks != null && obj.tracks.length === opts.limits.tracks) {
                throw new MaxLengthError('Decode error - repeated field "tracks" had too many elements')
              }

              obj.tracks.push(TrackInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.tracks$
              }))
              break
            }
            case 5: {
              obj.bye = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          tracks: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield * Description.codec().stream(reader, reader.uint32(), `${prefix}.description`, {
                limits: opts.limits?.description
              })

              break
            }
            case 2: {
              yield * Candidate.codec().stream(reader, reader.uint32(), `${prefix}.candidate`, {
                limits: opts.limits?.candidate
              })

              break
            }
            case 3: {
              yield * MediaState.codec().stream(reader, reader.uint32(), `${prefix}.state`, {
                limits: opts.limits?.state
              })

              break
            }
            case 4: {
              if (opts.limits?.tracks != null && obj.tracks === opts.limits.tracks) {
                throw new MaxLengthError('Streaming decode error - repeated field "tracks" had too many elements')
              }

              for (const evt of TrackInfo.codec().stream(reader, reader.uint32(), `${prefix}.tracks[]`, {
                limits: opts.limits?.tracks$
              })) {
                yield {
                  ...evt,
                  index: obj.tracks
                }
              }

              obj.tracks++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.bye`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SignalDescriptionTypeFieldEvent {
    field: '$.description.type'
    value: string
  }

  export interface SignalDescriptionSdpFieldEvent {
    field: '$.description.sdp'
    value: string
  }

  export interface SignalCandidateCandidateFieldEvent {
    field: '$.candidate.candidate'
    value: string
  }

  export interface SignalCandidateSdpMidFieldEvent {
    field: '$.candidate.sdpMid'
    value: string
  }

  export interface SignalCandidateSdpMLineIndexFieldEvent {
    field: '$.candidate.sdpMLineIndex'
    value: number
  }

  export interface SignalCandidateUsernameFragmentFieldEvent {
    field: '$.candidate.usernameFragment'
    value: string
  }

  export interface SignalStateMicFieldEvent {
    field: '$.state.mic'
    value: boolean
  }

  export interface SignalStateCameraFieldEvent {
    field: '$.state.camera'
    value: boolean
  }

  export interface SignalStateScreenFieldEvent {
    field: '$.state.screen'
    value: boolean
  }

  export interface SignalTracksStreamIdFieldEvent {
    field: '$.tracks[].streamId'
    value: string
    index: number
  }

  export interface SignalTracksKindFieldEvent {
    field: '$.tracks[].kind'
    value: string
    index: number
  }

  export interface SignalByeFieldEvent {
    field: '$.bye'
    value: boolean
  }

  export function encode (obj: Partial<Signal>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Signal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Signal>): Signal {
    return decodeMessage(buf, Signal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Signal>): Generator<SignalDescriptionTypeFieldEvent | SignalDescriptionSdpFieldEvent | SignalCandidateCandidateFieldEvent | SignalCandidateSdpMidFieldEvent | SignalCandidateSdpMLineIndexFieldEvent | SignalCandidateUsernameFragmentFieldEvent | SignalStateMicFieldEvent | SignalStateCameraFieldEvent | SignalStateScreenFieldEvent | SignalTracksStreamIdFieldEvent | SignalTracksKindFieldEvent | SignalByeFieldEvent> {
    return streamMessage(buf, Signal.codec(), opts)
  }
}

export interface Description {
  type: string
  sdp: string
}

export namespace Description {
  let _codec: Codec<Description>

  export const codec = (): Codec<Description> => {
    if (_codec == null) {
      _codec = message<Description>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.type != null && obj.type !== '')) {
          w.uint32(10)
          w.string(obj.type)
        }

        if ((obj.sdp != null && obj.sdp !== '')) {
          w.uint32(18)
          w.string(obj.sdp)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: '',
          sdp: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = reader.string()
              break
            }
            case 2: {
              obj.sdp = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.sdp`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DescriptionTypeFieldEvent {
    field: '$.type'
    value: string
  }

  export interface DescriptionSdpFieldEvent {
    field: '$.sdp'
    value: string
  }

  export function encode (obj: Partial<Description>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Description.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Description>): Description {
    return decodeMessage(buf, Description.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Description>): Generator<DescriptionTypeFieldEvent | DescriptionSdpFieldEvent> {
    return streamMessage(buf, Description.codec(), opts)
  }
}

export interface Candidate {
  candidate: string
  sdpMid?: string
  sdpMLineIndex?: number
  usernameFragment?: string
}

export namespace Candidate {
  let _codec: Codec<Candidate>

  export const codec = (): Codec<Candidate> => {
    if (_codec == null) {
      _codec = message<Candidate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.candidate != null && obj.candidate !== '')) {
          w.uint32(10)
          w.string(obj.candidate)
        }

        if (obj.sdpMid != null) {
          w.uint32(18)
          w.string(obj.sdpMid)
        }

        if (obj.sdpMLineIndex != null) {
          w.uint32(24)
          w.uint32(obj.sdpMLineIndex)
        }

        if (obj.usernameFragment != null) {
          w.uint32(34)
          w.string(obj.usernameFragment)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          candidate: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.candidate = reader.string()
              break
            }
            case 2: {
              obj.sdpMid = reader.string()
              break
            }
            case 3: {
              obj.sdpMLineIndex = reader.uint32()
              break
            }
            case 4: {
              obj.usernameFragment = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.candidate`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.sdpMid`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.sdpMLineIndex`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.usernameFragment`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CandidateCandidateFieldEvent {
    field: '$.candidate'
    value: string
  }

  export interface CandidateSdpMidFieldEvent {
    field: '$.sdpMid'
    value: string
  }

  export interface CandidateSdpMLineIndexFieldEvent {
    field: '$.sdpMLineIndex'
    value: number
  }

  export interface CandidateUsernameFragmentFieldEvent {
    field: '$.usernameFragment'
    value: string
  }

  export function encode (obj: Partial<Candidate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Candidate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Candidate>): Candidate {
    return decodeMessage(buf, Candidate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Candidate>): Generator<CandidateCandidateFieldEvent | CandidateSdpMidFieldEvent | CandidateSdpMLineIndexFieldEvent | CandidateUsernameFragmentFieldEvent> {
    return streamMessage(buf, Candidate.codec(), opts)
  }
}

export interface TrackInfo {
  streamId: string
  kind: string
}

export namespace TrackInfo {
  let _codec: Codec<TrackInfo>

  export const codec = (): Codec<TrackInfo> => {
    if (_codec == null) {
      _codec = message<TrackInfo>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.streamId != null && obj.streamId !== '')) {
          w.uint32(10)
          w.string(obj.streamId)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(18)
          w.string(obj.kind)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          streamId: '',
          kind: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.streamId = reader.string()
              break
            }
            case 2: {
              obj.kind = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.streamId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface TrackInfoStreamIdFieldEvent {
    field: '$.streamId'
    value: string
  }

  export interface TrackInfoKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export function encode (obj: Partial<TrackInfo>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TrackInfo.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TrackInfo>): TrackInfo {
    return decodeMessage(buf, TrackInfo.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TrackInfo>): Generator<TrackInfoStreamIdFieldEvent | TrackInfoKindFieldEvent> {
    return streamMessage(buf, TrackInfo.codec(), opts)
  }
}

export interface MediaState {
  mic: boolean
  camera: boolean
  screen: boolean
}

export namespace MediaState {
  let _codec: Codec<MediaState>

  export const codec = (): Codec<MediaState> => {
    if (_codec == null) {
      _codec = message<MediaState>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.mic != null && obj.mic !== false)) {
          w.uint32(8)
          w.bool(obj.mic)
        }

        if ((obj.camera != null && obj.camera !== false)) {
          w.uint32(16)
          w.bool(obj.camera)
        }

        if ((obj.screen != null && obj.screen !== false)) {
          w.uint32(24)
          w.bool(obj.screen)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          mic: false,
          camera: false,
          screen: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.mic = reader.bool()
              break
            }
            case 2: {
              obj.camera = reader.bool()
              break
            }
            case 3: {
              obj.screen = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.mic`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.camera`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.screen`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface MediaStateMicFieldEvent {
    field: '$.mic'
    value: boolean
  }

  export interface MediaStateCameraFieldEvent {
    field: '$.camera'
    value: boolean
  }

  export interface MediaStateScreenFieldEvent {
    field: '$.screen'
    value: boolean
  }

  export function encode (obj: Partial<MediaState>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MediaState.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MediaState>): MediaState {
    return decodeMessage(buf, MediaState.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MediaState>): Generator<MediaStateMicFieldEvent | MediaStateCameraFieldEvent | MediaStateScreenFieldEvent> {
    return streamMessage(buf, MediaState.codec(), opts)
  }
}
