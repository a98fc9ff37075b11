/**
 * The guard's notice under the real Vitest: printed once per run by the global setup, not once per test
 * file (each file is a fresh process), and not at all with LEAKLESS_QUIET=1.
 */
import { afterAll, expect, inject, test } from 'vitest'
import { fixturesFile, parallelSpec, runVitest, vitestConfig } from './fixtures/vitest/projects.js'
import { countRunRows, createRunTag, removeProject, writeProject } from './harness.js'

const url = inject('database').url
const NOTICE = /leakless: destructive SQL allowed on /g
const dir = writeProject('vitest-notice', {
  'vitest.config.ts': vitestConfig(),
  'fixtures.ts': fixturesFile,
  ...Object.fromEntries(['a', 'b', 'c'].map((f) => [`${f}.test.ts`, parallelSpec(f, 1)])),
})
afterAll(() => removeProject(dir))

test.each([
  { quiet: undefined, times: 1, label: 'once for the run' },
  { quiet: '1', times: 0, label: 'never with LEAKLESS_QUIET=1' },
])('3 test files: the notice $label', async ({ quiet, times }) => {
  const runTag = createRunTag()
  const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: runTag, LEAKLESS_QUIET: quiet })
  expect(result.output).toContain('Test Files  3 passed (3)')
  expect(result.code).toBe(0)
  expect(result.output.match(NOTICE) ?? [], result.output).toHaveLength(times)
  expect(await countRunRows(url, runTag)).toEqual({ users: 0, sessions: 0, bookings: 0, activity: 0 })
})
