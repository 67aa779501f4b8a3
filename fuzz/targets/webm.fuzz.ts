/**
 * The WebM readers (protocols/webm/ebml.ts, duration.ts, stream.ts) on a recording's bytes: Duration read and set,
 * the last Cluster and block of a tail, Tracks, and the streaming scanner fed in chunks from the start or a Cluster.
 */
import { webmDuration, setWebmDuration, lastClusterOffset } from '../../protocols/webm/duration.ts'
import { lastBlock, parseTracks, WebmScanner } from '../../protocols/webm/stream.ts'
import { choose, named, tagged } from './common.ts'
import { webmFiles } from './webm-file.ts'
import type { FuzzTarget } from '../engine.ts'

export const target: FuzzTarget = {
  name: 'webm',
  about: 'webmDuration, setWebmDuration, lastClusterOffset, lastBlock, parseTracks, WebmScanner',
  async seeds () {
    return webmFiles().flatMap(file => [0, 1, 2, 3].map(i => tagged(i, file)))
  },
  run (input) {
    const [which, bytes] = choose(input, 4)
    switch (which) {
      case 0:
        webmDuration(bytes)
        setWebmDuration(bytes, 1234.5)
        break
      case 1: {
        const at = lastClusterOffset(bytes)
        lastBlock(at >= 0 ? bytes.subarray(at) : bytes)
        lastBlock(bytes, 2)
        break
      }
      case 2:
        parseTracks(bytes, 0, bytes.length)
        parseTracks(bytes, 0, bytes.length + 100)
        break
      case 3: {
        // chunk sizes from the input itself, so that element headers get split at every place
        const scanner = new WebmScanner({ maxElement: 4096 })
        const step = 1 + (bytes[0] ?? 0) % 61
        for (let i = 0; i < bytes.length; i += step) { scanner.push(bytes.subarray(i, i + step)) }
        const at = lastClusterOffset(bytes)
        if (at >= 0) { new WebmScanner({ fromCluster: true }).push(bytes.subarray(at)) }
        break
      }
    }
  },
  expected: named('WebmFormatError')
}
