/**
 * A peer node for the unit specs: the overlay's peer options, TCP as Node's platform transport, WebRTC bound as the
 * CLI binds it, and an in-process relay as its only bootstrap address.
 */
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { defaultWebRTCBind } from '../../node/peer.ts'
import { overlayOptions } from '../../protocols/overlay/index.ts'
import type { OverlayInit } from '../../protocols/overlay/index.ts'
import type { PrivateKey } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

export async function peerNode<T extends Libp2p = Libp2p> (relay: Pick<Libp2p, 'getMultiaddrs'>, privateKey: PrivateKey, listen: string[], init: Partial<OverlayInit> = {}): Promise<T> {
  const bind = defaultWebRTCBind()
  return await createLibp2p(overlayOptions({
    role: 'peer',
    privateKey,
    listen,
    bootstrap: [relay.getMultiaddrs()[0].toString()],
    transports: [tcp()],
    rtcExtra: bind != null ? { bindAddress: bind } : undefined,
    ...init
  })) as unknown as T
}
