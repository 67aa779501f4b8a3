/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err: any) {
    return err
  }
  throw new Error('expected a rejection, the promise resolved')
}

/** Wait until `check` holds, polling every 50 ms; fails the test with `what` after `timeoutMs`. */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) { throw new Error(`not within ${timeoutMs} ms: ${what}`) }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
