/**
 * The queue of `cleanup: 'background'`: cleanups run one at a time in order off the caller's path, a full
 * queue makes the next test wait (bounded), failures come back with their test at drain, and every wait
 * ends within `timeoutMs`.
 */
import { describe, expect, it } from 'vitest'
import { isLeaklessError } from '../../src/errors.js'
import { backgroundCleanupError, CleanupQueue } from '../../src/lifecycle/cleanup-queue.js'

/** A promise to settle by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((yes, no) => {
    resolve = yes
    reject = no
  })
  return { promise, resolve, reject }
}

const test = (n: number) => ({ name: `test ${n}`, prefix: `mi8d0k2wq3z9xa-1-${n}-` })
const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('CleanupQueue', () => {
  it('add() returns while the cleanup still runs; cleanups run one at a time, in order', async () => {
    const queue = new CleanupQueue({ limit: 3 })
    const gates = [deferred(), deferred(), deferred()]
    const events: string[] = []
    let running = 0
    let most = 0
    for (const [i, gate] of gates.entries()) {
      await queue.add(test(i), async () => {
        running++
        most = Math.max(most, running)
        events.push(`start ${i}`)
        await gate.promise
        events.push(`end ${i}`)
        running--
      })
    }
    // All three queued, none finished: the caller was not held up.
    expect(queue.pending).toBe(3)
    await tick()
    expect(events).toEqual(['start 0'])
    gates[1]!.resolve()
    gates[0]!.resolve()
    gates[2]!.resolve()
    expect(await queue.drain()).toEqual([])
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2'])
    expect(most).toBe(1)
    expect(queue.pending).toBe(0)
  })

  it('a full queue makes the next add() wait until a cleanup ends', async () => {
    const queue = new CleanupQueue({ limit: 2 })
    const first = deferred()
    await queue.add(test(1), () => first.promise)
    await queue.add(test(2), async () => {})
    let added = false
    const third = queue.add(test(3), async () => {}).then(() => (added = true))
    await tick()
    expect(added).toBe(false)
    expect(queue.pending).toBe(2)
    first.resolve()
    await third
    expect(added).toBe(true)
    expect(await queue.drain()).toEqual([])
  })

  it('two tests waiting for the last place: one gets it, the other waits for the next', async () => {
    const queue = new CleanupQueue({ limit: 1 })
    const gates = [deferred(), deferred(), deferred()]
    await queue.add(test(0), () => gates[0]!.promise)
    const order: number[] = []
    const waiting = [1, 2].map((n) => queue.add(test(n), () => gates[n]!.promise).then(() => order.push(n)))
    gates[0]!.resolve()
    await tick()
    // Never more than the limit: only one of the two got in.
    expect(order).toHaveLength(1)
    expect(queue.pending).toBe(1)
    gates[order[0]!]!.resolve()
    await Promise.all(waiting)
    gates[1]!.resolve()
    gates[2]!.resolve()
    expect(await queue.drain()).toEqual([])
  })

  it('a failure does not stop the cleanups after it and comes back with its test at drain, once', async () => {
    const queue = new CleanupQueue()
    const ran: number[] = []
    await queue.add(test(1), async () => void ran.push(1))
    await queue.add(test(2), async () => {
      throw new Error('nullable dependent')
    })
    await queue.add(test(3), async () => void ran.push(3))
    const failures = await queue.drain()
    expect(ran).toEqual([1, 3])
    expect(failures).toHaveLength(1)
    expect(failures[0]!.test).toBe('test 2')
    expect(failures[0]!.prefix).toBe(test(2).prefix)
    expect((failures[0]!.error as Error).message).toBe('nullable dependent')
    expect(await queue.drain()).toEqual([])
  })

  it('drain() waits for every queued cleanup', async () => {
    const queue = new CleanupQueue()
    let done = false
    await queue.add(test(1), () => new Promise<void>((resolve) => setTimeout(() => ((done = true), resolve()), 50)))
    expect(done).toBe(false)
    await queue.drain()
    expect(done).toBe(true)
  })

  it('drain() is bounded: a cleanup that never ends is a failure after timeoutMs, reported once', async () => {
    const queue = new CleanupQueue({ timeoutMs: 50 })
    const stuck = deferred()
    await queue.add(test(1), () => stuck.promise)
    const started = Date.now()
    const failures = await queue.drain()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(failures.map((f) => f.test)).toEqual(['test 1'])
    const error = failures[0]!.error
    expect(isLeaklessError(error) && error.code).toBe('CLEANUP_BACKGROUND_FAILED')
    expect((error as Error).message).toContain('did not finish within 50 ms')
    // It fails later: already reported, not again.
    stuck.reject(new Error('late'))
    await tick()
    expect(await queue.drain()).toEqual([])
  })

  it('a cleanup queued behind one that never ends is given up by the drain, and never runs after it', async () => {
    const queue = new CleanupQueue({ timeoutMs: 50 })
    const stuck = deferred()
    let ran = false
    await queue.add(test(1), () => stuck.promise)
    await queue.add(test(2), async () => void (ran = true))
    const failures = await queue.drain()
    expect(failures.map((f) => f.test)).toEqual(['test 1', 'test 2'])
    expect(queue.pending).toBe(0)
    stuck.resolve()
    await tick()
    expect(ran).toBe(false)
  })

  it('waiting for a place is bounded: CLEANUP_BACKGROUND_FAILED names the tests in the queue; nothing is queued', async () => {
    const queue = new CleanupQueue({ limit: 1, timeoutMs: 50 })
    const stuck = deferred()
    await queue.add(test(1), () => stuck.promise)
    let ran = false
    const error = await queue.add(test(2), async () => void (ran = true)).catch((e: unknown) => e)
    expect(isLeaklessError(error) && error.code).toBe('CLEANUP_BACKGROUND_FAILED')
    expect((error as Error).message).toMatch(
      /^Test "test 2" waited 50 ms for a place in the background cleanup queue, where 1 cleanup \(limit 1\) did not finish: "test 1"\./,
    )
    stuck.resolve()
    expect(await queue.drain()).toEqual([])
    expect(ran).toBe(false)
  })

  it('refuses a limit or timeout that is not a whole number above 0', () => {
    expect(() => new CleanupQueue({ limit: 0 })).toThrow(/limit.*whole number above 0; got 0/)
    expect(() => new CleanupQueue({ timeoutMs: 1.5 })).toThrow(/timeoutMs.*got 1\.5/)
  })
})

describe('backgroundCleanupError', () => {
  it('names each test, its ids and its cleanup error with code; keeps the first as cause', () => {
    const cause = Object.assign(new Error('Cleanup stopped, nothing deleted: x'), { code: 'X' })
    const error = backgroundCleanupError(
      [
        { test: 'a.test.ts > one', prefix: 'p-1-', error: cause },
        { test: 'a.test.ts > two', prefix: 'p-2-', error: 'plain' },
      ],
      'in this test file',
      'leak report',
    )
    expect(error.code).toBe('CLEANUP_BACKGROUND_FAILED')
    expect(error.name).toBe('CleanupError')
    expect(error.cause).toBe(cause)
    expect(error.message).toContain(
      "the background cleanup (cleanup: 'background') of 2 tests failed in this test file:",
    )
    expect(error.message).toContain('  test "a.test.ts > one" (ids p-1-…): Error: Cleanup stopped, nothing deleted: x')
    expect(error.message).toContain('  test "a.test.ts > two" (ids p-2-…): plain')
    expect(error.message.endsWith('\nleak report')).toBe(true)
    expect(error.details.failures).toEqual([
      { test: 'a.test.ts > one', prefix: 'p-1-', code: null, message: 'Cleanup stopped, nothing deleted: x' },
      { test: 'a.test.ts > two', prefix: 'p-2-', code: null, message: 'plain' },
    ])
  })
})
