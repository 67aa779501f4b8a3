/* eslint-disable require-yield */

import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface TurnRequest {}

export namespace TurnRequest {
  let _codec: Codec<TurnRequest>

  export const codec = (): Codec<TurnRequest> => {
    if (_codec == null) {
      _codec = message<TurnRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {}

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
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

  export function encode (obj: Partial<TurnRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TurnRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TurnRequest>): TurnRequest {
    return decodeMessage(buf, TurnRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TurnRequest>): Generator<{}> {
    return streamMessage(buf, TurnRequest.codec(), opts)
  }
}

export interface TurnResponse {
  status: TurnResponse.Status
  urls: string[]
  username: string
  credential: string
  ttl: number
  retryAfter: number
}

export namespace TurnResponse {
  export enum Status {
    OK = 'OK',
    RATE_LIMITED = 'RATE_LIMITED',
    UNAVAILABLE = 'UNAVAILABLE'
  }

  enum __StatusValues {
    OK = 0,
    RATE_LIMITED = 1,
    UNAVAILABLE = 2
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<TurnResponse>

  export const codec = (): Codec<TurnResponse> => {
    if (_codec == null) {
      _codec = message<TurnResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          TurnResponse.Status.codec().encode(obj.status, w)
        }

        if (obj.urls != null && obj.urls.length > 0) {
          for (const value of obj.urls) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.username != null && obj.username !== '')) {
          w.uint32(26)
          w.string(obj.username)
        }

        if ((obj.credential != null && obj.credential !== '')) {
          w.uint32(34)
          w.string(obj.credential)
        }

        if ((obj.ttl != null && obj.ttl !== 0)) {
          w.uint32(40)
          w.uint32(obj.ttl)
        }

        if ((obj.retryAfter != null && obj.retryAfter !== 0)) {
          w.uint32(48)
          w.uint32(obj.retryAfter)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          urls: [],
          username: '',
          credential: '',
          ttl: 0,
          retryAfter: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = TurnResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.urls != null && obj.urls.length === opts.limits.urls) {
                throw new MaxLengthError('Decode error - repeated field "urls" had too many elements')
              }

              obj.urls.push(reader.string())
              break
            }
            case 3: {
              obj.username = reader.string()
              break
            }
            case 4: {
              obj.credential = reader.string()
              break
            }
            case 5: {
              obj.ttl = reader.uint32()
              break
            }
            case 6: {
              obj.retryAfter = reader.uint32()
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
          urls: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: TurnResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.urls != null && obj.urls === opts.limits.urls) {
                throw new MaxLengthError('Streaming decode error - repeated field "urls" had too many elements')
              }

              yield {
                field: `${prefix}.urls[]`,
                index: obj.urls,
                value: reader.string()
              }

              obj.urls++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.username`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.credential`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.ttl`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.retryAfter`,
                value: reader.uint32()
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

  export interface TurnResponseStatusFieldEvent {
    field: '$.status'
    value: TurnResponse.Status
  }

  export interface TurnResponseUrlsFieldEvent {
    field: '$.urls[]'
    index: number
    value: string
  }

  export interface TurnResponseUsernameFieldEvent {
    field: '$.username'
    value: string
  }

  export interface TurnResponseCredentialFieldEvent {
    field: '$.credential'
    value: string
  }

  export interface TurnResponseTtlFieldEvent {
    field: '$.ttl'
    value: number
  }

  export interface TurnResponseRetryAfterFieldEvent {
    field: '$.retryAfter'
    value: number
  }

  export function encode (obj: Partial<TurnResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TurnResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TurnResponse>): TurnResponse {
    return decodeMessage(buf, TurnResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TurnResponse>): Generator<TurnResponseStatusFieldEvent | TurnResponseUrlsFieldEvent | TurnResponseUsernameFieldEvent | TurnResponseCredentialFieldEvent | TurnResponseTtlFieldEvent | TurnResponseRetryAfterFieldEvent> {
    return streamMessage(buf, TurnResponse.codec(), opts)
  }
}
