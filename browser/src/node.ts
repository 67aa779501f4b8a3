/** libp2p in the page: WebSockets to relays, WebRTC and circuit relay, DHT client, room and call services. */
import { createLibp2p } from 'libp2p'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import type { Bootstrap } from '../../protocols/bootstrap/index.ts'
import type { CallServiceApi } from '../../protocols/call/index.ts'
import type { RoomServiceApi } from '../../protocols/room/index.ts'
import type { IceConfig } from '../../protocols/turn/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

export type BrowserNode = Libp2p<{ room: RoomServiceApi, call: CallServiceApi, bootstrap: Bootstrap, ice: IceConfig } & Record<string, any>>

export interface BrowserNodeInit {
  /** Relays the page stays connected to: the one that served it first, then any named in the link. */
  bootstrap: string[]
  /**
   * Hide my address: media and WebRTC only through the relays' TURN servers.
   *
   * @default false
   */
  relayMediaOnly?: boolean
}

export async function createBrowserNode (privateKey: PrivateKey, init: BrowserNodeInit): Promise<BrowserNode> {
  return await createLibp2p(overlayOptions({
    role: 'peer',
    privateKey,
    // reachable through a relay reservation, and directly over WebRTC once a relay has introduced us
    listen: ['/p2p-circuit', '/webrtc'],
    // WebRTC uses the relays' STUN/TURN servers (services.ice), never a third party's
    call: true,
    relayMediaOnly: init.relayMediaOnly,
    bootstrap: init.bootstrap
  })) as BrowserNode
}
