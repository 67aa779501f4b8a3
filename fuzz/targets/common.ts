/** What the targets share: error judging, splitting an input into a choice and bytes, text from bytes, stream pairs. */
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'

/** Classes of error that are bugs wherever they come from (a refusal is a named error, or a protons reader error). */
const BUG_NAMES = new Set(['TypeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'InternalError'])

/** Whether the first frame of `err`'s stack is in our code (protocols/), not in a library or Node itself. */
function thrownByUs (err: any): boolean {
  const frame = String(err?.stack ?? '').split('\n').find(l => l.trimStart().startsWith('at ')) ?? ''
  return frame.includes('/protocols/')
}

/**
 * Whether `err` is of a class that only a bug throws (a TypeError...) and escaped, or is one that our code threw and
 * a catch-all of ours then wrapped as a refusal. A library's TypeError that our code catches and refuses with a named
 * error is that library's way of saying no (peerIdFromMultihash's `new URL` on a digest that is not one, say).
 */
export function isBug (err: unknown): boolean {
  if (BUG_NAMES.has((err as Error)?.name)) { return true }
  for (let e: any = (err as Error)?.cause, depth = 0; e != null && depth < 8; e = e.cause, depth++) {
    if (BUG_NAMES.has(e.name) && thrownByUs(e)) { return true }
  }
  return false
}

/** An error whose `name` is one of `names`, and no bug in its causes. */
export function named (...names: string[]): (err: unknown) => boolean {
  const wanted = new Set(names)
  return (err) => !isBug(err) && wanted.has((err as Error)?.name)
}

/** The errors protons' reader throws for a broken message: how a pbStream reader refuses it. */
export const PROTONS_ERRORS = ['RangeError', 'Error', 'MaxLengthError', 'MaxSizeError', 'InvalidDataLengthError', 'InvalidDataLengthLengthError']

/** The first byte picks one of `n` ways to feed the rest. */
export function choose (input: Uint8Array, n: number): [number, Uint8Array] {
  return input.length === 0 ? [0, input] : [input[0] % n, input.subarray(1)]
}

/** `bytes` prefixed with the choice `i`: a seed for a target that `choose`s. */
export function tagged (i: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1)
  out[0] = i
  out.set(bytes, 1)
  return out
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** Bytes as text, the way a peer's or a person's string reaches us (invalid UTF-8 becomes U+FFFD). */
export function text (bytes: Uint8Array): string {
  return decoder.decode(bytes)
}

export function bytesOf (s: string): Uint8Array {
  return encoder.encode(s)
}

/** Length-prefix `frames` (unsigned varint), as lpStream writes them. */
export function lp (...frames: Uint8Array[]): Uint8Array {
  const parts: number[] = []
  for (const f of frames) {
    let n = f.length
    while (n >= 0x80) { parts.push((n & 0x7f) | 0x80); n >>>= 7 }
    parts.push(n, ...f)
  }
  return Uint8Array.from(parts)
}

/** The room-key test vectors (docs/protocols/room-key.md). */
export const ROOM_KEY = 'aeaacaqdaqcqmbyibefawdanbyhw77nd'

/** Fixed addresses for the mock connections: streamPair's default numbers ports from a counter that passes 65535. */
const PAIR_ADDRS = {
  outboundConnection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4001') },
  inboundConnection: { remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/4002') }
}

/** Two real libp2p streams over a mock muxer (`streamPair` from @libp2p/utils), for as many runs as the fuzzer makes. */
export async function pair (): Promise<[Stream, Stream]> {
  return streamPair(PAIR_ADDRS)
}
