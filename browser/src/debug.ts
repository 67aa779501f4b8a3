/**
 * The page's debug and test hook, `globalThis.freeflow`: a few read-only views of the objects under the page, for
 * people in the browser console, the integration tests and the benchmarks. Nothing else of the app is reachable
 * from outside; the hook holds no state of its own.
 */
import type { AppState } from './state.ts'
import type { Call } from '../../protocols/call/index.ts'
import type { Room } from '../../protocols/room/index.ts'
import type { IceConfig } from '../../protocols/turn/index.ts'
import type { Libp2p } from '@libp2p/interface'

export interface FreeflowDebug {
  /** The libp2p node, from its creation at Join until Leave (or a failed join). */
  readonly node: Pick<Libp2p, 'peerId' | 'getConnections' | 'getMultiaddrs'> | undefined
  /** The room, while in it. */
  readonly room: Pick<Room, 'members'> | undefined
  /** The node's ICE configuration, while it runs: whether a TURN server with credentials is known yet. */
  readonly ice: Pick<IceConfig, 'canRelay'> | undefined
  /** The call, while in the room: its RTCPeerConnection with each participant, for stats. */
  readonly call: Pick<Call, 'peerConnection'> | undefined
  /** This page's recording, while one runs: frames drawn and time spent drawing them. */
  readonly recorder: { readonly stats: { frames: number, drawMs: number } } | undefined
}

declare global {
  var freeflow: FreeflowDebug | undefined
}

export function installDebugHook (state: AppState): FreeflowDebug {
  const hook: FreeflowDebug = Object.freeze({
    get node () { return state.node },
    get room () { return state.room },
    get ice () { return state.node?.services.ice },
    get call () { return state.call },
    get recorder () { return state.recording.running }
  })
  Object.defineProperty(globalThis, 'freeflow', { value: hook, configurable: true, enumerable: false, writable: false })
  return hook
}
