import type { BrowserContext } from '@playwright/test'
import { describe, expect, test } from 'vitest'
import { isLeaklessError } from '../../src/index.js'
import { createLoginAs, type LoginCookie, type LoginOptions, type LoginRow } from '../../src/playwright/login.js'
import type { DrizzleDatabase } from '../../src/run/database-like.js'
import type { Bindable, TestScope } from '../../src/run/test-scope.js'

// loginAs without a browser or a database: a context that records cookies, factories that echo rows.
function setup(options: { baseURL?: string; defaults?: LoginOptions; factories?: Record<string, unknown> } = {}) {
  const cookies: LoginCookie[] = []
  const created: LoginRow[] = []
  const factory = (token: unknown) => ({
    create: async (overrides: LoginRow = {}) => {
      const row = { id: `session-${created.length + 1}`, token, ...overrides }
      created.push(row)
      return row
    },
  })
  const context = { addCookies: async (list: LoginCookie[]) => void cookies.push(...list) } as unknown as BrowserContext
  const loginAs = createLoginAs({
    scope: {} as TestScope,
    context,
    db: {} as DrizzleDatabase,
    baseURL: 'baseURL' in options ? options.baseURL : 'http://127.0.0.1:3000/app/',
    factories: (options.factories ?? { sessions: factory('tok-1') }) as Record<string, Bindable<unknown>>,
    defaults: options.defaults ?? {},
  })
  return { loginAs, cookies, created, factory }
}

async function configError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(isLeaklessError(error)).toBe(true)
  return error as { code: string; message: string }
}

describe('loginAs', () => {
  test("creates a session for the user and sets its token as the 'session' cookie for the origin of baseURL", async () => {
    const { loginAs, cookies, created } = setup()
    const result = await loginAs({ id: 'user-1', email: 'a@example.test' })
    expect(created).toEqual([{ id: 'session-1', token: 'tok-1', userId: 'user-1' }])
    const cookie = { name: 'session', value: 'tok-1', httpOnly: true, sameSite: 'Lax', url: 'http://127.0.0.1:3000' }
    expect(cookies).toEqual([cookie])
    expect(result).toEqual({ session: created[0], cookie, cookies: [cookie] })
  })

  test('per-call options override the defaults of leaklessTest({ login })', async () => {
    const echo = setup().factory
    const { loginAs, cookies, created, factory } = setup({
      defaults: { factory: 'logins', cookie: 'sid', value: (s) => `v-${String(s.token)}` },
      factories: { logins: echo('tok-2') },
    })
    const first = await loginAs({ id: 'user-1' })
    expect(first.session).toMatchObject({ token: 'tok-2', userId: 'user-1' })
    expect(first.cookie).toMatchObject({ name: 'sid', value: 'v-tok-2' })

    const own = { bindTo: () => factory('tok-3') } as Bindable<unknown>
    await loginAs(
      { key: 'k-1' },
      { factory: own, session: (u) => ({ ownerKey: u.key }), domain: 'app.test', secure: true, sameSite: 'Strict' },
    )
    expect(created).toEqual([{ id: 'session-1', token: 'tok-3', ownerKey: 'k-1' }])
    expect(cookies[1]).toEqual({
      name: 'sid',
      value: 'v-tok-3',
      httpOnly: true,
      sameSite: 'Strict',
      secure: true,
      domain: 'app.test',
      path: '/',
    })
  })

  test('names the missing sessions factory and the ones it has', async () => {
    const { loginAs, factory } = setup({ factories: {} })
    const error = await configError(loginAs({ id: 'u' }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain(
      'the factory "sessions", which leaklessTest({ factories }) does not have (it has: none)',
    )
    const other = setup({ factories: { users: factory('x') } })
    expect((await configError(other.loginAs({ id: 'u' }, { factory: 'logins' }))).message).toContain('(it has: users)')
  })

  test('says how to fix a session without a cookie value, a user without an id, and a missing URL', async () => {
    const noToken = setup({ factories: { sessions: setup().factory(undefined) } })
    const token = await configError(noToken.loginAs({ id: 'u' }))
    expect(token.message).toContain('the session row has no cookie value (got undefined from session.token)')
    expect(token.message).toContain('Columns of the row: id, token, userId')

    const { loginAs } = setup()
    expect((await configError(loginAs({ email: 'x' }))).message).toContain('expects a user row with an id')

    const noUrl = setup({ baseURL: undefined })
    const url = await configError(noUrl.loginAs({ id: 'u' }))
    expect(url.message).toContain('set use.baseURL in playwright.config')
    expect(await noUrl.loginAs({ id: 'u' }, { url: 'https://app.test/login' })).toMatchObject({
      cookie: { url: 'https://app.test/login' },
    })
  })
})

describe('loginAs with the login.cookies hook', () => {
  test('sets the cookies the hook returns, with the login defaults, and creates no session row', async () => {
    const seen: unknown[] = []
    const { loginAs, cookies, created } = setup({
      defaults: {
        sameSite: 'Strict',
        cookies: ({ user, baseURL, scope, db }) => {
          seen.push({ user, baseURL, scope, db })
          return { name: 'token', value: `signed-${String(user.id)}` }
        },
      },
    })
    const result = await loginAs({ id: 'user-1' })
    expect(created).toEqual([])
    const cookie = {
      name: 'token',
      value: 'signed-user-1',
      httpOnly: true,
      sameSite: 'Strict',
      url: 'http://127.0.0.1:3000',
    }
    expect(cookies).toEqual([cookie])
    expect(result).toEqual({ session: null, cookie, cookies: [cookie] })
    expect(seen).toEqual([{ user: { id: 'user-1' }, baseURL: 'http://127.0.0.1:3000/app/', scope: {}, db: {} }])
  })

  test("a list of cookies, each with its own attributes over the defaults; a per-call hook replaces the default's", async () => {
    const expires = new Date('2030-01-02T03:04:05.000Z')
    const { loginAs, cookies } = setup({ defaults: { cookies: () => ({ name: 'unused', value: 'x' }) } })
    await loginAs(
      { id: 'u' },
      {
        domain: 'app.test',
        secure: true,
        cookies: async () => [
          { name: 'access', value: 'a', expires, sameSite: 'None' },
          { name: 'refresh', value: 'r', path: '/auth', httpOnly: false, expires: 1_900_000_000 },
          { name: 'elsewhere', value: 'e', url: 'https://other.test' },
        ],
      },
    )
    expect(cookies).toEqual([
      {
        name: 'access',
        value: 'a',
        httpOnly: true,
        sameSite: 'None',
        secure: true,
        expires: 1_893_553_445,
        domain: 'app.test',
        path: '/',
      },
      {
        name: 'refresh',
        value: 'r',
        httpOnly: false,
        sameSite: 'Lax',
        secure: true,
        expires: 1_900_000_000,
        domain: 'app.test',
        path: '/auth',
      },
      { name: 'elsewhere', value: 'e', httpOnly: true, sameSite: 'Lax', secure: true, url: 'https://other.test' },
    ])
  })

  test('says what the hook returned when it is not a cookie', async () => {
    const returns = async (value: unknown) => {
      const { loginAs, cookies } = setup({ defaults: { cookies: () => value as never } })
      const error = await configError(loginAs({ id: 'u' }))
      expect(cookies).toEqual([])
      expect(error.code).toBe('CONFIG_INVALID')
      return error.message
    }
    expect(await returns(undefined)).toContain('the login.cookies hook returned undefined, not a cookie')
    expect(await returns([])).toContain('returned no cookies')
    expect(await returns('jwt')).toContain('returned "jwt", not a cookie')
    expect(
      await returns([
        { name: 'a', value: 'b' },
        { name: 'session', value: 42 },
      ]),
    ).toContain('returned an object with name, value at index 1, not a cookie. Return { name, value }')
    const noUrl = setup({ baseURL: undefined, defaults: { cookies: () => ({ name: 'sid', value: 'v' }) } })
    expect((await configError(noUrl.loginAs({ id: 'u' }))).message).toContain(
      'does not know which site the "sid" cookie is for',
    )
  })
})
