import type { BrowserContext } from '@playwright/test'
import { ConfigError } from '../errors.js'
import type { Bindable, TestScope } from '../run/test-scope.js'

/** A row as `loginAs` sees it: a user, a session. */
export type LoginRow = Record<string, unknown>

/** The slice of a bound factory `loginAs` uses. */
interface SessionCreator {
  create(overrides?: LoginRow): Promise<LoginRow>
}

/** How `loginAs` makes a session and the cookie that carries it. Set defaults in `leaklessTest({ login })`; override per call. */
export interface LoginOptions {
  /**
   * The factory that creates session rows: its key in `leaklessTest({ factories })`, or a factory.
   * @default 'sessions'
   */
  factory?: string | Bindable<unknown>
  /** The session row's overrides for this user. @default (user) => ({ userId: user.id }) */
  session?: (user: LoginRow) => LoginRow
  /** The cookie's value, read from the created session row. @default (session) => session.token */
  value?: (session: LoginRow) => unknown
  /** The cookie's name. @default 'session' */
  cookie?: string
  /** The URL the cookie is set for. @default the origin of the test's `baseURL` */
  url?: string
  /** Domain (with `path`) instead of `url`. @default none */
  domain?: string
  /** @default '/' (with `domain`) */
  path?: string
  /** @default true */
  httpOnly?: boolean
  /** Only with `domain`; with a URL, Playwright takes it from the scheme (https). @default false */
  secure?: boolean
  /** @default 'Lax' */
  sameSite?: 'Strict' | 'Lax' | 'None'
}

/** A cookie as `context.addCookies()` takes it. */
export type LoginCookie = Parameters<BrowserContext['addCookies']>[0][number]

/** What `loginAs` did: the session row it created and the cookie it set. */
export interface LoginResult {
  session: LoginRow
  cookie: LoginCookie
}

/**
 * Logs `user` in: creates a session row through the sessions factory (in the test's scope, so the
 * test's cleanup deletes it) and sets the app's session cookie on the test's browser context.
 *
 * @example
 * test('sees the dashboard', async ({ page, factories, loginAs }) => {
 *   const user = await factories.users.create()
 *   await loginAs(user)
 *   await page.goto('/')
 * })
 */
export type LoginAs = (user: LoginRow, options?: LoginOptions) => Promise<LoginResult>

/** @internal */
export interface LoginDeps {
  scope: TestScope
  context: BrowserContext
  baseURL: string | undefined
  factories: Record<string, Bindable<unknown>>
  defaults: LoginOptions
}

/** @internal Builds the `loginAs` fixture's function for one test. */
export function createLoginAs(deps: LoginDeps): LoginAs {
  return async (user, callOptions = {}) => {
    const options: LoginOptions = { ...deps.defaults, ...callOptions }
    const creator = sessionFactory(deps, options.factory ?? 'sessions')
    const overrides = options.session ? options.session(user) : { userId: userId(user) }
    const session = await creator.create(overrides)
    const value = options.value ? options.value(session) : session.token
    const name = options.cookie ?? 'session'
    if (typeof value !== 'string' || value === '') {
      throw new ConfigError(
        'CONFIG_INVALID',
        `loginAs(): the session row has no cookie value (got ${describe(value)}${options.value ? ' from login.value' : ' from session.token'}). Columns of the row: ${Object.keys(session).join(', ')}. Pass login: { value: (session) => session.<column> }.`,
        { details: { option: 'login.value', cookie: name } },
      )
    }
    const cookie = cookieFor(name, value, options, deps.baseURL)
    await deps.context.addCookies([cookie])
    return { session, cookie }
  }
}

function sessionFactory(deps: LoginDeps, factory: string | Bindable<unknown>): SessionCreator {
  if (typeof factory !== 'string') return factory.bindTo(deps.scope) as SessionCreator
  const bound = deps.factories[factory]
  if (bound === undefined) {
    const known = Object.keys(deps.factories)
    throw new ConfigError(
      'CONFIG_INVALID',
      `loginAs() creates sessions with the factory "${factory}", which leaklessTest({ factories }) does not have (it has: ${known.length ? known.join(', ') : 'none'}). Pass leaklessTest({ factories: { …, ${factory} } }), or name yours with leaklessTest({ login: { factory: '<key>' } }).`,
      { details: { option: 'login.factory', factory } },
    )
  }
  return bound as unknown as SessionCreator
}

function userId(user: LoginRow): unknown {
  if (typeof user !== 'object' || user === null || user.id === undefined) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `loginAs(user) expects a user row with an id (got ${describe(user)}). For users keyed otherwise, pass login: { session: (user) => ({ userId: user.<key> }) }.`,
      { details: { option: 'login.session' } },
    )
  }
  return user.id
}

function cookieFor(name: string, value: string, options: LoginOptions, baseURL: string | undefined): LoginCookie {
  const attributes = {
    name,
    value,
    httpOnly: options.httpOnly ?? true,
    sameSite: options.sameSite ?? 'Lax',
    ...(options.secure === undefined ? {} : { secure: options.secure }),
  }
  if (options.domain !== undefined) return { ...attributes, domain: options.domain, path: options.path ?? '/' }
  if (options.url) return { ...attributes, url: options.url }
  if (!baseURL) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `loginAs() does not know which site the "${name}" cookie is for: set use.baseURL in playwright.config (or webServer.url), or pass login: { url } (or { domain }).`,
      { details: { option: 'login.url', cookie: name } },
    )
  }
  // The app's session cookie is for the whole site, not for the path baseURL may end in.
  return { ...attributes, url: new URL(baseURL).origin }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'string') return JSON.stringify(value)
  return typeof value === 'object' ? 'an object' : typeof value
}
