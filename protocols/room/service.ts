import { serviceCapabilities, serviceDependencies, start } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { toHex } from '../room-key/index.js'
import { deriveRoomKeys } from '../room-key/index.js'
import { InvalidMessageError, NotAMemberError, ROOM_PROTOCOL } from './index.js'
import { Hello } from './pb/room.js'
import { RoomImpl } from './room.js'
import type { JoinOptions, Room, RoomServiceApi, RoomServiceComponents, RoomServiceInit } from './index.js'
import type { Connection, Logger, Startable, Stream } from '@libp2p/interface'

export const DEFAULTS = {
  handshakeTimeout: 10_000,
  maxMessageSize: 1024 * 1024,
  heartbeatInterval: 5_000,
  leaveTimeout: 12_000,
  disconnectGrace: 7_000,
  maxLookupInterval: 15_000,
  historySize: 200,
  maxTextLength: 4_000,
  maxNameLength: 64,
  maxInboundStreams: 4
} satisfies Required<RoomServiceInit>

export type RoomConfig = Required<RoomServiceInit>

export class RoomService implements RoomServiceApi, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/room'
  readonly [serviceCapabilities]: string[] = ['@freeflow/room']
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub', '@libp2p/content-routing']

  private readonly components: RoomServiceComponents
  private readonly config: RoomConfig
  private readonly log: Logger
  private readonly byId = new Map<string, RoomImpl>()
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
    await Promise.all([...this.byId.values()].map(async room => room.leave().catch(() => {})))
    this.byId.clear()
    this.shutdown.abort()
    await this.components.registrar.unhandle(ROOM_PROTOCOL)
  }

  rooms (): Room[] {
    return [...this.byId.values()]
  }

  async join (roomKey: string, options: JoinOptions): Promise<Room> {
    const keys = await deriveRoomKeys(roomKey)
    const id = toHex(keys.roomId)
    const existing = this.byId.get(id)
    if (existing != null) return existing
    if (this.components.pubsub == null) throw new Error('the room service needs gossipsub registered as the `pubsub` service')
    const name = options.name.trim().slice(0, this.config.maxNameLength)
    const room = new RoomImpl(this.components, this.config, keys, name, () => this.byId.delete(id), options.role ?? 'participant')
    this.byId.set(id, room)
    await start(room)
    return room
  }

  private async onInbound (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.config.handshakeTimeout)])
    const pb = pbStream(stream, { maxDataLength: this.config.maxMessageSize })
    try {
      const hello = await pb.read(Hello, { signal })
      if (hello.nonce.length !== 32) throw new InvalidMessageError('hello nonce must be 32 bytes')
      const room = this.byId.get(toHex(hello.roomId))
      if (room == null) throw new NotAMemberError('not in that room')
      await room.respond(pb, hello, connection, signal)
    } catch (err: any) {
      this.log('inbound handshake from %p failed - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}


