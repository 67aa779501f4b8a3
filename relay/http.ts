/** The relay's HTTP side: /healthz, /metrics (Prometheus), /bootstrap.json and the web app's static files. */
import { readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import client from 'prom-client'
import type { RelayTurn } from './turn/index.ts'
import type { Libp2p } from '@libp2p/interface'
import type { Server } from 'node:http'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json'
}

export interface HttpServer {
  url: string
  close(): Promise<void>
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

export async function startHttp (init: { host: string, port: number, node: Libp2p<any>, appDir?: string, turn?: RelayTurn }): Promise<HttpServer> {
  const { node } = init
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://relay').pathname
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end()
        return
      }
      if (path === '/healthz') {
        const { code, body } = health(node, init.turn)
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body))
        return
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': client.register.contentType }).end(await client.register.metrics())
        return
      }
      if (path === '/bootstrap.json') {
        // the web app served here bootstraps from this relay; TURN credentials come only over libp2p, never here
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()), turnUrls: init.turn?.status().urls ?? [] }))
        return
      }
      if (init.appDir == null) {
        res.writeHead(404).end('not found\n')
        return
      }
      const file = normalize(join(init.appDir, path === '/' ? 'index.html' : path))
      if (!file.startsWith(normalize(init.appDir) + sep) && file !== normalize(init.appDir)) {
        res.writeHead(403).end()
        return
      }
      try {
        if (!(await stat(file)).isFile()) { throw new Error('not a file') }
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          // the room key lives in the fragment: never let it leak through a Referer
          'referrer-policy': 'no-referrer',
          'x-content-type-options': 'nosniff'
        }).end(await readFile(file))
      } catch {
        res.writeHead(404).end('not found\n')
      }
    })().catch(() => { res.destroy() })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { resolve() })
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr != null ? addr.port : init.port
  const host = init.host.includes(':') ? `[${init.host}]` : init.host
  return {
    url: `http://${host}:${port}`,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
