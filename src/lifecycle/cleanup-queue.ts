import { DEFAULT_QUERY_TIMEOUT_MS } from '../deadline.js'
import { CleanupError, InputError, isLeaklessError } from '../errors.js'

/** A test's cleanup that failed, or did not finish in time, in the background. */
export interface BackgroundCleanupFailure {
  /** The test's name (its scope's). */
  test: string
  /** The scope prefix whose rows the cleanup was to delete. */
  prefix: string
  error: unknown
}

export interface CleanupQueueOptions {
  /** Cleanups queued or running at most; a test that finds the queue full waits for room. @default 4 */
  limit?: number
  /** How long a wait for room, or for the queue to empty, may take (ms). @default 120000 */
  timeoutMs?: number
}

/** What a queued cleanup belongs to. */
export interface QueuedTest {
  /** The test's name. */
  name: string
  /** Its scope prefix. */
  prefix: string
}

/**
 * Tests' cleanups off the tests' path (`cleanup: 'background'`): a finished test queues its cleanup and
 * the next test starts at once. The cleanups run one at a time, in order, so one connection of the pool
 * serves them; at most `limit` wait or run, so memory and the pool stay bounded. Failures are kept with
 * the test's name until {@link drain}.
 *
 * @example
 * const queue = new CleanupQueue({ limit: 4 })
 * await queue.add({ name: scope.name, prefix: scope.prefix }, () => scope.cleanup())
 * const failures = await queue.drain() // before the worker's audit
 */
export class CleanupQueue {
  readonly limit: number
  readonly timeoutMs: number
  // Queued or running, in order.
  readonly #pending = new Set<QueuedTest>()
  readonly #failures: BackgroundCleanupFailure[] = []
  readonly #waiters = new Set<() => void>()
  // Entries a drain gave up waiting for: reported then, not again when they end.
  readonly #abandoned = new WeakSet<QueuedTest>()
  #tail: Promise<void> = Promise.resolve()

  constructor(options: CleanupQueueOptions = {}) {
    this.limit = positive(options.limit ?? 4, 'limit')
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, 'timeoutMs')
  }

  /** Cleanups queued or running. */
  get pending(): number {
    return this.#pending.size
  }

  /**
   * Queues `cleanup` for `test`; resolves once it is queued (at once, or when a place frees up). Rejects
   * with `CLEANUP_BACKGROUND_FAILED` when no place frees up within `timeoutMs`; nothing is queued then.
   */
  async add(test: QueuedTest, cleanup: () => Promise<unknown>): Promise<void> {
    const entry = { name: test.name, prefix: test.prefix }
    // The place is taken in the same turn as it is found free: two waiting tests never both take the last.
    await this.#until(
      () => this.#reserve(entry),
      () =>
        new CleanupError(
          'CLEANUP_BACKGROUND_FAILED',
          `Test "${test.name}" waited ${this.timeoutMs} ms for a place in the background cleanup queue, where ${count(this.#pending.size, 'cleanup')} (limit ${this.limit}) did not finish: ${this.#names()}. A cleanup is slow or waits for a lock; set cleanup: 'after-each' to see which test's cleanup it is at the test itself.`,
          { details: { test: test.name, pending: [...this.#pending].map((t) => t.name), timeoutMs: this.timeoutMs } },
        ),
    )
    this.#tail = this.#tail.then(async () => {
      // Given up by a drain before it started (the worker closed meanwhile): the worker's cleanup took over.
      if (this.#abandoned.has(entry)) return
      try {
        await cleanup()
      } catch (error) {
        if (!this.#abandoned.has(entry)) this.#failures.push({ test: entry.name, prefix: entry.prefix, error })
      } finally {
        this.#pending.delete(entry)
        this.#wake()
      }
    })
  }

  /**
   * Waits until every queued cleanup ended (at most `timeoutMs`), then hands over the failures since the
   * last drain; a cleanup still running then is a failure too. Never rejects.
   */
  async drain(): Promise<BackgroundCleanupFailure[]> {
    try {
      await this.#until(
        () => this.#pending.size === 0,
        () => new Error('timeout'),
      )
    } catch {
      for (const entry of this.#pending) {
        this.#abandoned.add(entry)
        this.#pending.delete(entry)
        this.#failures.push({
          test: entry.name,
          prefix: entry.prefix,
          error: new CleanupError(
            'CLEANUP_BACKGROUND_FAILED',
            `its cleanup did not finish within ${this.timeoutMs} ms (a slow cleanup, or one waiting for a lock).`,
            { details: { test: entry.name, prefix: entry.prefix, timeoutMs: this.timeoutMs } },
          ),
        })
      }
    }
    return this.#failures.splice(0)
  }

  #reserve(entry: QueuedTest): boolean {
    if (this.#pending.size >= this.limit) return false
    this.#pending.add(entry)
    return true
  }

  #names(): string {
    return [...this.#pending].map((t) => `"${t.name}"`).join(', ')
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  // Resolves when `ready()` (checked now and after every cleanup) is true; rejects after timeoutMs.
  #until(ready: () => boolean, timeout: () => Error): Promise<void> {
    if (ready()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!ready()) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(timeout())
      }, this.timeoutMs)
      this.#waiters.add(check)
    })
  }
}

/**
 * The error that fails a file (Vitest) or a worker (Playwright) whose background cleanups failed: it
 * names each test and its cleanup's own error; `also` (a leak report) is appended.
 */
export function backgroundCleanupError(
  failures: readonly BackgroundCleanupFailure[],
  where: string,
  also = '',
): CleanupError {
  const lines = failures.map((f) => `  test "${f.test}" (ids ${f.prefix}…): ${describeError(f.error)}`)
  const n = failures.length
  const error = new CleanupError(
    'CLEANUP_BACKGROUND_FAILED',
    `leakless: the background cleanup (cleanup: 'background') of ${n === 1 ? '1 test' : `${n} tests`} failed ${where}:\n${lines.join('\n')}\nThe worker's own cleanup then tried again; fix what the message says (with cleanup: 'after-each' the error is shown at the test itself).${also === '' ? '' : `\n${also}`}`,
    {
      cause: failures[0]?.error,
      details: {
        failures: failures.map((f) => ({
          test: f.test,
          prefix: f.prefix,
          code: isLeaklessError(f.error) ? f.error.code : null,
          message: (f.error as Error)?.message ?? String(f.error),
        })),
      },
    },
  )
  // The stack would point into leakless, not at the test: the message names it.
  error.stack = `${error.name}: ${error.message}`
  return error
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

function describeError(error: unknown): string {
  if (isLeaklessError(error)) return `${error.name} ${error.code}: ${error.message}`
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

function positive(value: number, name: string): number {
  if (Number.isInteger(value) && value > 0) return value
  throw new InputError(
    'OPTION_INVALID',
    `new CleanupQueue({ ${name} }) must be a whole number above 0; got ${String(value)}.`,
    { details: { [name]: value } },
  )
}
