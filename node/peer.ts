/** A FreeFlow peer on Node.js: the shared overlay plus TCP. */
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
  room?: RoomServiceInit
}

export type PeerNode = Libp2p<{ room: RoomServiceApi } & Record<string, any>>

export async function createPeer (init: PeerInit): Promise<PeerNode> {
  return await createLibp2p(overlayOptions({
    role: 'peer',
    privateKey: init.privateKey,
    listen: init.listen ?? DEFAULT_PEER_LISTEN,
    announce: init.announce,
    iceServers: init.iceServers,
    room: init.room,
    transports: [tcp()]
  })) as PeerNode
}
