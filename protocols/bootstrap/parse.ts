import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidBootstrapAddressError } from './errors.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Parse a bootstrap multiaddr, which must end in /p2p/<peerId>; throws one clear sentence otherwise. */
export function parseBootstrap (text: string): { addr: Multiaddr, peerId: PeerId } {
  let addr: Multiaddr
  try {
    addr = multiaddr(text)
  } catch (err: any) {
    throw new InvalidBootstrapAddressError(`bootstrap address '${text}' is not a multiaddr: ${err.message}`)
  }
  const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) {
    throw new InvalidBootstrapAddressError(`bootstrap address '${text}' must end in /p2p/<peer id>`)
  }
  try {
    return { addr, peerId: peerIdFromString(id) }
  } catch {
    throw new InvalidBootstrapAddressError(`bootstrap address '${text}' has an invalid peer id`)
  }
}
