/**
 * The one place that assembles a FreeFlow libp2p node. node/, relay/ and browser/ hand in what differs per
 * platform (extra transports, listen addresses, a private key); everything the overlay agrees on lives here:
 * encryption, muxing, our own DHT, gossipsub with the room scoring, the relay client, the room and direct-connection
 * services, the TURN credentials client on peers (the TURN credentials server on a relay that runs TURN), and (when
 * asked) the call and bootstrap services. On peers, one `IceConfig` (`services.ice`) gives every RTCPeerConnection its
 * ICE servers: the call's media connections and libp2p's WebRTC transport both read it per connection, so both use
 * every relay's STUN/TURN with the credentials the TURN client holds at that moment. Nothing is added to the options
 * it returns after the fact.
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
import { bootstrap } from '../bootstrap/index.ts'
import { callService } from '../call/index.ts'
import { directConnections } from '../direct/index.ts'
import { roomService } from '../room/index.ts'
import { messageId, SCORE_THRESHOLDS, SIGNATURE_POLICY } from '../room/topic.ts'
import { IceConfig, turnClient, turnServer } from '../turn/index.ts'
import { AddressLimits } from './address-limits.ts'
import { boundedProviders, PROVIDER_CLEANUP_INTERVAL, PROVIDER_RECORD_VALIDITY, refuseValues } from './dht-limits.ts'
import { withoutRelayedAddrs } from './dht-peers.ts'
import { pubsubStreams } from './pubsub-streams.ts'
import type { AddressLimitsInit } from './address-limits.ts'
import type { ProviderLimits } from './dht-limits.ts'
import type { BootstrapInit } from '../bootstrap/index.ts'
import type { CallServiceInit } from '../call/index.ts'
import type { DirectInit } from '../direct/index.ts'
import type { RoomServiceInit } from '../room/index.ts'
import type { TurnClientInit, TurnServerInit } from '../turn/index.ts'
import type { CircuitRelayServerInit } from '@libp2p/circuit-relay-v2'
import type { ComponentLogger, ConnectionGater, Libp2pEvents, Metrics, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { WebSocketsInit } from '@libp2p/websockets'
import type { Libp2pOptions } from 'libp2p'

/** Our own Kademlia protocol: the overlay's DHT is separate from the public IPFS one. */
export const DHT_PROTOCOL = '/freeflow/kad/1.0.0'

/** How often libp2p's connection monitor pings each connection, in ms. */
export const PING_INTERVAL = 15_000

/** Shortest deadline of the keep-alive ping, in ms: a page busy with a call answers late, not never. */
export const PING_MIN_TIMEOUT = 20_000

/** Longest deadline of the keep-alive ping, in ms (it adapts between the two to the pings seen). */
export const PING_MAX_TIMEOUT = 45_000

/** Ping streams at once per connection and direction: PING_MAX_TIMEOUT / PING_INTERVAL of them, and one spare. */
export const PING_STREAMS = 4

/**
 * Deadline for an inbound connection's upgrade (encryption and muxer chosen), in ms: a silent socket holds a pending
 * slot this long. libp2p's 10 s let a trickle of them fill every slot; an honest handshake takes well under a second.
 */
export const INBOUND_UPGRADE_TIMEOUT = 5_000

/**
 * Inbound connections being upgraded at once, on a relay (libp2p's default is 10: 12 silent sockets kept everyone
 * out). Each costs a socket and a timer; one address may hold only AddressLimits' share of them.
 */
export const RELAY_MAX_PENDING_INBOUND = 256

/** The same on a peer with a public listener: it is dialled by members and the odd DHT client, not by everyone. */
export const PEER_MAX_PENDING_INBOUND = 64

/**
 * New inbound connections per second from one host before libp2p refuses more (its default is 5): an office of 50
 * behind one NAT address opening the app at the start of a meeting. A flood from one address is bounded by
 * AddressLimits' pending share, not by this rate.
 */
export const INBOUND_CONNECTIONS_PER_SECOND = 20

export interface OverlayInit {
  privateKey: PrivateKey
  role: 'peer' | 'relay'
  listen: string[]
  announce?: string[]
  /** Platform transports added to the shared ones (TCP in Node). */
  transports?: Libp2pOptions['transports']
  /**
   * ICE servers named explicitly (by the user or operator), used after the relays' own STUN/TURN servers by the
   * call's connections and libp2p's WebRTC transport alike. Never a third-party server by default.
   *
   * @default []
   */
  iceServers?: RTCIceServer[]
  /**
   * Hide this peer's address ("Hide my address", `--relay-media-only`): every RTCPeerConnection (the call's and
   * libp2p's WebRTC transport's) gathers only relay candidates from a TURN server (`iceTransportPolicy: 'relay'`), so
   * a direct libp2p connection to another member runs through TURN too; no DCUtR (it swaps observed addresses) and no
   * AutoNAT (it asks others to dial this peer back). The listen addresses are the caller's: give only
   * `/p2p-circuit` and `/webrtc`.
   *
   * @default false
   */
  relayMediaOnly?: boolean
  /** Platform-specific RTCPeerConnection options (node-datachannel's `bindAddress`, for one). */
  rtcExtra?: Record<string, unknown>
  /**
   * A platform's rewrite of each configuration libp2p's WebRTC transport is given (node-datachannel needs its TURN
   * credentials percent-encoded).
   *
   * @default none
   */
  rtcRewrite?(config: RTCConfiguration): RTCConfiguration
  /**
   * Keep private (loopback, LAN) addresses in DHT records; needed on one machine or a LAN.
   *
   * @default true
   */
  privateAddresses?: boolean
  /**
   * DHT server mode; a relay always serves.
   *
   * @default false for peers
   */
  dhtServer?: boolean
  relay?: CircuitRelayServerInit
  room?: RoomServiceInit
  /**
   * Take calls: the call service, for the browser and the recorder (a terminal peer only chats).
   *
   * @default false
   */
  call?: CallServiceInit | boolean
  /** Options of the direct-connection service every peer runs (the call asks it for direct connections). */
  direct?: DirectInit
  /**
   * Peers: ask every connected relay for TURN credentials and keep them fresh (`services.turn`); false leaves it out.
   *
   * @default {}
   */
  turn?: TurnClientInit | false
  /** Relays that run a TURN server: hand out its credentials over `/freeflow/turn/1.0.0` (`services.turn`). */
  turnServer?: TurnServerInit
  /** Relays to stay connected to (multiaddrs ending in /p2p/<id>), or the bootstrap service's full options. */
  bootstrap?: string[] | BootstrapInit
  /**
   * Inbound connections per source address (an IPv4 address or an IPv6 /64).
   *
   * @default MAX_PENDING_PER_ADDRESS pending and MAX_CONNECTIONS_PER_ADDRESS in all (address-limits.ts)
   */
  addressLimits?: AddressLimitsInit
  /**
   * Options of the WebSockets transport (the relay's trusted proxies read forwarded client addresses through its
   * `http.IncomingMessage`).
   *
   * @default {}
   */
  webSockets?: WebSocketsInit
  /** Rules added to the overlay's connection gater (the relay's per-IP reservation limit, for one). */
  connectionGater?: ConnectionGater
  metrics?(components: { logger: ComponentLogger }): Metrics
  maxConnections?: number
  /** Relays: how many DHT provider records they store for others (dht-limits.ts). */
  dhtProviders?: ProviderLimits
}

export function overlayOptions (init: OverlayInit): Libp2pOptions<any> {
  const peer = init.role === 'peer'
  const dhtClient = peer && init.dhtServer !== true
  const addressMapper = init.privateAddresses === false ? removePrivateAddressesMapper : passthroughMapper
  const dht = kadDHT({
    protocol: DHT_PROTOCOL,
    clientMode: dhtClient,
    // a client takes no relayed peer into its routing table (dht-peers.ts)
    peerInfoMapper: dhtClient ? withoutRelayedAddrs(addressMapper) : addressMapper,
    // peers come and go; a one-machine overlay has few DHT servers
    kBucketSize: 20,
    // every query waits for the first self-query, which by default waits 1 s: joining a room is a query
    initialQuerySelfInterval: 0,
    // the overlay uses provider records only: PUT_VALUE is refused by every node
    validators: refuseValues,
    // a relay keeps others' provider records only while their rendezvous is looked up (it provides none itself)
    ...(peer ? {} : { reprovide: { validity: PROVIDER_RECORD_VALIDITY, interval: PROVIDER_CLEANUP_INTERVAL } })
  })
  const services: Record<string, any> = {
    identify: identify({ runOnLimitedConnection: true }),
    identifyPush: identifyPush({ runOnLimitedConnection: true }),
    // the connection monitor's pings may overlap (a slow answer, the next heartbeat): room for a few at once, or a
    // second one fails with TooManyOutboundProtocolStreams and the monitor aborts a healthy connection
    ping: ping({ runOnLimitedConnection: true, maxInboundStreams: PING_STREAMS, maxOutboundStreams: PING_STREAMS }),
    // on a relay the DHT's datastore bounds the provider records of others, per peer and in total
    dht: peer
      ? dht
      : (components: Parameters<typeof dht>[0]) => {
          const datastore = boundedProviders(components.datastore, components.peerId, init.dhtProviders)
          return dht(new Proxy(components, { get: (target, prop) => prop === 'datastore' ? datastore : Reflect.get(target, prop) }))
        },
    pubsub: gossipsub({
      emitSelf: false,
      allowPublishToZeroTopicPeers: true,
      // chat and presence must work between members that only reach each other through a relay
      runOnLimitedConnection: true,
      doPX: false,
      // the author and its signature travel inside the room's seal only: no PeerId in clear on the topic, one
      // signature to verify per message (protocols/room/topic.ts); every node of the overlay must agree on both
      globalSignaturePolicy: SIGNATURE_POLICY,
      msgIdFn: messageId,
      scoreParams: {
        // every member of a room may well sit behind one address (a LAN, one machine): colocation is no signal
        IPColocationFactorWeight: 0
      },
      // the room topic's weights are set against these (protocols/room/topic.ts): three messages that do not open
      // graylist their sender
      scoreThresholds: SCORE_THRESHOLDS
    })
  }
  // gossipsub's streams move to a connection that remains when the one they ran on closes (a relayed one expires)
  services.pubsubStreams = pubsubStreams()
  // one address may hold only a share of the pending inbound slots and of the connections (a relay's or a public
  // listener's): the gater below asks it, and it follows the node's connections to know which are still pending
  const addressLimits = new AddressLimits(init.addressLimits)
  services.addressLimits = (components: { events: TypedEventTarget<Libp2pEvents> }) => {
    addressLimits.follow(components.events)
    return addressLimits
  }
  const hidden = peer && init.relayMediaOnly === true
  if (!hidden) { services.autoNAT = autoNAT() }
  // every RTCPeerConnection of a peer takes its servers from here, when it is made
  const ice = new IceConfig({ iceServers: init.iceServers, relayOnly: hidden })
  if (peer) {
    if (!hidden) { services.dcutr = dcutr() }
    services.direct = directConnections(init.direct)
    services.room = roomService(init.room)
    services.ice = () => ice
    const turn = init.turn
    if (turn !== false) {
      services.turn = (components: Parameters<ReturnType<typeof turnClient>>[0]) => {
        const client = turnClient(turn ?? {})(components)
        ice.follow(client)
        return client
      }
    }
    if (init.call != null && init.call !== false) { services.call = callService({ ...(init.call === true ? {} : init.call), ice }) }
  } else {
    services.relay = circuitRelayServer(init.relay)
    if (init.turnServer != null) { services.turn = turnServer(init.turnServer) }
  }
  const boot = Array.isArray(init.bootstrap) ? { list: init.bootstrap } : init.bootstrap
  if (boot != null && boot.list.length > 0) { services.bootstrap = bootstrap(boot) }
  const transports: NonNullable<Libp2pOptions['transports']> = [webSockets(init.webSockets), ...(init.transports ?? [])]
  if (peer) {
    transports.push(
      // a function: libp2p calls it for each WebRTC connection, so each gets the credentials held at that moment
      webRTC({
        rtcConfiguration: () => {
          const config = { ...ice.configuration(), ...init.rtcExtra }
          return init.rtcRewrite?.(config) ?? config
        }
      }),
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
      denyDialMultiaddr: () => false,
      denyInboundConnection: (maConn) => addressLimits.denyInboundConnection(maConn),
      ...init.connectionGater
    },
    connectionManager: {
      maxConnections: init.maxConnections ?? (peer ? 100 : 1000),
      maxIncomingPendingConnections: peer ? PEER_MAX_PENDING_INBOUND : RELAY_MAX_PENDING_INBOUND,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND
    },
    // libp2p pings every connection and aborts it when one ping fails; its default deadline (5 s at least, every
    // 10 s) is shorter than a busy laptop's page takes in a call (measured: a 3-way call on 2 cores lost its relay
    // and its members about once a minute). A dead connection is still found within about a minute.
    connectionMonitor: {
      pingInterval: PING_INTERVAL,
      pingTimeout: { minTimeout: PING_MIN_TIMEOUT, maxTimeout: PING_MAX_TIMEOUT }
    },
    metrics: init.metrics,
    services
  }
}
