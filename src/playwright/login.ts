import { ConfigError } from '../errors.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import type { Bindable, TestScope } from '../run/test-scope.js'
import {
  cookieFor,
  describeValue,
  hookCookies,
  type CookieDefaults,
  type LoginCookie,
  type LoginCookieInput,
} from './login-cookies.js'

export type { LoginCookie, LoginCookieInput } from './login-cookies.js'

/** A row as `loginAs` sees it: a user, a session. */
export type LoginRow = Record<string, unknown>

/** The slice of a bound factory `loginAs` uses. */
interface SessionCreator {
  create(overrides?: LoginRow): Promise<LoginRow>
}

/** What the `login.cookies` hook gets: the user to sign in, and the test's scope, database and `baseURL`. */
export interface LoginHookArgs {
  user: LoginRow
  /** The test's scope: rows the hook creates through its factories are cleaned up with the test's. */
  scope: TestScope
  /** The worker's drizzle instance (the `db` fixture). */
  db: DrizzleDatabase
  /** The test's `use.baseURL`, if any. */
  baseURL: string | undefined
}

/** The app's own sign-in: the cookies that make `user` signed in (one, or a list). */
export type LoginHook = (
  args: LoginHookArgs,
) => LoginCookieInput | LoginCookieInput[] | Promise<LoginCookieInput | LoginCookieInput[]>

/** How `loginAs` makes a session and the cookie that carries it. Set defaults in `leaklessTest({ login })`; override per call. */
export interface LoginOptions extends CookieDefaults {
  /**
   * The app's own sign-in, instead of a sessions row: returns the cookies for `user` (e.g. a JWT
   * signed with the app's secret), which `loginAs` sets on the browser context. `factory`, `session`,
   * `value` and `cookie` are then unused; `url`/`domain`, `path`, `httpOnly`, `secure` and `sameSite`
   * are the defaults of every cookie it returns.
   * @default none: a row of the sessions factory, its token as the `session` cookie
   */
  cookies?: LoginHook
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
}

/** What `loginAs` did: the session row it created (none with `login.cookies`) and the cookies it set. */
export interface LoginResult {
  /** The sessions row; `null` when the `login.cookies` hook signed the user in. */
  session: LoginRow | null
  /** The first (with the default, the only) cookie set. */
  cookie: LoginCookie
  cookies: LoginCookie[]
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
  context: { addCookies(cookies: LoginCookie[]): Promise<void> }
  db: DrizzleDatabase
  baseURL: string | undefined
  factories: Record<string, Bindable<unknown>>
  defaults: LoginOptions
}

/** @internal Builds the `loginAs` fixture's function for one test. */
export function createLoginAs(deps: LoginDeps): LoginAs {
  return async (user, callOptions = {}) => {
    const options: LoginOptions = { ...deps.defaults, ...callOptions }
    if (options.cookies) {
      const returned = await options.cookies({ user, scope: deps.scope, db: deps.db, baseURL: deps.baseURL })
      const cookies = hookCookies(returned).map((c) => cookieFor(c, options, deps.baseURL))
      await deps.context.addCookies(cookies)
      return { session: null, cookie: cookies[0]!, cookies }
    }
    const creator = sessionFactory(deps, options.factory ?? 'sessions')
    const overrides = options.session ? options.session(user) : { userId: userId(user) }
    const session = await creator.create(overrides)
    const value = options.value ? options.value(session) : session.token
    const name = options.cookie ?? 'session'
    if (typeof value !== 'string' || value === '') {
      throw new ConfigError(
        'CONFIG_INVALID',
        `loginAs(): the session row has no cookie value (got ${describeValue(value)}${options.value ? ' from login.value' : ' from session.token'}). Columns of the row: ${Object.keys(session).join(', ')}. Pass login: { value: (session) => session.<column> }.`,
        { details: { option: 'login.value', cookie: name } },
      )
    }
    const cookie = cookieFor({ name, value }, options satisfies CookieDefaults, deps.baseURL)
    await deps.context.addCookies([cookie])
    return { session, cookie, cookies: [cookie] }
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
      `loginAs(user) expects a user row with an id (got ${describeValue(user)}). For users keyed otherwise, pass login: { session: (user) => ({ userId: user.<key> }) }.`,
      { details: { option: 'login.session' } },
    )
  }
  return user.id
}
