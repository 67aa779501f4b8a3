/**
 * The page's link: `#room=<key>&bootstrap=<multiaddr>…`. The key stays in the fragment, which browsers never send
 * to a server.
 */

export interface Link {
  room: string
  bootstrap: string[]
}

export function readLink (): Link {
  const params = new URLSearchParams(location.hash.slice(1))
  return { room: params.get('room') ?? '', bootstrap: params.getAll('bootstrap') }
}

/** Put the room key in the address bar, so that the link there is the invite. */
export function setLinkRoom (key: string): void {
  const params = new URLSearchParams(location.hash.slice(1))
  params.set('room', key)
  history.replaceState(null, '', `#${params.toString()}`)
}

/**
 * Relays to start from: the WebSocket addresses of the relay that served the page (its `/bootstrap.json`) first,
 * then every `bootstrap=` in the link. A page can only dial WebSockets.
 */
export async function bootstrapAddrs (options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const addrs = [...readLink().bootstrap]
  try {
    const res = await fetch('/bootstrap.json', { cache: 'no-store', signal: options.signal })
    if (res.ok) {
      const info = await res.json()
      addrs.unshift(...(info.addrs as string[]).filter(a => a.includes('/ws')))
    }
  } catch {
    // not served by a relay (or it is down): the link's addresses are all there is
  }
  return [...new Set(addrs)]
}
