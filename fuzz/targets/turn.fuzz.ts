/**
 * The TURN credential protocol: a relay's TurnResponse as the client reads it (protons with the URL limit, then
 * credentialsFrom), a client's TurnRequest as the relay reads it, and REST usernames (parseTurnUsername).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { credentialsFrom } from '../../protocols/turn/client.ts'
import { MAX_TURN_URLS } from '../../protocols/turn/constants.ts'
import { parseTurnUsername } from '../../protocols/turn/credentials.ts'
import { TurnRequest, TurnResponse } from '../../protocols/turn/pb/turn.ts'
import { bytesOf, choose, named, PROTONS_ERRORS, tagged, text } from './common.ts'
import type { FuzzTarget } from '../engine.ts'
import type { PeerId } from '@libp2p/interface'

let relay: PeerId

export const target: FuzzTarget = {
  name: 'turn',
  about: 'TurnResponse (client side, with credentialsFrom), TurnRequest (relay side), parseTurnUsername',
  async seeds () {
    relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    return [
      tagged(0, TurnResponse.encode({ status: TurnResponse.Status.OK, urls: ['turn:192.0.2.1:3478?transport=udp', 'stun:192.0.2.1:3478'], username: '1764036000:0123456789abcdef', credential: 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', ttl: 3600, retryAfter: 0 })),
      tagged(0, TurnResponse.encode({ status: TurnResponse.Status.RATE_LIMITED, urls: [], username: '', credential: '', ttl: 0, retryAfter: 30 })),
      tagged(1, TurnRequest.encode({})),
      tagged(2, bytesOf('1764036000:0123456789abcdef'))
    ]
  },
  run (input) {
    const [which, bytes] = choose(input, 3)
    if (which === 0) {
      credentialsFrom(relay, TurnResponse.decode(bytes, { limits: { urls: MAX_TURN_URLS } }), Date.now())
    } else if (which === 1) {
      TurnRequest.decode(bytes)
    } else {
      parseTurnUsername(text(bytes))
    }
  },
  expected: named(...PROTONS_ERRORS, 'InvalidTurnResponseError', 'RateLimitedError', 'TurnUnavailableError')
}
