/** A room key or link as a person pastes it: normaliseRoomKey, parseRoomKey and deriveRoomKeys. */
import { deriveRoomKeys } from '../../protocols/room-key/index.ts'
import { bytesOf, named, ROOM_KEY, text } from './common.ts'
import type { FuzzTarget } from '../engine.ts'

export const target: FuzzTarget = {
  name: 'room-key',
  about: 'deriveRoomKeys (normalise, base32, checksum, version) on any text',
  async seeds () {
    return [
      bytesOf(ROOM_KEY),
      bytesOf('AEAA-CAQD-AQCQ-MBYI-BEFA-WDAN-BYHW-77ND'),
      bytesOf(`https://meet.example.org/#room=${ROOM_KEY}`),
      bytesOf(`https://meet.example.org/?x=1&room=${ROOM_KEY.slice(0, 10)}%2D${ROOM_KEY.slice(10)}`)
    ]
  },
  async run (input) {
    await deriveRoomKeys(text(input))
  },
  expected: named('InvalidRoomKeyError')
}
