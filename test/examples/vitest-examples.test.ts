/**
 * The Vitest example suite (examples/vitest: the booking app's rules, API and sign-ups) under the real
 * Vitest CLI, as `npx vitest run --config examples/vitest/vitest.config.ts` runs it, with leakless from
 * the built package: all pass on two workers, the run's teardown audit is clean, no row of the run is left.
 */
import { join } from 'node:path'
import { expect, inject, test } from 'vitest'
import { createRunTag } from '../../src/ids/run-tag.js'
import { repoRoot, run } from '../adapters/harness.js'
import { countOwnedRows } from './harness.js'

const url = inject('database').url
const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs')

test('examples/vitest: 17 tests pass on 2 workers, the audit is clean and the run leaves no row', async () => {
  const runTag = createRunTag()
  const result = await run(process.execPath, [vitestBin, 'run', '--config', 'examples/vitest/vitest.config.ts'], {
    cwd: repoRoot,
    env: { DATABASE_URL: url, LEAKLESS_RUN: runTag },
    timeoutMs: 90_000,
  })

  expect(result.output).toContain('Test Files  3 passed (3)')
  expect(result.output).toContain('Tests  17 passed (17)')
  expect(result.output).not.toMatch(/LeakError|leaks found|run fails/)
  expect(result.code, result.output).toBe(0)

  // Each file says where it ran: two worker slots at once, a process per file, all under our run tag.
  const workers = [...result.output.matchAll(/EXAMPLE_WORKER file=(\S+) pool=(\d+) pid=(\d+) prefix=(\S+)/g)]
  expect(workers.map((m) => m[1]).sort()).toEqual(['booking-api', 'booking-rules', 'sign-ups'])
  expect(new Set(workers.map((m) => m[2]))).toEqual(new Set(['1', '2']))
  expect(new Set(workers.map((m) => m[3])).size).toBeGreaterThanOrEqual(2)
  // Short process fields: one registry number per file's run context.
  for (const m of workers) expect(m[4]!).toMatch(new RegExp(`^${runTag}-[1-9]\\d*-$`))
  expect(new Set(workers.map((m) => m[4])).size).toBe(workers.length)

  // Users the app signed up have ids of its own (uuids): found by their tagged e-mail, with their rows.
  expect(await countOwnedRows(url, `${runTag}-`)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
})
