import { defineConfig } from '@playwright/test'
import { describe, expectTypeOf, it } from 'vitest'
import { factories, sessions } from '../../factories/index.js'
import type * as schema from '../../factories/schema.js'
import type { LeaklessWorkerOptions, LoginResult, LoginRow, WorkerLoginOptions } from '../../src/playwright/index.js'
import { leaklessTest } from '../../src/playwright/index.js'

// Never called: typecheck only reads the fixtures' types.
export function workerUserTypes(): void {
  // Not named `test`: Vitest's typecheck would list its calls as skipped tests of this file.
  const e2e = leaklessTest({ factories, workerLogin: { traits: ['admin'] } })
  e2e('a users factory: the worker user is its row', ({ workerUser, workerLogin }) => {
    expectTypeOf(workerUser.user).toEqualTypeOf<schema.User>()
    expectTypeOf(workerUser.storageState).toEqualTypeOf<string>()
    expectTypeOf(workerUser.login).toEqualTypeOf<LoginResult>()
    expectTypeOf(workerLogin).toEqualTypeOf<WorkerLoginOptions | false | undefined>()
  })
  leaklessTest({ factories: { sessions }, workerLogin: { create: () => ({ id: 'u' }) } })(
    'no users factory',
    ({ workerUser }) => {
      expectTypeOf(workerUser.user).toEqualTypeOf<LoginRow>()
    },
  )
  e2e.use({ workerLogin: false })
  e2e.use({
    workerLogin: { factory: 'users', overrides: { role: 'instructor' }, prepare: async ({ page }) => void page },
  })
}

describe('workerLogin', () => {
  it('takes an object or false', () => {
    expectTypeOf<{ traits: ['admin'] }>().toExtend<WorkerLoginOptions>()
    // @ts-expect-error -- a bare function would be taken for a fixture by Playwright
    leaklessTest({ workerLogin: () => ({ id: 'u' }) })
    // @ts-expect-error -- true is not an option: {} is a plain user
    leaklessTest({ workerLogin: true })
    // A project's use: typed with LeaklessWorkerOptions.
    defineConfig<object, LeaklessWorkerOptions>({
      projects: [{ name: 'admin', use: { workerLogin: { traits: ['admin'] } } }],
    })
    // @ts-expect-error -- traits is a list
    defineConfig<object, LeaklessWorkerOptions>({ use: { workerLogin: { traits: 'admin' } } })
  })
})
