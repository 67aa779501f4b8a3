/** Bounding work that takes no signal of its own (a gossipsub publish) by a caller's signal. */

/**
 * Resolve as `promise` does, or reject with the signal's reason as soon as it aborts (at once if it already has).
 * The work itself goes on; only the wait for it ends.
 */
export async function raceSignal<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) { return promise }
  if (signal.aborted) {
    promise.catch(() => {})
    throw signal.reason
  }
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
    promise.catch(() => {})
  }
}
