/**
 * Trusted proxies: behind a TLS-terminating proxy (docs/app.md) every browser's WebSocket comes from the proxy's
 * address, so every per-address limit (connections, reservations) would count all browsers as one. When the TCP peer
 * of a WebSocket upgrade is a configured proxy, its client's address is taken from `X-Forwarded-For`; from anyone
 * else the header is ignored. libp2p's WebSockets listener takes the remote address from `req.socket.remoteAddress`
 * of the upgrade request: the request class we give its HTTP server (Node's documented `IncomingMessage` option)
 * answers that with the forwarded address.
 */
import { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { Socket } from 'node:net'

/** Longest X-Forwarded-For header read: a few hops, not a list an attacker made long. */
export const MAX_FORWARDED_FOR = 1024

export class TrustedProxyError extends Error {
  static name = 'TrustedProxyError'
  name = 'TrustedProxyError'
}

/** An IPv4-mapped IPv6 address as its IPv4 address, anything else as it is. */
function plain (ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
}

/** Check `--trusted-proxy` values: IP addresses only. */
export function parseTrustedProxies (values: string[]): Set<string> {
  for (const v of values) {
    if (isIP(v) === 0) { throw new TrustedProxyError(`--trusted-proxy takes an IP address, got '${v}'`) }
  }
  return new Set(values.map(plain))
}

/**
 * The client's address for a request whose TCP peer is `peer`: the right-most address of `X-Forwarded-For` that is
 * not itself a trusted proxy (each proxy appends the address it saw), or the peer itself when it is no trusted proxy,
 * the header is missing or garbled.
 */
export function clientAddress (peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: Set<string>): string | undefined {
  if (peer == null || !trusted.has(plain(peer))) { return peer }
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor
  if (header == null || header.length > MAX_FORWARDED_FOR) { return peer }
  const hops = header.split(',').map(h => h.trim()).reverse()
  for (const hop of hops) {
    if (isIP(hop) === 0) { return peer }
    if (!trusted.has(plain(hop))) { return hop }
  }
  return peer
}

/**
 * An `IncomingMessage` class for `http.createServer({ IncomingMessage })` whose `socket.remoteAddress` is the
 * forwarded client's address when the request came through a trusted proxy. Everything else of the socket is the
 * socket's own.
 */
export function forwardedIncomingMessage (trusted: Set<string>): typeof IncomingMessage {
  return class ForwardedIncomingMessage extends IncomingMessage {
    constructor (socket: Socket) {
      super(socket)
      let real: Socket | null = this.socket
      let view: Socket | null = null
      Object.defineProperty(this, 'socket', {
        configurable: true,
        enumerable: true,
        get: () => {
          if (real == null || !trusted.has(plain(real.remoteAddress ?? ''))) { return real }
          const forwarded = (t: Socket): string | undefined => clientAddress(t.remoteAddress, this.headers['x-forwarded-for'], trusted)
          view ??= new Proxy(real, {
            get: (t, prop) => {
              if (prop === 'remoteAddress') { return forwarded(t) }
              if (prop === 'remoteFamily') { return isIP(forwarded(t) ?? '') === 6 ? 'IPv6' : 'IPv4' }
              const value = Reflect.get(t, prop, t)
              return typeof value === 'function' ? value.bind(t) : value
            }
          })
          return view
        },
        set: (value: Socket | null) => {
          real = value
          view = null
        }
      })
    }
  }
}
