/** The one abortable sleep and backoff every retry loop uses (protocols/util/backoff.ts). */
import { expect } from 'aegir/chai'
import { Backoff, sleep } from '../../protocols/util/backoff.ts'

describe('backoff', () => {
  it('doubles from the first pause up to the cap, and starts over after reset', () => {
    const b = new Backoff({ initial: 100, max: 1_000, jitter: 0 })
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).to.deep.equal([100, 200, 400, 800, 1_000, 1_000])
    b.reset()
    expect(b.next()).to.equal(100)
  })

  it('jitter takes at most its share off a pause, never adds to it', () => {
    const low = new Backoff({ initial: 1_000, max: 8_000, jitter: 0.2, random: () => 0.999999 })
    const high = new Backoff({ initial: 1_000, max: 8_000, jitter: 0.2, random: () => 0 })
    for (let i = 0; i < 6; i++) {
      const pause = Math.min(1_000 * 2 ** i, 8_000)
      expect(low.next()).to.equal(Math.round(pause * 0.8))
      expect(high.next()).to.equal(pause)
    }
  })

  it('a jitter outside [0, 1] is clamped, so a pause is never negative', () => {
    const b = new Backoff({ initial: 100, jitter: 5, random: () => 0.5 })
    expect(b.next()).to.be.at.least(0)
  })

  it('sleep ends as soon as its signal aborts, and at once if it was aborted before', async () => {
    const controller = new AbortController()
    const pending = sleep(60_000, { signal: controller.signal })
    controller.abort()
    await pending
    await sleep(60_000, { signal: AbortSignal.abort() })
  })

  it('wait() sleeps the next pause and can be aborted', async () => {
    const b = new Backoff({ initial: 60_000, max: 600_000, jitter: 0 })
    const controller = new AbortController()
    const pending = b.wait({ signal: controller.signal })
    controller.abort()
    await pending
    // the pause was used up: the next one is the doubled one
    expect(b.next()).to.equal(120_000)
  })
})
