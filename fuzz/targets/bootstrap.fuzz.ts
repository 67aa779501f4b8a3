/** parseBootstrap (protocols/bootstrap/parse.ts): a bootstrap multiaddr from a flag, a file or a link. */
import { parseBootstrap } from '../../protocols/bootstrap/parse.ts'
import { bytesOf, named, text } from './common.ts'
import type { FuzzTarget } from '../engine.ts'

export const target: FuzzTarget = {
  name: 'bootstrap',
  about: 'parseBootstrap on any text',
  async seeds () {
    const id = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
    return [
      bytesOf(`/ip4/192.0.2.1/tcp/4001/p2p/${id}`),
      bytesOf(`/ip6/2001:db8::1/tcp/4002/ws/p2p/${id}`),
      bytesOf(`/dns4/relay.example.org/tcp/443/wss/p2p/${id}/p2p-circuit/p2p/${id}`),
      bytesOf(`/ip4/192.0.2.1/udp/4001/webrtc-direct/certhash/uEiBkR0Cn-mnHTHaQ9uMqaZlh6mc1ywzUKGGFQ3A7_zH3xw/p2p/${id}`)
    ]
  },
  run (input) {
    parseBootstrap(text(input))
  },
  expected: named('InvalidBootstrapAddressError')
}
