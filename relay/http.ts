/**
 * The relay's HTTP side: the public listener (/healthz, /bootstrap.json and the built web app's static files) and
 * a separate metrics listener (/metrics, Prometheus), on loopback unless the operator says otherwise.
 */
import { constants } from 'node:fs'
import { open, realpath } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import client from 'prom-client'
import type { RelayTurn } from './turn/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'

/** What the app is made of; any other file in its folder (a README, a .txt someone left) is not served. */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json'
}

/** Connections the public listener holds at once (past it Node closes new sockets); a page load takes a few. */
export const DEFAULT_HTTP_MAX_CONNECTIONS = 256
/** Connections the metrics listener holds at once: only a scraper or an operator connects. */
const METRICS_MAX_CONNECTIONS = 16
/** A client has this long to send its request headers (Node's 60 s lets a slow sender hold a socket a minute). */
const HEADERS_TIMEOUT = 5_000
/** ...and its whole request (Node's default: 300 s); every request here is a GET without a body. */
const REQUEST_TIMEOUT = 10_000
/** An idle keep-alive connection is closed after this. */
const KEEP_ALIVE_TIMEOUT = 5_000
/** A socket that moves no byte either way for this long is closed: a reader that stopped reading holds a file open. */
const IDLE_TIMEOUT = 30_000
/** How often Node checks the header and request deadlines (its default, 30 s, would let them run that late). */
const DEADLINE_CHECK_INTERVAL = 1_000
/**
 * Files up to this size are kept in memory once read, and every client of a file is sent the same buffer: 200
 * readers of the 4.4 MiB source map hold 4.4 MiB, not 200 copies (the built app's largest file is 4.4 MiB).
 */
const CACHED_FILE_MAX = 8 * 1024 * 1024
/** Bytes the cache holds at most (the whole built app is 5.6 MiB); least recently used files leave first. */
const CACHE_MAX = 32 * 1024 * 1024
/** Bytes read ahead of the socket for a larger file, streamed: what one stalled reader of it makes the relay hold. */
const READ_CHUNK = 64 * 1024

export interface HttpServer {
  url: string
  close(): Promise<void>
}

export interface HttpInit {
  host: string
  port: number
  node: Libp2p<any>
  /** Folder with the built web app, served at /; nothing but /healthz and /bootstrap.json without it. */
  appDir?: string
  turn?: RelayTurn
  /**
   * Origins that may embed the app in a frame (CSP frame-ancestors); none when empty.
   *
   * @default []
   */
  frameAncestors?: string[]
  /**
   * Serve the bundle's source maps (`.map`).
   *
   * @default false
   */
  sourceMaps?: boolean
  /**
   * Connections held at once.
   *
   * @default DEFAULT_HTTP_MAX_CONNECTIONS
   */
  maxConnections?: number
}

/**
 * Headers on every response of the public listener. The CSP is what the built app needs and no more: its own
 * script, stylesheet and icon; connections to relays on other hosts (WebSockets) and fetches of /bootstrap.json and
 * DNS-over-HTTPS for /dnsaddr; the recorder's frame ticker, a worker made from a blob. WebRTC is not under CSP.
 */
export function securityHeaders (frameAncestors: string[] = []): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self' https: http: wss: ws:",
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`
  ].join('; ')
  return {
    'content-security-policy': csp,
    // for browsers without frame-ancestors; it cannot name other origins, so only when none may embed
    ...(frameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
    'x-content-type-options': 'nosniff',
    // the room key lives in the fragment: never let it leak through a Referer
    'referrer-policy': 'no-referrer',
    // camera, microphone and screen for the app itself (and, through an iframe's allow attribute, where it is embedded)
    'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()'
  }
}

/**
 * /healthz: 503 while the node is not started; 200 with status `degraded` and a reason while TURN is configured but
 * down (libp2p still works; calls behind NATs may not); 200 `ok` otherwise.
 */
function health (node: Libp2p<any>, turn?: RelayTurn): { code: number, body: Record<string, unknown> } {
  const t = turn?.status() ?? { status: 'off', urls: [], allocations: 0 }
  const started = node.status === 'started'
  let status: string = t.status === 'down' ? 'degraded' : 'ok'
  if (!started) { status = node.status }
  return {
    code: started ? 200 : 503,
    body: {
      status,
      ...(status === 'degraded' ? { reason: `TURN is down: ${t.reason ?? 'unknown'}` } : {}),
      peerId: node.peerId.toString(),
      connections: node.getConnections().length,
      reservations: node.services.relay?.reservations?.size ?? 0,
      addrs: node.getMultiaddrs().map(a => a.toString()),
      turn: { status: t.status, ...(t.reason != null && t.status !== 'up' ? { reason: t.reason } : {}), urls: t.urls, allocations: t.allocations }
    }
  }
}

/**
 * The app's file for a URL path, or undefined when it is not one: a path with a dot segment (a dotfile, `..`) or a
 * type the app is not made of, a source map unless asked for, or a file whose real path (symlinks followed) is
 * outside the app folder.
 */
async function appFile (appRoot: string, urlPath: string, sourceMaps: boolean): Promise<string | undefined> {
  let path: string
  try {
    path = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath)
  } catch {
    return undefined
  }
  const segments = path.split('/').filter(s => s !== '')
  if (segments.length === 0 || segments.some(s => s.startsWith('.') || s.includes('\\') || s.includes('\0'))) { return undefined }
  const type = extname(path)
  if (TYPES[type] == null || (type === '.map' && !sourceMaps)) { return undefined }
  let real: string
  try {
    real = await realpath(join(appRoot, ...segments))
  } catch {
    return undefined
  }
  return real.startsWith(appRoot + sep) ? real : undefined
}

/**
 * The app's files in memory, bounded in bytes. A file is read once however many ask at the same moment; an entry
 * is used only while the file's inode, size and modification time are those it was read with (a rebuilt app is
 * read again).
 */
class FileCache {
  private readonly entries = new Map<string, { version: string, size: number, body: Promise<Buffer> }>()
  private bytes = 0

  async get (file: string, handle: FileHandle, info: Stats): Promise<Buffer> {
    const version = `${info.ino}:${info.size}:${info.mtimeMs}`
    const found = this.entries.get(file)
    if (found?.version === version) {
      // most recently used last: the first entry is the one to evict
      this.entries.delete(file)
      this.entries.set(file, found)
      return found.body
    }
    this.drop(file)
    const body = handle.readFile()
    const entry = { version, size: info.size, body }
    this.entries.set(file, entry)
    this.bytes += info.size
    for (const [oldest] of this.entries) {
      if (this.bytes <= CACHE_MAX) { break }
      this.drop(oldest)
    }
    body.catch(() => { if (this.entries.get(file) === entry) { this.drop(file) } })
    return body
  }

  private drop (file: string): void {
    const entry = this.entries.get(file)
    if (entry == null) { return }
    this.entries.delete(file)
    this.bytes -= entry.size
  }
}

/**
 * Send one file: from the cache when it is small enough (one shared buffer, whatever the number of clients), else
 * streamed a chunk at a time as the socket takes it, so a client that stops reading holds one chunk.
 */
async function sendFile (req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string>, cache: FileCache): Promise<void> {
  // the real path's last part could be swapped for a symlink after the check: O_NOFOLLOW refuses to open it then
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined)
  if (handle == null) {
    res.writeHead(404, headers).end('not found\n')
    return
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) {
      res.writeHead(404, headers).end('not found\n')
      return
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)], 'content-length': String(info.size) })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    if (info.size <= CACHED_FILE_MAX) {
      res.end(await cache.get(file, handle, info))
      return
    }
    // the stream owns the handle from here: it closes it at the end or when the socket goes away
    const stream = handle.createReadStream({ highWaterMark: READ_CHUNK })
    await pipeline(stream, res).catch(() => {})
  } finally {
    await handle.close().catch(() => {})
  }
}

/** A server with short deadlines and a connection cap, listening; its URL and a close that ends every connection. */
async function listen (host: string, port: number, maxConnections: number, handler: RequestListener): Promise<HttpServer> {
  const server: Server = createServer({
    headersTimeout: HEADERS_TIMEOUT,
    requestTimeout: REQUEST_TIMEOUT,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT,
    connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL
  }, handler)
  server.maxConnections = maxConnections
  // no 'timeout' listener: Node destroys a socket that was idle this long
  server.setTimeout(IDLE_TIMEOUT)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { resolve() })
  })
  const addr = server.address()
  const bound = typeof addr === 'object' && addr != null ? addr.port : port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

export async function startHttp (init: HttpInit): Promise<HttpServer> {
  const { node } = init
  const headers = securityHeaders(init.frameAncestors)
  // symlinks in the folder's own path (/usr/lib → …) are fine: files are compared with its real path
  const appRoot = init.appDir != null ? await realpath(init.appDir).catch(() => undefined) : undefined
  const cache = new FileCache()
  return listen(init.host, init.port, init.maxConnections ?? DEFAULT_HTTP_MAX_CONNECTIONS, (req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, headers).end()
        return
      }
      const path = new URL(req.url ?? '/', 'http://relay').pathname
      if (path === '/healthz') {
        const { code, body } = health(node, init.turn)
        res.writeHead(code, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body))
        return
      }
      if (path === '/bootstrap.json') {
        // the web app served here bootstraps from this relay; TURN credentials come only over libp2p, never here
        res.writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()), turnUrls: init.turn?.status().urls ?? [] }))
        return
      }
      const file = appRoot != null ? await appFile(appRoot, path, init.sourceMaps === true) : undefined
      if (file == null) {
        res.writeHead(404, headers).end('not found\n')
        return
      }
      await sendFile(req, res, file, headers, cache)
    })().catch(() => { res.destroy() })
  })
}

/** /metrics (Prometheus text) on its own listener, so that the public one never shows it. */
export async function startMetrics (init: { host: string, port: number }): Promise<HttpServer> {
  return listen(init.host, init.port, METRICS_MAX_CONNECTIONS, (req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://relay').pathname
      if (path !== '/metrics') {
        res.writeHead(404).end('not found\n')
        return
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end()
        return
      }
      res.writeHead(200, { 'content-type': client.register.contentType }).end(await client.register.metrics())
    })().catch(() => { res.destroy() })
  })
}
