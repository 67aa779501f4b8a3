/**
 * The one place that assembles a FreeFlow libp2p node. node/, relay/ and browser/ hand in what differs per
 * platform (extra transports, listen addresses, a private key); everything the overlay agrees on lives here:
 * encryption, muxing, our own DHT, gossipsub with the room scoring, the relay client, and the room service.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { roomService, type RoomServiceInit } from './room/index.js'
import type { CircuitRelayServerInit } from '@libp2p/circuit-relay-v2'
import type { PrivateKey, Metrics, ComponentLogger } from '@libp2p/interface'
import type { Libp2pOptions } from 'libp2p'

/** Our own Kademlia protocol: the overlay's DHT is separate from the public IPFS one. */
export const DHT_PROTOCOL = '/freeflow/kad/1.0.0'

/** How long one WebRTC dial may take before it is abandoned (see the init-channel race in docs/architecture.md). */
export const WEBRTC_DIAL_TIMEOUT = 10_000

export interface OverlayInit {
  privateKey: PrivateKey
  role: 'peer' | 'relay'
  listen: string[]
  announce?: string[]
  /** Platform transports added to the shared ones (TCP in Node). */
  transports?: Libp2pOptions['transports']
  /** ICE servers for WebRTC; tests pass [] so that no candidate points off the machine. @default [] */
  iceServers?: RTCIceServer[]
  /** Platform-specific RTCPeerConnection options (node-datachannel's `bindAddress`, for one). */
  rtcExtra?: Record<string, unknown>
  /** Keep private (loopback, LAN) addresses in DHT records; needed on one machine or a LAN. @default true */
  privateAddresses?: boolean
  /** DHT server mode; a relay always serves. @default false for peers */
  dhtServer?: boolean
  relay?: CircuitRelayServerInit
  room?: RoomServiceInit
  metrics?: (components: { logger: ComponentLogger }) => Metrics
  maxConnections?: number
}

export function overlayOptions (init: OverlayInit): Libp2pOptions<any> {
  const peer = init.role === 'peer'
  const services: Record<string, any> = {
    identify: identify({ runOnLimitedConnection: true }),
    identifyPush: identifyPush({ runOnLimitedConnection: true }),
    ping: ping({ runOnLimitedConnection: true }),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: peer ? init.dhtServer !== true : false,
      peerInfoMapper: init.privateAddresses === false ? removePrivateAddressesMapper : passthroughMapper,
      // peers come and go; a one-machine overlay has few DHT servers
      kBucketSize: 20,
      // every query waits for the first self-query, which by default waits 1 s: joining a room is a query
      initialQuerySelfInterval: 0
    }),
    pubsub: gossipsub({
      emitSelf: false,
      allowPublishToZeroTopicPeers: true,
      // chat and presence must work between members that only reach each other through a relay
      runOnLimitedConnection: true,
      doPX: false,
      scoreParams: {
        // every member of a room may well sit behind one address (a LAN, one machine): colocation is no signal
        IPColocationFactorWeight: 0
      },
      scoreThresholds: {
        // gossipsub's own defaults, stated here because the room's topic weights are set against them: one message
        // that does not open costs 20 * 1^2, two put the sender below the publish threshold, three graylist it
        gossipThreshold: -10,
        publishThreshold: -50,
        graylistThreshold: -80
      }
    }),
    autoNAT: autoNAT()
  }
  if (peer) {
    services.dcutr = dcutr()
    services.room = roomService(init.room)
  } else {
    services.relay = circuitRelayServer(init.relay)
  }
  const transports: NonNullable<Libp2pOptions['transports']> = [webSockets(), ...(init.transports ?? [])]
  if (peer) {
    transports.push(
      webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [], ...init.rtcExtra } }),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 })
    )
  }
  return {
    privateKey: init.privateKey,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      // the overlay runs on LANs and on one machine too; which addresses are dialled is the room's choice
      denyDialMultiaddr: () => false
    },
    connectionManager: {
      maxConnections: init.maxConnections ?? (peer ? 100 : 1000)
    },
    metrics: init.metrics,
    services
  }
}
