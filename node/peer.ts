/** A FreeFlow peer on Node.js: the shared overlay plus TCP. */
import { networkInterfaces } from 'node:os'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { overlayOptions } from '../protocols/overlay.js'
import type { RoomServiceApi, RoomServiceInit } from '../protocols/room/index.js'
import type { PrivateKey } from '@libp2p/interface'

export const DEFAULT_PEER_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip6/::/tcp/0', '/p2p-circuit', '/webrtc']

export interface PeerInit {
  privateKey: PrivateKey
  listen?: string[]
  announce?: string[]
  iceServers?: RTCIceServer[]
  /** Address WebRTC (node-datachannel) gathers candidates on. @default 127.0.0.1 on a machine with no other interface */
  webrtcBind?: string
  room?: RoomServiceInit
  /** Services added to the overlay's (the recorder adds the call service). */
  services?: Record<string, (components: any) => unknown>
}

/**
 * node-datachannel leaves loopback out of its ICE candidates, so on a host that has nothing else (a container
 * or a test namespace) WebRTC would find no path at all: bind it to loopback there.
 */
export function defaultWebRTCBind (): string | undefined {
  const external = Object.values(networkInterfaces()).flat().some(i => i != null && !i.internal)
  return external ? undefined : '127.0.0.1'
}

export type PeerNode = Libp2p<{ room: RoomServiceApi } & Record<string, any>>

export async function createPeer (init: PeerInit): Promise<PeerNode> {
  const options = overlayOptions({
    role: 'peer',
    privateKey: init.privateKey,
    listen: init.listen ?? DEFAULT_PEER_LISTEN,
    announce: init.announce,
    iceServers: init.iceServers,
    rtcExtra: (init.webrtcBind ?? defaultWebRTCBind()) != null ? { bindAddress: init.webrtcBind ?? defaultWebRTCBind() } : undefined,
    room: init.room,
    transports: [tcp()]
  })
  options.services = { ...options.services, ...init.services }
  return await createLibp2p(options) as PeerNode
}
