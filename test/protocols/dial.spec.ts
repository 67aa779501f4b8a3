/**
 * withRetry (protocols/dial): every attempt has its own deadline, even one that ignores its signal; failures are
 * retried up to the count; and the caller's signal ends it at once, during an attempt or during a pause between two.
 */
import { expect } from 'aegir/chai'
import { DialTimeoutError, withRetry } from '../../protocols/dial/index.ts'
import { rejection } from '../helpers/assert.ts'

/** An attempt that never settles and ignores its signal: what a hung WebRTC dial did. */
async function hang (): Promise<never> {
  return new Promise<never>(() => {})
}

describe('withRetry', function () {
  // a pause or a deadline that cannot be cut short shows as this test timing out
  this.timeout(10_000)

  it('abandons an attempt that ignores its signal at its deadline, with DialTimeoutError, and aborts that attempt\'s signal', async () => {
    const signals: AbortSignal[] = []
    const err = await rejection(withRetry(async (signal) => { signals.push(signal); return hang() }, { attempts: 2, timeout: 100, backoff: 10 }))
    expect(err).to.be.an.instanceOf(DialTimeoutError)
    expect(err.name).to.equal('DialTimeoutError')
    expect(signals).to.have.lengthOf(2)
    expect(signals.every(s => s.aborted)).to.equal(true)
  })

  it('retries a failing attempt until it succeeds, and says so before each retry', async () => {
    const retries: Array<[number, string]> = []
    let calls = 0
    const result = await withRetry(async () => {
      calls++
      if (calls < 3) { throw new Error(`failure ${calls}`) }
      return 'connected'
    }, { attempts: 5, backoff: 1, onRetry: (n, err) => { retries.push([n, err.message]) } })
    expect(result).to.equal('connected')
    expect(calls).to.equal(3)
    expect(retries).to.deep.equal([[1, 'failure 1'], [2, 'failure 2']])
  })

  it('gives up after the number of attempts, with the last error', async () => {
    let calls = 0
    const err = await rejection(withRetry(async () => { calls++; throw new Error(`failure ${calls}`) }, { attempts: 3, backoff: 1 }))
    expect(calls).to.equal(3)
    expect(err.message).to.equal('failure 3')
  })

  it('ends at once with the caller\'s reason when its signal aborts during an attempt', async () => {
    const controller = new AbortController()
    let calls = 0
    const running = withRetry(async () => { calls++; return hang() }, { attempts: 3, timeout: 60_000, signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('hung up')) }, 50)
    const err = await rejection(running)
    expect(err.message).to.equal('hung up')
    expect(calls).to.equal(1)
  })

  it('ends at once with the caller\'s reason when its signal aborts during the pause between attempts', async () => {
    const controller = new AbortController()
    let calls = 0
    const running = withRetry(async () => { calls++; throw new Error('refused') }, {
      attempts: 3,
      backoff: 60_000,
      signal: controller.signal,
      onRetry: () => { setTimeout(() => { controller.abort(new Error('hung up')) }, 20) }
    })
    const err = await rejection(running)
    expect(err.message).to.equal('hung up')
    expect(calls).to.equal(1)
  })

  it('makes no attempt when its signal has already aborted', async () => {
    const controller = new AbortController()
    controller.abort(new Error('too late'))
    let calls = 0
    const err = await rejection(withRetry(async () => { calls++ }, { signal: controller.signal }))
    expect(err.message).to.equal('too late')
    expect(calls).to.equal(0)
  })
})
