/** libp2p in the page: WebSockets to relays, WebRTC and circuit relay, DHT client, room and call services. */
import { createLibp2p, type Libp2p } from 'libp2p'
import { callService, type CallServiceApi } from '../../protocols/call/index.js'
import { overlayOptions } from '../../protocols/overlay.js'
import type { RoomServiceApi } from '../../protocols/room/index.js'
import type { PrivateKey } from '@libp2p/interface'

export type BrowserNode = Libp2p<{ room: RoomServiceApi, call: CallServiceApi } & Record<string, any>>

export async function createBrowserNode (privateKey: PrivateKey): Promise<BrowserNode> {
  const options = overlayOptions({
    role: 'peer',
    privateKey,
    // reachable through a relay reservation, and directly over WebRTC once a relay has introduced us
    listen: ['/p2p-circuit', '/webrtc'],
    iceServers: []
  })
  options.services = { ...options.services, call: callService() }
  return await createLibp2p(options) as BrowserNode
}
