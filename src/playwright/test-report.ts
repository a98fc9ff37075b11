import { relative } from 'node:path'
import type { TestInfo } from '@playwright/test'
import type { CleanupMode } from '../config/define-config.js'
import type { CleanupReport } from '../run/cleanup-contract.js'
import type { TestScope } from '../run/test-scope.js'

/** Name of the JSON attachment that lists the rows a test's factories created. */
export const CREATED_ROWS_ATTACHMENT = 'leakless-created-rows'
/** Name of the text attachment a failed test gets: how to replay its data. */
export const SEED_ATTACHMENT = 'leakless-seed'

/** The body of the `leakless-created-rows` attachment. */
export interface CreatedRowsAttachment {
  test: string
  /** Every value the test's scope issued starts with it. */
  prefix: string
  /** Faker seed of the test (`LEAKLESS_SEED` replays it). */
  seed: number
  /** Rows the factories inserted, by table (`public.users`), in insertion order. */
  rows: Record<string, Array<{ key: Record<string, unknown>; factory: string; caller: string | null }>>
  /** What the test's cleanup deleted, by table; null when it failed, or ran in the background. */
  deleted: Record<string, number> | null
  /** `'background'`: the cleanup was queued after the test (its failure fails the worker's teardown). */
  cleanup: CleanupMode
  /** The cleanup's error message, when it failed. */
  cleanupError?: string
}

/** The test's name as leak reports show it: file, describe blocks, title. */
export function scopeName(testInfo: TestInfo): string {
  return testInfo.titlePath.join(' › ')
}

/** Attaches the rows the test created, and on failure the seed that replays its data. */
export async function attachScopeReport(
  testInfo: TestInfo,
  scope: TestScope,
  cleanup: CleanupReport | null,
  cleanupError: unknown,
  mode: CleanupMode = 'after-each',
): Promise<void> {
  const rows: CreatedRowsAttachment['rows'] = {}
  for (const [table, entries] of Object.entries(scope.created)) {
    rows[table] = entries.map((entry) => ({ key: entry.key, factory: entry.factory, caller: entry.caller }))
  }
  const body: CreatedRowsAttachment = {
    test: scope.name,
    prefix: scope.prefix,
    seed: scope.seed,
    rows,
    deleted: cleanup?.deleted ?? null,
    cleanup: mode,
    ...(cleanupError === undefined ? {} : { cleanupError: (cleanupError as Error)?.message ?? String(cleanupError) }),
  }
  await testInfo.attach(CREATED_ROWS_ATTACHMENT, {
    contentType: 'application/json',
    body: JSON.stringify(body, jsonValue, 2),
  })
  if (testInfo.status !== testInfo.expectedStatus) {
    const location = `${relative(process.cwd(), testInfo.file) || testInfo.file}:${testInfo.line}`
    await testInfo.attach(SEED_ATTACHMENT, {
      contentType: 'text/plain',
      body: `This test's data came from faker seed ${scope.seed}. Replay it with:\n  LEAKLESS_SEED=${scope.seed} npx playwright test ${location}\n`,
    })
  }
}

// Keys may hold bigint (bigserial) or Date values.
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
