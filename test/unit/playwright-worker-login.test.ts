import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from '@playwright/test'
import { afterAll, describe, expect, it } from 'vitest'
import { createRunTag } from '../../src/ids/run-tag.js'
import { isLeaklessError } from '../../src/index.js'
import { leaklessTest } from '../../src/playwright/fixtures.js'
import {
  checkWorkerLogin,
  signInWorkerUser,
  workerUserMissing,
  type WorkerLoginOptions,
} from '../../src/playwright/worker-auth.js'
import type { DrizzleDatabase } from '../../src/run/database-like.js'
import { createRunSync } from '../../src/run/run-context.js'
import type { Bindable } from '../../src/run/test-scope.js'

const stateDir = mkdtempSync(join(tmpdir(), 'leakless-worker-login-'))
afterAll(() => rmSync(stateDir, { recursive: true, force: true }))

function thrown(fn: () => unknown): { code: unknown; message: string } {
  try {
    fn()
  } catch (error) {
    return { code: isLeaklessError(error) ? error.code : error, message: (error as Error).message }
  }
  throw new Error('expected an error')
}

describe('workerLogin options', () => {
  it('takes an object (even empty), false or undefined', () => {
    const create = () => ({ id: 'u' })
    expect(checkWorkerLogin(undefined, 'x')).toBeNull()
    expect(checkWorkerLogin(false, 'x')).toBeNull()
    expect(checkWorkerLogin({}, 'x')).toEqual({})
    expect(checkWorkerLogin({ factory: 'users', traits: ['admin'], overrides: { name: 'A' } }, 'x')).toEqual({
      factory: 'users',
      traits: ['admin'],
      overrides: { name: 'A' },
    })
    expect(checkWorkerLogin({ create, login: { cookie: 'sid' } }, 'x')).toEqual({ create, login: { cookie: 'sid' } })
    expect(checkWorkerLogin({ factory: { bindTo: () => ({}) } }, 'x')).toBeTruthy()
  })

  it('says what is wrong, where, and what to pass', () => {
    const bad = (value: unknown) => {
      const error = thrown(() => checkWorkerLogin(value, 'project "e2e"'))
      expect(error.code).toBe('CONFIG_INVALID')
      expect(error.message).toContain('workerLogin (project "e2e"): ')
      expect(error.message).toContain("Pass { factory: 'users', traits: ['admin'] }")
      return error.message
    }
    expect(bad(true)).toContain('expected an object or false; got true')
    expect(bad(() => ({}))).toContain('expected an object or false')
    expect(bad({ factory: 'users', trait: 'admin' })).toContain('unknown "trait" (it takes factory, traits,')
    expect(bad({ factory: '' })).toContain('factory must be the key of a factory')
    expect(bad({ traits: 'admin' })).toContain('traits must be a list of trait names')
    expect(bad({ overrides: 'x' })).toContain('overrides must be an object')
    expect(bad({ create: 'users' })).toContain('create must be a function')
    expect(bad({ create: () => ({}), traits: ['admin'] })).toContain('create replaces factory, traits and overrides')
    expect(bad({ login: 'session' })).toContain('login must be loginAs options')
    expect(bad({ prepare: '/home' })).toContain('prepare must be a function')
  })

  it('leaklessTest({ workerLogin }) is checked when the test is defined', () => {
    const error = thrown(() => leaklessTest({ workerLogin: { traits: 'admin' } as never }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('workerLogin (leaklessTest({ workerLogin })): traits must be a list')
  })

  it('the workerUser fixture without workerLogin says how to set it', () => {
    const error = thrown(workerUserMissing)
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('add use: { workerLogin: {} } to the project in playwright.config')
  })
})

describe('signInWorkerUser before the browser', () => {
  // Fails before it creates a row or opens a context: no database, no browser needed.
  const signIn = (options: WorkerLoginOptions, factories: Record<string, Bindable<unknown>>) =>
    signInWorkerUser({
      options,
      run: createRunSync({ stateDir, runTag: createRunTag(), runner: 'none' }),
      db: {} as DrizzleDatabase,
      factories,
      login: {},
      browser: {} as Browser,
      baseURL: 'http://127.0.0.1:3000',
      outputDir: stateDir,
      workerIndex: 0,
    })
  const plain = { bindTo: () => ({ create: async () => ({ id: 'u' }) }) }

  it('names a factory key that leaklessTest({ factories }) does not have, and the keys it has', async () => {
    const error = await signIn({}, { accounts: plain }).catch((e: unknown) => e)
    expect(isLeaklessError(error) && error.code).toBe('CONFIG_INVALID')
    expect((error as Error).message).toContain(
      'the factory "users", which leaklessTest({ factories }) does not have (it has: accounts)',
    )
  })

  it('refuses traits for a factory without trait()', async () => {
    const error = await signIn({ traits: ['admin'] }, { users: plain }).catch((e: unknown) => e)
    expect(isLeaklessError(error) && error.code).toBe('CONFIG_INVALID')
    expect((error as Error).message).toContain(
      `workerLogin: { traits: ['admin'] } needs a factory with traits, and "users" has no trait()`,
    )
  })
})
