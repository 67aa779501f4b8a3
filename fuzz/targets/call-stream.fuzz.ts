/**
 * The call service's stream handler (/freeflow/call/1.0.0, CallService.onInbound) given a real in-memory stream whose
 * bytes come from the fuzzer: the pre-proof CallHello read with its 1 KiB limit, then the wait for a call in that room
 * (there is none here, so the stream must end with NoCallError after `memberWait`). The handler catches what it
 * throws itself, so a crash here is a stray rejection or a stream that is never closed.
 */
import { defaultLogger } from '@libp2p/logger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CallHello, Signal } from '../../protocols/call/pb/call.ts'
import { CallService } from '../../protocols/call/service.ts'
import { SDP } from './call-messages.fuzz.ts'
import { lp, pair } from './common.ts'
import type { FuzzTarget } from '../engine.ts'
import type { CallServiceComponents } from '../../protocols/call/index.ts'
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'

/** How long one stream may stay open: far past memberWait (1 ms) and one MEMBER_POLL (100 ms). */
const STREAM_DEADLINE = 2_000

let handler: StreamHandler | undefined
let remote: PeerId

class StreamLeftOpenError extends Error {
  readonly name = 'StreamLeftOpenError'
}

export const target: FuzzTarget = {
  name: 'call-stream',
  about: 'CallService\'s inbound stream handler on a stream pair fed fuzzed bytes',
  async seeds () {
    const local = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    remote = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const components = {
      peerId: local,
      logger: defaultLogger(),
      registrar: {
        handle: async (_: string, h: StreamHandler) => { handler = h },
        unhandle: async () => {}
      }
    } as unknown as CallServiceComponents
    await new CallService(components, { memberWait: 1, openTimeout: 1_000 }).start()
    const hello = CallHello.encode({ roomId: new Uint8Array(16).fill(7) })
    return [lp(hello), lp(hello, Signal.encode({ description: { type: 'offer', sdp: SDP }, tracks: [] }))]
  },
  async run (input) {
    const [a, b] = await pair()
    const closed = new Promise<void>(resolve => { b.addEventListener('close', () => { resolve() }, { once: true }) })
    await handler?.(b, { remotePeer: remote } as unknown as Connection)
    a.send(input)
    await a.close().catch(() => {})
    const deadline = AbortSignal.timeout(STREAM_DEADLINE)
    await Promise.race([closed, new Promise<void>((_resolve, reject) => {
      deadline.addEventListener('abort', () => { reject(new StreamLeftOpenError(`the handler left the stream ${b.status} after ${STREAM_DEADLINE} ms`)) })
    })])
  },
  expected: () => false
}
