/** The call protocol's decoders (protocols/call/messages.ts): CallHello and Signal with their SDP and candidate caps. */
import { decodeHello, decodeSignal } from '../../protocols/call/messages.ts'
import { CallHello, Signal } from '../../protocols/call/pb/call.ts'
import { bytesOf, choose, named, tagged } from './common.ts'
import type { FuzzTarget } from '../engine.ts'

export const SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n' +
  'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n' +
  'a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host\r\n' +
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n'

export const target: FuzzTarget = {
  name: 'call-messages',
  about: 'decodeHello (CallHello) and decodeSignal (Signal: description, candidate, tracks, media state, bye)',
  async seeds () {
    return [
      tagged(0, CallHello.encode({ roomId: new Uint8Array(16).fill(7) })),
      tagged(1, Signal.encode({ description: { type: 'offer', sdp: SDP }, tracks: [] })),
      tagged(1, Signal.encode({ candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'abcd' }, tracks: [] })),
      tagged(1, Signal.encode({ tracks: [{ streamId: 's1', kind: 'camera' }, { streamId: 's2', kind: 'screen' }], state: { mic: true, camera: false, screen: true }, bye: true })),
      tagged(1, bytesOf('\x08\x01'))
    ]
  },
  run (input) {
    const [which, bytes] = choose(input, 2)
    if (which === 0) { decodeHello(bytes) } else { decodeSignal(bytes) }
  },
  expected: named('InvalidCallMessageError')
}
