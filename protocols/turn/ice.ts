/**
 * A node's ICE configuration: the STUN/TURN servers of every relay the TURN client holds credentials from, then the
 * servers the user named explicitly, and the transport policy ('relay' hides this peer's address). Read afresh for
 * each new RTCPeerConnection (the call's, and libp2p's WebRTC transport's); a `change` event says when a live
 * connection should be given the new servers. Never a third-party server by default.
 */
import { TypedEventEmitter } from 'main-event'
import type { TurnClient } from './index.ts'

export interface IceConfigInit {
  /**
   * Servers added explicitly by the user or operator, after the relays' own.
   *
   * @default []
   */
  iceServers?: RTCIceServer[]
  /**
   * Send media only through TURN (`iceTransportPolicy: 'relay'`): nobody but the relay's TURN server learns this
   * peer's address.
   *
   * @default false
   */
  relayOnly?: boolean
}

export interface IceConfigEvents {
  /** The servers changed (credentials arrived, were renewed or expired); the detail is the new configuration. */
  change: CustomEvent<RTCConfiguration>
}

/** A server that can give a relay candidate: a turn: or turns: URL with a username and credential. */
export function isTurnServer (server: RTCIceServer): boolean {
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls]
  return urls.some(u => /^turns?:/i.test(u)) && server.username != null && server.username !== '' && server.credential != null && server.credential !== ''
}

export class IceConfig extends TypedEventEmitter<IceConfigEvents> {
  readonly [Symbol.toStringTag] = '@freeflow/ice'
  readonly relayOnly: boolean
  private readonly extra: RTCIceServer[]
  private turn?: TurnClient

  constructor (init: IceConfigInit = {}) {
    super()
    this.relayOnly = init.relayOnly === true
    this.extra = (init.iceServers ?? []).map(s => ({ ...s, urls: Array.isArray(s.urls) ? [...s.urls] : s.urls }))
  }

  /** Take the relays' servers from this TURN client from now on (the overlay calls it when the client is made). */
  follow (turn: TurnClient): void {
    this.turn?.removeEventListener('change', this.onChange)
    this.turn = turn
    turn.addEventListener('change', this.onChange)
  }

  /** The servers now: every relay's (STUN, TURN over UDP, TCP and TLS as each lists them), then the explicit ones. */
  iceServers (): RTCIceServer[] {
    return [...(this.turn?.iceServers() ?? []), ...this.extra.map(s => ({ ...s, urls: Array.isArray(s.urls) ? [...s.urls] : s.urls }))]
  }

  /** A fresh configuration for one new RTCPeerConnection. */
  configuration (): RTCConfiguration {
    return { iceServers: this.iceServers(), iceTransportPolicy: this.relayOnly ? 'relay' : 'all' }
  }

  /** Whether a relay candidate can be gathered now: some TURN server with credentials is known. */
  canRelay (): boolean {
    return this.iceServers().some(isTurnServer)
  }

  private readonly onChange = (): void => {
    this.safeDispatchEvent('change', { detail: this.configuration() })
  }
}
