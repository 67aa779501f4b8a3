/** The relay's HTTP side: /healthz, /metrics (Prometheus) and the web app's static files. */
import { createServer, type Server } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import client from 'prom-client'
import type { Libp2p } from '@libp2p/interface'

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

export async function startHttp (init: { host: string, port: number, node: Libp2p<any>, appDir?: string }): Promise<HttpServer> {
  const { node } = init
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://relay').pathname
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end()
        return
      }
      if (path === '/healthz') {
        const body = JSON.stringify({
          status: node.status === 'started' ? 'ok' : node.status,
          peerId: node.peerId.toString(),
          connections: node.getConnections().length,
          reservations: node.services.relay?.reservations?.size ?? 0,
          addrs: node.getMultiaddrs().map(a => a.toString())
        })
        res.writeHead(node.status === 'started' ? 200 : 503, { 'content-type': 'application/json' }).end(body)
        return
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': client.register.contentType }).end(await client.register.metrics())
        return
      }
      if (path === '/bootstrap.json') {
        // the web app served here bootstraps from this relay
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(JSON.stringify({ peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) }))
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
        if (!(await stat(file)).isFile()) throw new Error('not a file')
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
