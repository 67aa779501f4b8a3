import { serviceCapabilities } from '@libp2p/interface'
import { pbStream, type ProtobufMessageStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { withRetry } from '../dial.js'
import { toHex } from '../room-key/index.js'
import { NotAMemberError } from '../room/index.js'
import { CALL_PROTOCOL } from './index.js'
import { CallHello, Signal } from './pb/call.js'
import { PeerSession, videoBudgetFor } from './session.js'
import type { Call, CallEvents, CallOptions, CallServiceApi, CallServiceComponents, CallServiceInit, PathInfo, StreamKind } from './index.js'
import type { MemberInfo, Room } from '../room/index.js'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

const DEFAULTS = { maxMessageSize: 256 * 1024, openTimeout: 10_000, memberWait: 5_000 }
/** Longest pause between attempts to reopen a lost signalling stream, in ms. */
const MAX_REOPEN_BACKOFF = 10_000

export class CallService implements CallServiceApi, Startable {
  readonly [Symbol.toStringTag] = '@freeflow/call'
  readonly [serviceCapabilities]: string[] = ['@freeflow/call']
  private readonly components: CallServiceComponents
  private readonly config: Required<CallServiceInit>
  private readonly log: Logger
  private readonly calls = new Map<string, CallImpl>()
  private shutdown = new AbortController()

  constructor (components: CallServiceComponents, init: CallServiceInit) {
    this.components = components
    this.config = { ...DEFAULTS, ...init }
    this.log = components.logger.forComponent('freeflow:call')
  }

  async start (): Promise<void> {
    this.shutdown = new AbortController()
    await this.components.registrar.handle(CALL_PROTOCOL, (stream, connection) => {
      void this.onInbound(stream, connection)
    }, { maxInboundStreams: 4, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    for (const call of this.calls.values()) call.hangUp()
    this.calls.clear()
    this.shutdown.abort()
    await this.components.registrar.unhandle(CALL_PROTOCOL)
  }

  join (room: Room, options: CallOptions): Call {
    const id = toHex(room.roomId)
    this.calls.get(id)?.hangUp()
    const call = new CallImpl(this.components, this.config, room, options, this.log, () => this.calls.delete(id))
    this.calls.set(id, call)
    return call
  }

  private async onInbound (stream: Stream, connection: Connection): Promise<void> {
    const pb = pbStream(stream, { maxDataLength: this.config.maxMessageSize })
    try {
      const hello = await pb.read(CallHello, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.config.openTimeout)]) })
      const call = this.calls.get(toHex(hello.roomId))
      if (call == null) throw new NotAMemberError('no call in that room here')
      // the room handshake may still be finishing on this side
      const deadline = Date.now() + this.config.memberWait
      while (!call.room.isMember(connection.remotePeer)) {
        if (Date.now() > deadline) throw new NotAMemberError('not a verified member of the room')
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      await call.readSignals(connection.remotePeer, pb.pb(Signal), this.shutdown.signal)
    } catch (err: any) {
      this.log('call stream from %p ended - %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}

/** Our outbound signalling stream to one participant: reopened when lost, moved to a direct connection when one appears. */
class SignalChannel {
  private stream?: Stream
  private pb?: ProtobufMessageStream<Signal>
  private queue: Signal[] = []
  private flushing = false
  private backoff = 500
  private closed = false
  noCall = false

  constructor (
    private readonly components: CallServiceComponents,
    private readonly config: Required<CallServiceInit>,
    private readonly roomId: Uint8Array,
    private readonly peerId: PeerId,
    private readonly log: Logger,
    private readonly onReopened: () => void,
    private readonly onNoCall: () => void
  ) {}

  get connection (): Connection | undefined {
    return this.components.connectionManager.getConnections(this.peerId).find(c => c.streams.includes(this.stream as Stream))
  }

  send (signal: Signal): void {
    if (this.closed || this.noCall) return
    this.queue.push(signal)
    void this.flush()
  }

  /** A direct connection appeared: move signalling off the limited relayed one. */
  upgrade (): void {
    const current = this.connection
    if (current?.limits == null || this.closed) return
    this.log('moving signalling with %p to a direct connection', this.peerId)
    const old = this.stream
    this.stream = undefined
    this.pb = undefined
    void old?.close().catch(() => {})
    void this.flush()
  }

  private bestConnection (): Connection | undefined {
    const conns = this.components.connectionManager.getConnections(this.peerId).filter(c => c.status === 'open')
    return conns.find(c => c.limits == null) ?? conns[0]
  }

  private async open (): Promise<void> {
    const signal = AbortSignal.timeout(this.config.openTimeout)
    const connection = this.bestConnection() ?? await this.components.connectionManager.openConnection(this.peerId, { signal })
    const stream = await connection.newStream(CALL_PROTOCOL, { signal, runOnLimitedConnection: true })
    const pb = pbStream(stream, { maxDataLength: this.config.maxMessageSize })
    await pb.write({ roomId: new Uint8Array(this.roomId) }, CallHello, { signal })
    this.stream = stream
    this.pb = pb.pb(Signal)
    stream.addEventListener('close', () => {
      if (this.stream === stream) {
        this.stream = undefined
        this.pb = undefined
        // anything in flight may be lost: renegotiate once a new stream is up
        if (!this.closed) setTimeout(() => { void this.flush(true) }, 200)
      }
    })
  }

  private async flush (reopened = false): Promise<void> {
    if (this.flushing || this.closed) return
    this.flushing = true
    try {
      while (!this.closed) {
        if (this.pb == null) {
          try {
            await this.open()
            this.backoff = 500
            if (reopened) this.onReopened()
            reopened = false
          } catch (err: any) {
            if (err.name === 'UnsupportedProtocolError') {
              this.noCall = true
              this.queue = []
              this.onNoCall()
              return
            }
            this.log('cannot open signalling to %p - %e', this.peerId, err)
            await new Promise(resolve => setTimeout(resolve, this.backoff))
            this.backoff = Math.min(this.backoff * 2, MAX_REOPEN_BACKOFF)
            reopened = true
            continue
          }
        }
        const next = this.queue.shift()
        if (next == null) break
        try {
          await this.pb!.write(next)
        } catch (err: any) {
          this.log('signalling to %p broke - %e', this.peerId, err)
          this.queue.unshift(next)
          this.pb = undefined
          this.stream = undefined
          reopened = true
        }
      }
    } finally {
      this.flushing = false
    }
  }

  close (): void {
    if (this.closed) return
    const pb = this.pb
    this.closed = true
    if (pb != null) {
      pb.write({ tracks: [], bye: true }).then(async () => this.stream?.close(), () => {}).catch(() => {})
    }
  }
}

class CallImpl extends TypedEventEmitter<CallEvents> implements Call {
  readonly room: Room
  private readonly components: CallServiceComponents
  private readonly config: Required<CallServiceInit>
  private readonly options: Required<CallOptions>
  private readonly log: Logger
  private readonly onClosed: () => void
  private readonly sessions = new Map<string, { session: PeerSession, channel: SignalChannel }>()
  private readonly streams = new Map<StreamKind, MediaStream>()
  private mediaState = { mic: true, camera: true, screen: false }
  private readonly directDials = new Set<string>()
  private ended = false

  constructor (components: CallServiceComponents, config: Required<CallServiceInit>, room: Room, options: CallOptions, log: Logger, onClosed: () => void) {
    super()
    this.components = components
    this.config = config
    this.room = room
    this.options = { rtcConfiguration: { iceServers: [] }, startBitrate: 1_500, ...options }
    this.log = log
    this.onClosed = onClosed
    room.addEventListener('peer:join', this.onJoin)
    room.addEventListener('peer:leave', this.onLeave)
    components.events.addEventListener('connection:open', this.onConnection)
    for (const m of room.members()) this.session(m.peerId)
  }

  private readonly onJoin = (evt: CustomEvent<MemberInfo>): void => { this.session(evt.detail.peerId) }

  private readonly onLeave = (evt: CustomEvent<MemberInfo>): void => { this.drop(evt.detail.peerId) }

  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    const entry = this.sessions.get(evt.detail.remotePeer.toString())
    if (entry != null && evt.detail.limits == null) entry.channel.upgrade()
  }

  private trackInfos (): Array<{ streamId: string, kind: string }> {
    return [...this.streams.entries()].map(([kind, stream]) => ({ streamId: stream.id, kind }))
  }

  private session (peerId: PeerId): { session: PeerSession, channel: SignalChannel } {
    const key = peerId.toString()
    const existing = this.sessions.get(key)
    if (existing != null) return existing
    const channel: SignalChannel = new SignalChannel(this.components, this.config, this.room.roomId, peerId, this.log,
      () => { session.resync() },
      () => {
        // close first: its 'closed' must not be the last word about a member that simply takes no calls
        session.close()
        this.rebudget()
        this.safeDispatchEvent('peer-state', { detail: { peerId, state: 'no-call' } })
      })
    const session: PeerSession = new PeerSession({
      peerId,
      polite: this.components.peerId.toString() < peerId.toString(),
      RTCPeerConnection: this.options.RTCPeerConnection,
      rtcConfiguration: this.options.rtcConfiguration,
      startBitrate: this.options.startBitrate,
      send: (signal) => { channel.send(signal) },
      log: this.log
    })
    for (const type of ['track', 'track:removed', 'media-state', 'peer-state'] as const) {
      session.addEventListener(type, (evt: any) => { this.safeDispatchEvent(type, { detail: evt.detail }) })
    }
    const entry = { session, channel }
    this.sessions.set(key, entry)
    this.safeDispatchEvent('peer-state', { detail: { peerId, state: 'calling' } })
    this.rebudget()
    // say what we send and what is on; this also opens the stream, and finds out if the peer takes calls at all
    channel.send({ tracks: this.trackInfos(), state: this.mediaState })
    void this.ensureDirect(peerId)
    for (const [kind, stream] of this.streams) session.setStream(kind, stream)
    return entry
  }

  /**
   * Members first meet through a relay (a limited connection). Dial the member's /webrtc address for a direct
   * libp2p connection too, so signalling and chat no longer depend on the relay. The dialer with the smaller
   * PeerId does it, so that two members do not race to build two connections.
   */
  private async ensureDirect (peerId: PeerId): Promise<void> {
    const key = peerId.toString()
    if (this.components.peerId.toString() > key || this.directDials.has(key)) return
    this.directDials.add(key)
    try {
      await this.dialDirect(peerId)
    } finally {
      this.directDials.delete(key)
    }
  }

  private async dialDirect (peerId: PeerId): Promise<void> {
    // keep trying while the session lasts: a call that depends on a relay dies with it
    for (let attempt = 0; !this.ended && this.sessions.has(peerId.toString()); attempt++) {
      const conns = this.components.connectionManager.getConnections(peerId)
      if (conns.some(c => c.limits == null && c.status === 'open')) return
      const addrs = (await this.components.peerStore.get(peerId).catch(() => undefined))?.addresses
        .map(a => a.multiaddr).filter(ma => ma.toString().includes('/webrtc')) ?? []
      if (addrs.length > 0) {
        try {
          await withRetry(async signal => this.components.connectionManager.openConnection(addrs, { signal, force: true }), { attempts: 2, timeout: this.config.openTimeout })
          return
        } catch (err: any) {
          this.log('no direct connection to %p yet - %e', peerId, err)
        }
      }
      await new Promise(resolve => setTimeout(resolve, Math.min(1_000 * 2 ** attempt, 30_000)))
    }
  }

  private drop (peerId: PeerId): void {
    const key = peerId.toString()
    const entry = this.sessions.get(key)
    if (entry == null) return
    this.sessions.delete(key)
    entry.channel.close()
    entry.session.close()
    this.rebudget()
  }

  /** The camera video each session sends, by the size of the call (members that take no call do not count). */
  private rebudget (): void {
    const live = [...this.sessions.values()].filter(e => e.session.state !== 'closed')
    const budget = videoBudgetFor(live.length + 1)
    for (const { session } of live) session.setVideoBudget(budget)
  }

  /** Signals from the stream the other side opened. */
  async readSignals (peerId: PeerId, pb: ProtobufMessageStream<Signal>, signal: AbortSignal): Promise<void> {
    if (this.ended) throw new NotAMemberError('call ended')
    const { session } = this.session(peerId)
    while (!signal.aborted && !this.ended) {
      const msg = await pb.read({ signal })
      if (msg.state != null) {
        this.safeDispatchEvent('media-state', { detail: { peerId, mic: msg.state.mic, camera: msg.state.camera, screen: msg.state.screen } })
      }
      session.handle(msg)
      if (msg.bye === true) {
        this.sessions.delete(peerId.toString())
        this.rebudget()
        return
      }
    }
  }

  setStream (kind: StreamKind, stream: MediaStream | null): void {
    if (stream == null) this.streams.delete(kind)
    else this.streams.set(kind, stream)
    for (const { session, channel } of this.sessions.values()) {
      // the label goes first, on the same ordered stream as the offer the new track causes
      channel.send({ tracks: this.trackInfos() })
      session.setStream(kind, stream)
    }
  }

  setMediaState (state: { mic: boolean, camera: boolean, screen: boolean }): void {
    this.mediaState = { ...state }
    for (const { channel } of this.sessions.values()) channel.send({ tracks: [], state: this.mediaState })
  }

  peerConnection (peerId: PeerId): RTCPeerConnection | undefined {
    return this.sessions.get(peerId.toString())?.session.pc
  }

  async path (peerId: PeerId): Promise<PathInfo | undefined> {
    const entry = this.sessions.get(peerId.toString())
    const conns = this.components.connectionManager.getConnections(peerId)
    const conn = entry?.channel.connection ?? conns.find(c => c.limits == null) ?? conns[0]
    const info: PathInfo = { signalling: { relayed: conn?.limits != null || conn?.remoteAddr.toString().includes('/p2p-circuit') === true, addr: conn?.remoteAddr.toString() } }
    if (entry == null) return info
    try {
      const stats = await entry.session.pc.getStats()
      let pair: any
      stats.forEach((s: any) => {
        if (s.type === 'transport' && s.selectedCandidatePairId != null) pair = stats.get(s.selectedCandidatePairId)
      })
      if (pair == null) stats.forEach((s: any) => { if (s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') pair = s })
      if (pair != null) {
        const local = stats.get(pair.localCandidateId)
        const remote = stats.get(pair.remoteCandidateId)
        const address: string = remote?.address ?? remote?.ip ?? ''
        info.media = {
          direct: local?.candidateType !== 'relay' && remote?.candidateType !== 'relay',
          family: address === '' ? undefined : (address.includes(':') ? 6 : 4),
          rttMs: pair.currentRoundTripTime != null ? Math.round(pair.currentRoundTripTime * 1000) : undefined,
          protocol: local?.protocol
        }
      }
    } catch {}
    return info
  }

  hangUp (): void {
    if (this.ended) return
    this.ended = true
    this.room.removeEventListener('peer:join', this.onJoin)
    this.room.removeEventListener('peer:leave', this.onLeave)
    this.components.events.removeEventListener('connection:open', this.onConnection)
    for (const { peerId } of [...this.sessions.values()].map(e => e.session)) this.drop(peerId)
    this.onClosed()
  }
}
