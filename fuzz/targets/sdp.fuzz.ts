/** What the call code reads from and writes into a peer's SDP (protocols/call/sdp.ts): none of it may throw. */
import { offeredDirection, originOf, withStartBitrate } from '../../protocols/call/sdp.ts'
import { SDP } from './call-messages.fuzz.ts'
import { bytesOf, text } from './common.ts'
import type { FuzzTarget } from '../engine.ts'

export const target: FuzzTarget = {
  name: 'sdp',
  about: 'withStartBitrate, originOf and offeredDirection on a peer\'s SDP',
  async seeds () {
    return [bytesOf(SDP), bytesOf(SDP.replaceAll('\r\n', '\n')), bytesOf(withStartBitrate(SDP, 1500))]
  },
  run (input) {
    const sdp = text(input)
    withStartBitrate(sdp, 1500)
    originOf(sdp)
    for (const mid of ['0', '1', '']) { offeredDirection(sdp, mid) }
  },
  expected: () => false
}
