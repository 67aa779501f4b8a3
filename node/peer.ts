/** A FreeFlow peer on Node.js: the shared overlay plus TCP. */
import { networkInterfaces } from 'node:os'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { overlayOptions } from '../protocols/overlay/index.ts'
import type { Bootstrap, BootstrapInit } from '../protocols/bootstrap/index.ts'
import type { RoomServiceApi, RoomServiceInit } from '../protocols/room/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

export const DEFAULT_PEER_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip6/::/tcp/0', '/p2p-circuit', '/webrtc']

/** With the address hidden: reachable only through a relay's circuit, and over WebRTC that goes through TURN. */
export const HIDDEN_PEER_LISTEN = ['/p2p-circuit', '/webrtc']

export interface PeerInit {
  privateKey: PrivateKey
  listen?: string[]
  announce?: string[]
  /**
   * STUN/TURN servers named explicitly, used after those of the relays the node is connected to.
   *
   * @default []
   */
  iceServers?: RTCIceServer[]
  /**
   * Address WebRTC (node-datachannel) gathers candidates on.
   *
   * @default 127.0.0.1 on a machine with no other interface
   */
  webrtcBind?: string
  /**
   * Hide this peer's address: media and libp2p's WebRTC only through TURN, no TCP listener by default, no DCUtR or
   * AutoNAT (see OverlayInit.relayMediaOnly).
   *
   * @default false
   */
  relayMediaOnly?: boolean
  room?: RoomServiceInit
  /** Relays to stay connected to (multiaddrs ending in /p2p/<id>), or the bootstrap service's full options. */
  bootstrap?: string[] | BootstrapInit
  /**
   * Take calls (the recorder does; a terminal peer only chats).
   *
   * @default false
   */
  call?: boolean
}

/**
 * node-datachannel leaves loopback out of its ICE candidates, so on a host that has nothing else (a container
 * or a test namespace) WebRTC would find no path at all: bind it to loopback there.
 */
export function defaultWebRTCBind (): string | undefined {
  const external = Object.values(networkInterfaces()).flat().some(i => i != null && !i.internal)
  return external ? undefined : '127.0.0.1'
}

/**
 * libp2p's WebRTC in Node (node-datachannel) writes each TURN server as `turn:<username>:<credential>@host` and
 * libdatachannel reads the username up to the first ':' and percent-decodes both: a relay's username
 * (`<expiry>:<user id>`) and its base64 credential must go percent-encoded, or TURN refuses them.
 */
export function nodeWebRTCConfiguration (config: RTCConfiguration): RTCConfiguration {
  return {
    ...config,
    iceServers: (config.iceServers ?? []).map(s => s.username == null || typeof s.credential !== 'string'
      ? s
      : { ...s, username: encodeURIComponent(s.username), credential: encodeURIComponent(s.credential) })
  }
}

export type PeerNode = Libp2p<{ room: RoomServiceApi, bootstrap?: Bootstrap } & Record<string, any>>

export async function createPeer (init: PeerInit): Promise<PeerNode> {
  const options = overlayOptions({
    role: 'peer',
    privateKey: init.privateKey,
    listen: init.listen ?? (init.relayMediaOnly === true ? HIDDEN_PEER_LISTEN : DEFAULT_PEER_LISTEN),
    announce: init.announce,
    iceServers: init.iceServers,
    relayMediaOnly: init.relayMediaOnly,
    rtcExtra: (init.webrtcBind ?? defaultWebRTCBind()) != null ? { bindAddress: init.webrtcBind ?? defaultWebRTCBind() } : undefined,
    rtcRewrite: nodeWebRTCConfiguration,
    room: init.room,
    call: init.call,
    bootstrap: init.bootstrap,
    transports: [tcp()]
  })
  return await createLibp2p(options) as PeerNode
}
