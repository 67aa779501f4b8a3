/**
 * Looking at coturn from outside: are its ports free before it starts (coturn binds with SO_REUSEPORT, so a second
 * coturn on the same port would start and silently share the traffic), and does it answer a STUN Binding request.
 */
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { isIP } from 'node:net'

async function tcpFree (host: string, port: number): Promise<number | undefined> {
  const server = createServer()
  return new Promise(resolve => {
    server.once('error', () => { resolve(undefined) })
    server.listen({ host, port, exclusive: true }, () => {
      const addr = server.address()
      const bound = typeof addr === 'object' && addr != null ? addr.port : undefined
      server.close(() => { resolve(bound) })
    })
  })
}

async function udpFree (host: string, port: number): Promise<boolean> {
  const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false })
  return new Promise(resolve => {
    socket.once('error', () => {
      try { socket.close() } catch { /* it never bound */ }
      resolve(false)
    })
    socket.bind({ address: host, port, exclusive: true }, () => { socket.close(() => { resolve(true) }) })
  })
}

/** The first of `ports` that is taken on one of `hosts` (UDP or TCP), in words; undefined when all are free. */
export async function portsInUse (hosts: string[], ports: number[]): Promise<string | undefined> {
  for (const port of ports) {
    for (const host of hosts) {
      const h = isIP(host) === 6 ? `[${host}]` : host
      if (await tcpFree(host, port) == null) { return `TCP ${h}:${port} is in use` }
      if (!(await udpFree(host, port))) { return `UDP ${h}:${port} is in use` }
    }
  }
  return undefined
}

/** A port free for TCP and UDP on every host, other than `taken` (for --turn-port 0). */
export async function freePort (hosts: string[], taken: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tcpFree(hosts[0], 0)
    if (port != null && !taken.includes(port) && await portsInUse(hosts, [port]) == null) { return port }
  }
  throw new Error('found no port free for TURN on ' + hosts.join(', '))
}

/** Send one STUN Binding request over UDP; true when a success response with the same transaction id comes back. */
export async function stunBinding (host: string, port: number, timeoutMs: number): Promise<boolean> {
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4')
  const txid = randomBytes(12)
  const request = Buffer.alloc(20)
  request.writeUInt16BE(0x0001, 0)
  request.writeUInt32BE(0x2112a442, 4)
  txid.copy(request, 8)
  let finished = false
  return new Promise(resolve => {
    const done = (ok: boolean): void => {
      if (finished) { return }
      finished = true
      clearTimeout(timer)
      socket.close()
      resolve(ok)
    }
    const timer = setTimeout(() => { done(false) }, timeoutMs)
    socket.on('error', () => { done(false) })
    socket.on('message', (msg) => {
      if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(txid)) { done(true) }
    })
    socket.send(request, port, host)
  })
}
