/**
 * Our outbound signalling stream to one participant. Signals are queued and written in order; the stream is opened
 * on the best connection (a direct one over a relayed one) and moved when a direct connection appears.
 *
 * Everything written on a stream the other side refuses (its room handshake with us is not done yet, its call not
 * joined yet) or that is cut is lost, and nothing on the wire says what arrived. So a lost stream is reopened with
 * backoff, and on the new stream `onResync` is asked to say again all the other side needs: our track labels, media
 * state, pending description and candidates. The same happens after a move to a direct connection, because the two
 * streams' signals may be read out of order. Once closed (hang-up, bye, the member left), a channel never opens again.
 *
 * The queue is bounded (MAX_OUTBOUND_SIGNALS): when the other side does not read, the stream is dropped and the queue
 * emptied, and the next stream starts with the resync, which says again all the other side needs.
 */
import { pbStream } from '@libp2p/utils'
import { raceSignal } from '../util/abort.ts'
import { Backoff } from '../util/backoff.ts'
import { CALL_PROTOCOL, MAX_OUTBOUND_SIGNALS, REOPEN_INITIAL_BACKOFF, REOPEN_MAX_BACKOFF, STREAM_LINGER } from './constants.ts'
import { CallEndedError, SignallingOverloadError } from './errors.ts'
import { HelloCodec, SignalCodec } from './messages.ts'
import type { Signal } from './pb/call.ts'
import type { AbortOptions, Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { ProtobufMessageStream, ProtobufStream } from '@libp2p/utils'

export interface SignalChannelInit {
  peerId: PeerId
  roomId: Uint8Array
  connectionManager: ConnectionManager
  maxMessageSize: number
  /** Deadline for opening a stream and for one write, in ms. */
  openTimeout: number
  /** A stream that stayed open this long was accepted by the other side, in ms (a refusal comes sooner). */
  provenAfter: number
  log: Logger
  /** A new stream replaces one that carried signals: queue again what the other side may have missed. */
  onResync(): void
  /** The peer does not speak the call protocol (a terminal peer): the channel stops for good. */
  onNoCall(): void
}

/**
 * Close our end of a call stream, and cut the stream if the other side's end is still open STREAM_LINGER later: a
 * call stream carries signals one way only, so nothing is lost by it, and a peer that never closes its end does not
 * keep the stream. Rejects as `stream.close` does.
 */
export async function closeStream (stream: Stream, options: AbortOptions = {}): Promise<void> {
  await stream.close(options)
  if (stream.status !== 'open') { return }
  const cut = setTimeout(() => { stream.abort(new CallEndedError('the other side kept its end of the stream open')) }, STREAM_LINGER)
  stream.addEventListener('close', () => { clearTimeout(cut) }, { once: true })
}

export class SignalChannel {
  private readonly init: SignalChannelInit
  private readonly controller = new AbortController()
  private readonly backoff = new Backoff({ initial: REOPEN_INITIAL_BACKOFF, max: REOPEN_MAX_BACKOFF })
  private stream?: Stream
  private pb?: ProtobufMessageStream<Signal, Stream>
  private openedAt = 0
  private queue: Signal[] = []
  private flushing = false
  /** A stream that carried signals was lost: pause before the next open. */
  private lost = false
  /** The next stream opened must carry a resync first. */
  private resyncOwed = false
  /** A stream has been opened before: any later one follows a loss or a move. */
  private opened = false
  noCall = false

  constructor (init: SignalChannelInit) {
    this.init = init
  }

  get closed (): boolean {
    return this.controller.signal.aborted
  }

  /** The connection the stream is on, while there is one. */
  get connection (): Connection | undefined {
    const stream = this.stream
    if (stream == null) { return undefined }
    return this.init.connectionManager.getConnections(this.init.peerId).find(c => c.streams.includes(stream))
  }

  send (signal: Signal): void {
    if (this.closed || this.noCall) { return }
    if (this.queue.length >= MAX_OUTBOUND_SIGNALS) {
      this.overflow()
      return
    }
    this.queue.push(signal)
    void this.flush()
  }

  /** Signals waiting to be written. */
  get queued (): number {
    return this.queue.length
  }

  /** Too much waits to be written: forget it, and resync on a new stream (the one we have, if any, is not read). */
  private overflow (): void {
    this.init.log('%d signals to %p wait to be written: dropping them and the stream, the next one starts with a resync', this.queue.length, this.init.peerId)
    this.queue = []
    this.resyncOwed = true
    const stream = this.stream
    if (stream != null) {
      this.onStreamLost(stream)
      stream.abort(new SignallingOverloadError(`${MAX_OUTBOUND_SIGNALS} signals were not written`))
    }
    void this.flush()
  }

  /** A direct connection appeared: move signalling off the limited relayed one. */
  upgrade (): void {
    if (this.closed || this.noCall || this.connection?.limits == null) { return }
    this.init.log('moving signalling with %p to a direct connection', this.init.peerId)
    const old = this.detach()
    if (old != null) { void old.close({ signal: AbortSignal.timeout(this.init.openTimeout) }).catch((err: any) => { old.abort(err) }) }
    this.resyncOwed = true
    void this.flush()
  }

  /**
   * The call's media path with this participant just broke (ICE 'disconnected'). If our stream is on a direct WebRTC
   * connection, that connection runs between the same two hosts over the same network and is taken as broken too:
   * ICE on it notices seconds later, and until libp2p closes it every signal written there (the ICE restart's offer
   * and answer) is lost. So it is closed now: the stream reopens on the relayed connection (or a new one), the resync
   * on it restarts ICE, and the direct-connection service dials a new direct connection. A direct TCP connection is
   * kept (its path is not the media's).
   */
  pathBroke (): void {
    const connection = this.connection
    if (this.closed || this.noCall || connection == null || connection.limits != null || connection.status !== 'open') { return }
    if (!connection.remoteAddr.getComponents().some(c => c.name === 'webrtc')) { return }
    this.init.log('the media path with %p broke: closing the direct connection signalling used', this.init.peerId)
    connection.abort(new Error('the media path between us broke'))
  }

  /**
   * Stop for good; with `bye`, tell the other side first (when a stream is open). Resolves once our end of the stream
   * is closed, or given up at the open timeout or when `options.signal` aborts; never rejects. The other side's end is
   * cut if it is still open STREAM_LINGER later (`closeStream`).
   */
  async close (options: AbortOptions & { bye?: boolean } = {}): Promise<void> {
    if (this.closed) { return }
    const pb = this.pb
    const stream = this.detach()
    this.queue = []
    this.controller.abort(new CallEndedError('signalling closed'))
    if (stream == null || pb == null) { return }
    const deadline = AbortSignal.timeout(this.init.openTimeout)
    const signal = options.signal == null ? deadline : AbortSignal.any([options.signal, deadline])
    try {
      if (options.bye === true) { await pb.write({ tracks: [], bye: true }, { signal }) }
      await closeStream(stream, { signal })
    } catch (err: any) {
      stream.abort(err)
    }
  }

  private detach (): Stream | undefined {
    const stream = this.stream
    this.stream = undefined
    this.pb = undefined
    return stream
  }

  private bestConnection (): Connection | undefined {
    const conns = this.init.connectionManager.getConnections(this.init.peerId).filter(c => c.status === 'open')
    return conns.find(c => c.limits == null) ?? conns[0]
  }

  /** Open our stream on `connection` and write the hello; a stream that does not open must not outlast `signal`. */
  private async hello (connection: Connection, signal: AbortSignal): Promise<{ stream: Stream, pb: ProtobufStream<Stream> }> {
    const opening = connection.newStream(CALL_PROTOCOL, { signal, runOnLimitedConnection: true })
    const stream = await raceSignal(opening, signal).catch((err: any) => {
      opening.then(s => { s.abort(err) }, () => {})
      throw err
    })
    const pb = pbStream(stream, { maxDataLength: this.init.maxMessageSize })
    try {
      await raceSignal(pb.write({ roomId: new Uint8Array(this.init.roomId) }, HelloCodec, { signal }), signal)
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
    return { stream, pb }
  }

  /**
   * A direct connection on which our stream did not open within the deadline, or failed to open, is dead for the
   * call: seen in browser.spec, a WebRTC connection between two pages stayed 'open' while every stream opened on it
   * timed out or failed, and since a direct connection is preferred, signalling never left it (both offers unanswered
   * for the whole call). It is closed, so the next open takes the relayed connection and the direct-connection
   * service dials a new one, to which signalling moves (`upgrade`). A relayed connection is left to libp2p.
   */
  private dropDead (connection: Connection, err: any): void {
    if (this.closed || connection.limits != null || connection.status !== 'open') { return }
    this.init.log('no stream opens on the direct connection to %p: closing it - %e', this.init.peerId, err)
    connection.abort(err instanceof Error ? err : new Error('no stream opens on it'))
  }

  /** The stream we wrote on ended without us closing it: reopen, and resync on the new one. */
  private onStreamLost (stream: Stream): void {
    if (this.stream !== stream) { return }
    this.detach()
    if (this.closed) { return }
    this.init.log('signalling stream to %p was lost (%s after %d ms)', this.init.peerId, stream.status, Date.now() - this.openedAt)
    if (Date.now() - this.openedAt >= this.init.provenAfter) { this.backoff.reset() }
    this.lost = true
    this.resyncOwed = true
    void this.flush()
  }

  private async open (): Promise<void> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.openTimeout)])
    const connection = this.bestConnection() ?? await this.init.connectionManager.openConnection(this.init.peerId, { signal })
    const { stream, pb } = await this.hello(connection, signal).catch((err: any) => {
      // past the deadline, or failed with a bare event (a data channel that never opened): not a refusal by the peer
      if (signal.aborted || !(err instanceof Error)) { this.dropDead(connection, err) }
      throw err
    })
    if (this.closed) {
      stream.abort(new CallEndedError('signalling closed'))
      return
    }
    this.stream = stream
    this.pb = pb.pb(SignalCodec)
    this.openedAt = Date.now()
    stream.addEventListener('close', () => { this.onStreamLost(stream) }, { once: true })
    if (stream.status !== 'open') { this.onStreamLost(stream) }
  }

  private async flush (): Promise<void> {
    if (this.flushing || this.closed || this.noCall) { return }
    this.flushing = true
    try {
      while (!this.closed) {
        if (this.pb == null && !await this.reopen()) { return }
        if (this.pb == null) { continue }
        const next = this.queue.shift()
        if (next == null) { return }
        await this.write(this.pb, next)
      }
    } finally {
      this.flushing = false
    }
  }

  /** Open a stream, after a pause if the last one was lost, and resync on it if needed; false when the channel stopped. */
  private async reopen (): Promise<boolean> {
    if (this.lost) {
      await this.backoff.wait({ signal: this.controller.signal })
      if (this.closed) { return false }
    }
    try {
      await this.open()
    } catch (err: any) {
      if (this.closed) { return false }
      if (err.name === 'UnsupportedProtocolError') {
        this.noCall = true
        this.queue = []
        this.init.onNoCall()
        return false
      }
      this.init.log('cannot open signalling to %p - %e', this.init.peerId, err)
      this.lost = true
      return true
    }
    if (this.pb == null) { return true }
    this.lost = false
    if (this.opened) { this.resyncOwed = true }
    this.opened = true
    if (this.resyncOwed) {
      this.resyncOwed = false
      // ahead of whatever waits in the queue: it may depend on what the other side missed
      const waiting = this.queue.splice(0)
      this.init.onResync()
      this.queue.push(...waiting)
    }
    return true
  }

  private async write (pb: ProtobufMessageStream<Signal, Stream>, signal: Signal): Promise<void> {
    try {
      await pb.write(signal, { signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.openTimeout)]) })
    } catch (err: any) {
      if (this.closed) { return }
      this.init.log('signalling to %p broke - %e', this.init.peerId, err)
      this.queue.unshift(signal)
      const stream = this.stream
      if (stream != null && this.pb === pb) {
        this.onStreamLost(stream)
        stream.abort(err)
      }
    }
  }
}
