/**
 * The call service: registers /freeflow/call/1.0.0, makes one call per room joined, and hands each inbound stream to
 * its call once the sender is a verified member of that room. Stopped with the node: every call is hung up.
 */
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { pbStream } from '@libp2p/utils'
import { NotAMemberError } from '../room/index.ts'
import { toHex } from '../room-key/index.ts'
import { sleep } from '../util/backoff.ts'
import { CallImpl, fixedIce } from './call.ts'
import { CALL_PROTOCOL, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MEMBER_WAIT, DEFAULT_OPEN_TIMEOUT, DEFAULT_START_BITRATE, MAX_HELLO_SIZE, MAX_INBOUND_STREAMS, MEMBER_POLL, STALL_RESYNC } from './constants.ts'
import { CallEndedError, NoCallError } from './errors.ts'
import { HelloCodec, SignalCodec } from './messages.ts'
import { closeStream } from './signal-channel.ts'
import type { CallConfig } from './call.ts'
import type { Call, CallOptions, CallServiceApi, CallServiceComponents, CallServiceInit, IceConfigSource } from './index.ts'
import type { Room } from '../room/index.ts'
import type { AbortOptions, Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

export class CallService implements CallServiceApi, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/call'
  readonly [serviceCapabilities]: string[] = ['@freeflow/call']
  readonly [serviceDependencies]: string[] = ['@freeflow/direct']
  private readonly components: CallServiceComponents
  private readonly config: CallConfig
  /** The node's ICE configuration, for calls that name none. */
  private readonly ice: IceConfigSource
  private readonly log: Logger
  private readonly calls = new Map<string, CallImpl>()
  private shutdown = new AbortController()

  constructor (components: CallServiceComponents, init: CallServiceInit) {
    this.components = components
    this.config = {
      maxMessageSize: init.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      openTimeout: init.openTimeout ?? DEFAULT_OPEN_TIMEOUT,
      memberWait: init.memberWait ?? DEFAULT_MEMBER_WAIT,
      stallInterval: init.stallInterval ?? STALL_RESYNC
    }
    this.ice = init.ice ?? fixedIce({ iceServers: [] })
    this.log = components.logger.forComponent('freeflow:call')
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.components.registrar.handle(CALL_PROTOCOL, (stream, connection) => {
      void this.onInbound(stream, connection)
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  /** Hang up every call while the connections are still there to say bye on (each bye within the open timeout). */
  async beforeStop (): Promise<void> {
    const calls = [...this.calls.values()]
    this.calls.clear()
    await Promise.all(calls.map(async call => call.end()))
  }

  async stop (): Promise<void> {
    await this.beforeStop()
    this.shutdown.abort(new CallEndedError('the node is stopping'))
    await this.components.registrar.unhandle(CALL_PROTOCOL)
  }

  join (room: Room, options: CallOptions): Call {
    const id = toHex(room.roomId)
    this.calls.get(id)?.hangUp()
    const call: CallImpl = new CallImpl(this.components, this.config, room, {
      RTCPeerConnection: options.RTCPeerConnection,
      ice: options.ice ?? (options.rtcConfiguration != null ? fixedIce(options.rtcConfiguration) : this.ice),
      startBitrate: options.startBitrate ?? DEFAULT_START_BITRATE
    }, this.log, () => {
      if (this.calls.get(id) === call) { this.calls.delete(id) }
    })
    this.calls.set(id, call)
    return call
  }

  private async onInbound (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    // the sender is a stranger until the room says it is a member: only a small hello is read before that
    const first = pbStream(stream, { maxDataLength: Math.min(MAX_HELLO_SIZE, this.config.maxMessageSize) })
    try {
      const hello = await first.read(HelloCodec, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.config.openTimeout)]) })
      // the writer may give up on the stream while it waits here (it hung up, or was told bye)
      const writerGone = new AbortController()
      const onGone = (): void => { writerGone.abort() }
      stream.addEventListener('remoteCloseWrite', onGone, { once: true })
      stream.addEventListener('close', onGone, { once: true })
      if (stream.remoteWriteStatus !== 'writable' || stream.status !== 'open') { onGone() }
      const call = await this.callWith(toHex(hello.roomId), remote, {
        signal: AbortSignal.any([this.shutdown.signal, writerGone.signal, AbortSignal.timeout(this.config.memberWait)])
      }).finally(() => {
        stream.removeEventListener('remoteCloseWrite', onGone)
        stream.removeEventListener('close', onGone)
      })
      // a verified member: its Signals may be as large as maxMessageSize (unwrap hands back what is already buffered)
      const pb = pbStream(first.unwrap(), { maxDataLength: this.config.maxMessageSize })
      await call.accept(remote, stream, pb.pb(SignalCodec), { signal: this.shutdown.signal })
      await closeStream(stream, { signal: AbortSignal.timeout(this.config.openTimeout) })
    } catch (err: any) {
      this.log('call stream from %p ended - %e', remote, err)
      stream.abort(err)
    }
  }

  /**
   * The call in that room, once the peer is a verified member of it. The member's stream may come first: our side of
   * the room handshake may still be finishing, or our call may be a moment from being joined. Waits until `signal`.
   */
  private async callWith (roomId: string, peerId: PeerId, options: Required<AbortOptions>): Promise<CallImpl> {
    while (true) {
      const call = this.calls.get(roomId)
      if (call?.room.isMember(peerId) === true) { return call }
      if (options.signal.aborted) {
        if (this.shutdown.signal.aborted) { throw new CallEndedError('the node is stopping') }
        throw call == null ? new NoCallError('no call in that room here') : new NotAMemberError('not a verified member of the room')
      }
      await sleep(MEMBER_POLL, options)
    }
  }
}
