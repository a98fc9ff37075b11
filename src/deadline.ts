/** How long one statement or transaction of leakless may wait for the server. @default 120000 */
export const DEFAULT_QUERY_TIMEOUT_MS = 120_000

/**
 * Settles like `work`, or rejects with `onTimeout()` after `ms` (then calls `abandon`, e.g. to cancel the
 * query); a late rejection of `work` is swallowed. Every wait on the server goes through a bound.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  abandon?: () => void,
): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return work
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      work.catch(() => {})
      try {
        abandon?.()
      } catch {
        // cancelling is best effort
      }
      reject(onTimeout())
    }, ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/** How long idempotent work (cleanup, audit, registry updates) keeps trying while the server is away. */
export const RECONNECT_WINDOW_MS = 10_000

/** Backoff between attempts while the server is away: 100 ms doubling to 2 s. */
const delays = (attempt: number) => Math.min(2000, 100 * 2 ** (attempt - 1))

/**
 * Runs `attempt` again while it fails with an error `retryable` accepts, until `withinMs` has passed;
 * the last failure is rethrown. Only for work that is safe to repeat.
 */
export async function retryWhile<T>(
  attempt: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  withinMs = RECONNECT_WINDOW_MS,
): Promise<T> {
  const until = Date.now() + withinMs
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (error) {
      const wait = delays(n)
      if (!retryable(error) || Date.now() + wait > until) throw error
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}
