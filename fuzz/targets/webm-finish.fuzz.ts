/** planFinish (protocols/webm/finish.ts): the in-place patches that give a live recording's Clusters their sizes. */
import { memorySource, planFinish } from '../../protocols/webm/finish.ts'
import { named } from './common.ts'
import { webmFiles } from './webm-file.ts'
import type { FuzzTarget } from '../engine.ts'

export const target: FuzzTarget = {
  name: 'webm-finish',
  about: 'planFinish over a recording held in memory, and its patches applied',
  async seeds () {
    return webmFiles()
  },
  async run (input) {
    const plan = await planFinish(memorySource(input), { width: 640, height: 360 })
    const out = input.slice()
    for (const p of plan.patches) {
      if (p.at < 0 || p.at + p.bytes.length > out.length) { throw new RangeError(`patch at ${p.at} of ${p.bytes.length} bytes is outside the file (${out.length} bytes)`) }
      out.set(p.bytes, p.at)
    }
  },
  expected: named('WebmFormatError')
}
