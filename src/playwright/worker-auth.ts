import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from '@playwright/test'
import { describeValue } from '../describe-value.js'
import { ConfigError } from '../errors.js'
import type { DrizzleDatabase } from '../run/database-like.js'
import type { RunContext } from '../run/run-context.js'
import type { Bindable, TestScope } from '../run/test-scope.js'
import { createLoginAs, type LoginOptions, type LoginResult, type LoginRow } from './login.js'

/** What {@link WorkerLoginOptions.create} gets: the worker's factories and ids (scope 0) and its database. */
export interface WorkerUserArgs {
  /** `leaklessTest({ factories })` bound to the worker's scope 0: rows stay until the worker ends. */
  factories: Record<string, unknown>
  scope: TestScope
  db: DrizzleDatabase
}

/** What {@link WorkerLoginOptions.prepare} gets: a page of the sign-in's browser context, already signed in. */
export interface WorkerPrepareArgs {
  page: Page
  user: LoginRow
  baseURL: string | undefined
}

/**
 * One signed-in user per worker (`use: { workerLogin: {} }`, `test.use(…)` at a file's top, or
 * `leaklessTest({ workerLogin })`): made through the worker's factories, signed in like `loginAs`, its
 * storage state the `storageState` of every test of the worker; deleted when the worker ends.
 * `false` turns it off (where a project's `use` turned it on).
 */
export interface WorkerLoginOptions {
  /** The factory that makes the user: its key in `leaklessTest({ factories })`, or a factory. @default 'users' */
  factory?: string | Bindable<unknown>
  /** Traits of that factory, in order. @default none */
  traits?: string[]
  /** Column values of the user. @default {} */
  overrides?: Record<string, unknown>
  /** Makes the user instead of `factory`/`traits`/`overrides` (rows it makes on `args.factories` stay until the worker ends). @default none */
  create?: (args: WorkerUserArgs) => Promise<LoginRow> | LoginRow
  /** `loginAs` options for this sign-in, over `leaklessTest({ login })`. @default {} */
  login?: LoginOptions
  /** Runs on a page of the signed-in context before its storage state is saved: visit a page, fill localStorage, check the sign-in. @default none */
  prepare?: (args: WorkerPrepareArgs) => Promise<void>
}

/** The worker's signed-in user (the `workerUser` fixture). */
export interface WorkerUser<U = LoginRow> {
  /** The user row (typed as a row of `factories.users`; cast when `factory` or `create` makes another kind). */
  user: U
  /** Path of the storage state file every test of the worker starts from (under the project's `outputDir/.auth/`). */
  storageState: string
  /** What the sign-in did: the sessions row (none with `login.cookies`) and the cookies. */
  login: LoginResult
}

/** The row type `factories.users` creates, else any row: the `workerUser` fixture's `user`. */
export type WorkerUserRow<F> = F extends { users: Bindable<infer B> }
  ? B extends { create(...args: never[]): Promise<infer R> }
    ? R
    : LoginRow
  : LoginRow

/** Worker-scoped fixtures of `leaklessTest()` for the worker's signed-in user. */
export interface WorkerAuthFixtures<F = Record<never, never>> {
  /** The option: how each worker makes and signs in its user (`use: { workerLogin: {} }`), or none. */
  workerLogin: WorkerLoginOptions | false | undefined
  /** The worker's signed-in user and its storage state; `CONFIG_INVALID` without `workerLogin`. */
  workerUser: WorkerUser<WorkerUserRow<F>>
  /** @internal the worker's user, or null without `workerLogin` */
  _leaklessWorkerUser: WorkerUser | null
}

/** @internal The `workerUser` fixture without `workerLogin`. */
export function workerUserMissing(): never {
  throw new ConfigError(
    'CONFIG_INVALID',
    "The workerUser fixture is the worker's signed-in user, and no workerLogin is set: add use: { workerLogin: {} } to the project in playwright.config (or test.use({ workerLogin: {} }) at the top of the file, or leaklessTest({ workerLogin: {} })), with { factory, traits, overrides } or { create } to choose the user.",
    { details: { option: 'workerLogin' } },
  )
}

/** @internal Checks `workerLogin`: an object with well-typed fields, `false`, or undefined. */
export function checkWorkerLogin(value: unknown, where: string): WorkerLoginOptions | null {
  if (value === undefined || value === false) return null
  const bad = (why: string): never => {
    throw new ConfigError(
      'CONFIG_INVALID',
      `workerLogin (${where}): ${why}; got ${describeValue(value)}. Pass { factory: 'users', traits: ['admin'] }, { create: ({ factories }) => factories.users.create() }, {} for a plain user of 'users', or false for none.`,
      { details: { option: 'workerLogin', where } },
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected an object or false')
  const o = value as Record<string, unknown>
  const known = ['factory', 'traits', 'overrides', 'create', 'login', 'prepare']
  const unknown = Object.keys(o).filter((key) => !known.includes(key))
  if (unknown.length > 0) bad(`unknown ${unknown.map((k) => `"${k}"`).join(', ')} (it takes ${known.join(', ')})`)
  const f = o.factory
  if (f !== undefined && !(typeof f === 'string' && f !== '') && typeof (f as Bindable<unknown>)?.bindTo !== 'function')
    bad('factory must be the key of a factory in leaklessTest({ factories }), or a factory')
  if (o.traits !== undefined && !(Array.isArray(o.traits) && o.traits.every((t) => typeof t === 'string')))
    bad('traits must be a list of trait names')
  if (o.overrides !== undefined && (typeof o.overrides !== 'object' || o.overrides === null))
    bad('overrides must be an object of column values')
  if (o.create !== undefined && typeof o.create !== 'function') bad('create must be a function returning the user row')
  if (o.create !== undefined && (f !== undefined || o.traits !== undefined || o.overrides !== undefined))
    bad('create replaces factory, traits and overrides: give one or the other')
  if (o.login !== undefined && (typeof o.login !== 'object' || o.login === null)) bad('login must be loginAs options')
  if (o.prepare !== undefined && typeof o.prepare !== 'function') bad('prepare must be a function')
  return o as WorkerLoginOptions
}

/** @internal What signing in the worker's user needs. */
export interface WorkerSignInDeps {
  options: WorkerLoginOptions
  run: RunContext
  db: DrizzleDatabase
  factories: Record<string, Bindable<unknown>>
  /** `leaklessTest({ login })` */
  login: LoginOptions
  browser: Browser
  /** The worker's baseURL: its app server's, else the project's `use.baseURL`. */
  baseURL: string | undefined
  /** Where the file goes: the project's `outputDir`. */
  outputDir: string
  workerIndex: number
}

/** @internal A signed-in worker user, and how to remove its storage state file (its rows go with the worker's close). */
export interface SignedInWorkerUser {
  value: WorkerUser
  dispose(): Promise<void>
}

/**
 * @internal Makes the worker's user on its scope 0 (no test's cleanup deletes it; the worker's close
 * does), signs it in with `loginAs`'s machinery in a fresh context, and saves that context's storage state.
 */
export async function signInWorkerUser(deps: WorkerSignInDeps): Promise<SignedInWorkerUser> {
  const { options, run, baseURL } = deps
  const scope = run.outside
  const factories = scope.bind(deps.factories)
  const user = options.create
    ? await options.create({ factories, scope, db: deps.db })
    : await userFactory(deps, factories).create(options.overrides)
  const context = await deps.browser.newContext(baseURL ? { baseURL } : {})
  // Named by the worker's prefix: unique across restarted workers and shards that share an output folder.
  const path = join(deps.outputDir, '.auth', `worker-${deps.workerIndex}-${run.prefix.replace(/-$/, '')}.json`)
  try {
    // createLoginAs reads bound factories by key, as the loginAs fixture passes them.
    const bound = factories as unknown as Record<string, Bindable<unknown>>
    const loginAs = createLoginAs({ scope, context, db: deps.db, baseURL, factories: bound, defaults: deps.login })
    const login = await loginAs(user, options.login)
    if (options.prepare) await options.prepare({ page: await context.newPage(), user, baseURL })
    await mkdir(join(deps.outputDir, '.auth'), { recursive: true })
    await context.storageState({ path })
    return { value: { user, storageState: path, login }, dispose: () => rm(path, { force: true }) }
  } finally {
    await context.close()
  }
}

interface UserCreator {
  create(overrides?: Record<string, unknown>): Promise<LoginRow>
  trait?(...names: string[]): UserCreator
}

function userFactory(deps: WorkerSignInDeps, bound: Record<string, unknown>): UserCreator {
  const factory = deps.options.factory ?? 'users'
  let creator: UserCreator
  if (typeof factory === 'string') {
    if (bound[factory] === undefined) {
      const known = Object.keys(bound)
      throw new ConfigError(
        'CONFIG_INVALID',
        `workerLogin makes the worker's user with the factory "${factory}", which leaklessTest({ factories }) does not have (it has: ${known.length ? known.join(', ') : 'none'}). Add it to leaklessTest({ factories }), or name yours with workerLogin: { factory: '<key>' }.`,
        { details: { option: 'workerLogin.factory', factory } },
      )
    }
    creator = bound[factory] as UserCreator
  } else {
    creator = factory.bindTo(deps.run.outside) as UserCreator
  }
  const traits = deps.options.traits ?? []
  if (traits.length === 0) return creator
  if (typeof creator.trait !== 'function') {
    throw new ConfigError(
      'CONFIG_INVALID',
      `workerLogin: { traits: [${traits.map((t) => `'${t}'`).join(', ')}] } needs a factory with traits, and ${typeof factory === 'string' ? `"${factory}"` : 'the factory given'} has no trait(). Pass the columns as workerLogin: { overrides }, or make the user with workerLogin: { create }.`,
      { details: { option: 'workerLogin.traits' } },
    )
  }
  return creator.trait(...traits)
}
