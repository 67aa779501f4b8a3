/**
 * The room service as libp2p runs it: the /freeflow/room/1.0.0 handler (the responder's side of the handshake) and
 * the rooms this node is in. `stop()` leaves every room and unregisters the handler, so nothing outlives the node.
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { deriveRoomKeys, toHex } from '../room-key/index.ts'
import { raceSignal } from '../util/abort.ts'
import { DEFAULTS, ROOM_PROTOCOL } from './constants.ts'
import { MissingPubsubError } from './errors.ts'
import { respondHandshake } from './handshake.ts'
import { RoomImpl } from './room.ts'
import type { RoomConfig } from './constants.ts'
import type { JoinOptions, Room, RoomServiceApi, RoomServiceComponents, RoomServiceInit } from './index.ts'
import type { Connection, Logger, Startable, Stream } from '@libp2p/interface'

export class RoomService implements RoomServiceApi, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/room'
  readonly [serviceCapabilities]: string[] = ['@freeflow/room']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@libp2p/content-routing']

  private readonly components: RoomServiceComponents
  private readonly config: RoomConfig
  private readonly log: Logger
  private readonly byId = new Map<string, { room: RoomImpl, started: Promise<void> }>()
  private shutdown = new AbortController()

  constructor (components: RoomServiceComponents, init: RoomServiceInit) {
    this.components = components
    this.config = { ...DEFAULTS, ...init }
    this.log = components.logger.forComponent('freeflow:room')
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.components.registrar.handle(ROOM_PROTOCOL, (stream, connection) => {
      void this.onInbound(stream, connection)
    }, {
      maxInboundStreams: this.config.maxInboundStreams,
      // members that can only reach each other through a relay must still be able to prove membership
      runOnLimitedConnection: true
    })
  }

  async stop (): Promise<void> {
    await Promise.all([...this.byId.values()].map(async ({ room }) => room.leave().catch(() => {})))
    this.byId.clear()
    this.shutdown.abort()
    await this.components.registrar.unhandle(ROOM_PROTOCOL)
  }

  rooms (): Room[] {
    return [...this.byId.values()].map(({ room }) => room)
  }

  async join (roomKey: string, options: JoinOptions): Promise<Room> {
    const { signal } = options
    signal?.throwIfAborted()
    const keys = await deriveRoomKeys(roomKey)
    signal?.throwIfAborted()
    const id = toHex(keys.roomId)
    const existing = this.byId.get(id)
    if (existing != null) {
      // joined, or being joined by another call: the same room, once it has started
      try {
        await raceSignal(existing.started, signal)
        return existing.room
      } catch (err) {
        signal?.throwIfAborted()
        // the other join was aborted and left the room: join it afresh
        return this.join(roomKey, options)
      }
    }
    if (this.components.pubsub == null) { throw new MissingPubsubError('the room service needs gossipsub registered as the `pubsub` service') }
    const room = new RoomImpl(this.components, this.config, {
      keys,
      name: options.name.trim().slice(0, this.config.maxNameLength),
      role: options.role ?? 'participant',
      onClosed: () => { if (this.byId.get(id)?.room === room) { this.byId.delete(id) } }
    })
    const started = room.start(options)
    this.byId.set(id, { room, started })
    await started
    return room
  }

  private async onInbound (stream: Stream, connection: Connection): Promise<void> {
    try {
      const { party: room, welcome } = await respondHandshake(stream, roomId => {
        const room = this.byId.get(toHex(roomId))?.room
        return room?.left === false ? room : undefined
      }, {
        localPeer: this.components.peerId,
        remotePeer: connection.remotePeer,
        handshakeTimeout: this.config.handshakeTimeout,
        maxMessageSize: this.config.maxMessageSize,
        historySize: this.config.historySize
      }, { signal: this.shutdown.signal })
      await room.welcomed(connection.remotePeer, welcome)
    } catch (err: any) {
      this.log('inbound handshake from %p failed - %e', connection.remotePeer, err)
    }
  }
}
