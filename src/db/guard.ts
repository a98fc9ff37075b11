import { BlockList, isIP } from 'node:net'
import { GuardError, type LeaklessErrorCode } from '../errors.js'
import type { Database, Driver } from './database.js'

/** Explicit allowances that let the guard accept a target it would refuse; see {@link assertSafeTarget}. */
export interface GuardOptions {
  /** Allow destructive SQL while `NODE_ENV` or `APP_ENV` is `production` (also `LEAKLESS_ALLOW_PRODUCTION=1`). @default false */
  allowProduction?: boolean
  /** Allow a server that is not on this machine (also `LEAKLESS_ALLOW_REMOTE=1`). @default false */
  allowRemote?: boolean
  /** Database names allowed although they do not look like test databases (also `LEAKLESS_ALLOW_DATABASE=a,b`). @default [] */
  allowDatabases?: string[]
  /** Environment to read `NODE_ENV`, `APP_ENV` and the `LEAKLESS_ALLOW_*` variables from. @default process.env */
  env?: NodeJS.ProcessEnv
  /**
   * Where the one-line "destructive SQL allowed on …" notice goes, once per process and target; nothing
   * goes there with `LEAKLESS_QUIET=1`, or when this run's global setup already printed the same line.
   * @default console.error
   */
  log?: (line: string) => void
  /** @internal Test hook: pretend `inet_server_addr()` returned this address. */
  serverAddress?: string | null
}

/** What the guard decides on: the live connection's database and server, and the environment. */
export interface TargetFacts {
  driver: Driver
  /** `current_database()` */
  database: string
  /** `host(inet_server_addr())`; null for a unix socket or an in-process database (PGlite). */
  serverAddress: string | null
  /** `inet_server_port()`, for messages. @default null */
  port?: number | null
  nodeEnv?: string
  appEnv?: string
}

/** The option or environment variable that waived one of the guard's rules. */
export type GuardAllowance =
  | 'allowProduction'
  | 'LEAKLESS_ALLOW_PRODUCTION'
  | 'allowRemote'
  | 'LEAKLESS_ALLOW_REMOTE'
  | 'allowDatabases'
  | 'LEAKLESS_ALLOW_DATABASE'

/** A target the guard accepted. */
export interface GuardedTarget {
  readonly driver: Driver
  readonly database: string
  readonly serverAddress: string | null
  readonly port: number | null
  /** The allowances that waived a rule for this target; empty when every rule passed on its own. */
  readonly allowances: readonly GuardAllowance[]
}

/** The guard's decision: the accepted target, or the error for the first rule that refused it. */
export type GuardVerdict =
  { readonly ok: true; readonly target: GuardedTarget } | { readonly ok: false; readonly error: GuardError }

type GuardCode = Extract<LeaklessErrorCode, `GUARD_${string}`>

interface Refusal {
  code: GuardCode
  reason: string
  why: string
  fix: string
  allow: string
}

const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6') // BlockList also matches IPv4-mapped ::ffff:127.x against the IPv4 subnet

const TEST_NAME = /(?:^|[_-])test(?:$|[_-])/i

/**
 * Decides whether destructive SQL may run on a target, without touching a database. Rules, reported in
 * this order: not in production, server on this machine, database named like a test database.
 *
 * @example
 * const verdict = checkTarget({ driver: 'postgres-js', database: 'app_test', serverAddress: '127.0.0.1' }, { env: {} })
 * if (!verdict.ok) throw verdict.error
 */
export function checkTarget(facts: TargetFacts, options: GuardOptions = {}): GuardVerdict {
  const env = options.env ?? process.env
  const allowances: GuardAllowance[] = []
  const refusals: Refusal[] = []
  const where = describeTarget(facts)

  const productionVar = isProduction(facts.nodeEnv) ? 'NODE_ENV' : isProduction(facts.appEnv) ? 'APP_ENV' : null
  if (productionVar) {
    const allowance = options.allowProduction
      ? 'allowProduction'
      : flag(env.LEAKLESS_ALLOW_PRODUCTION)
        ? 'LEAKLESS_ALLOW_PRODUCTION'
        : null
    if (allowance) allowances.push(allowance)
    else
      refusals.push({
        code: 'GUARD_PRODUCTION',
        reason: `${productionVar} is "${productionVar === 'NODE_ENV' ? facts.nodeEnv : facts.appEnv}"`,
        why: 'cleanup and sweep delete rows, and in a production environment the database may hold real data',
        fix: 'If this really is a test environment, allow it with { allowProduction: true } or LEAKLESS_ALLOW_PRODUCTION=1.',
        allow: 'allowProduction or LEAKLESS_ALLOW_PRODUCTION=1',
      })
  }

  if (!isLocalAddress(facts.serverAddress)) {
    const allowance = options.allowRemote
      ? 'allowRemote'
      : flag(env.LEAKLESS_ALLOW_REMOTE)
        ? 'LEAKLESS_ALLOW_REMOTE'
        : null
    if (allowance) allowances.push(allowance)
    else
      refusals.push({
        code: 'GUARD_REMOTE',
        reason: `the server ${facts.serverAddress} is not on this machine (not a loopback address or unix socket)`,
        why: 'a remote server is usually shared — other people’s data, or production — and cleanup and sweep delete rows there',
        fix: 'If it is a disposable test server, allow it with { allowRemote: true } or LEAKLESS_ALLOW_REMOTE=1.',
        allow: 'allowRemote or LEAKLESS_ALLOW_REMOTE=1',
      })
  }

  // PGlite is in-process: nothing else can see its database, whatever its name ('postgres' by default).
  if (facts.driver !== 'pglite' && !isTestDatabaseName(facts.database)) {
    const allowance = options.allowDatabases?.includes(facts.database)
      ? 'allowDatabases'
      : listed(env.LEAKLESS_ALLOW_DATABASE, facts.database)
        ? 'LEAKLESS_ALLOW_DATABASE'
        : null
    if (allowance) allowances.push(allowance)
    else
      refusals.push({
        code: 'GUARD_DATABASE_NAME',
        reason: 'its name does not look like a test database (test, *_test, test_*, *_test_*)',
        why: 'cleanup and sweep delete rows, and a database not named for tests may be a development or production one',
        fix: `Use a test database, or allow this one with { allowDatabases: [${quote(facts.database)}] } or LEAKLESS_ALLOW_DATABASE=${facts.database}.`,
        allow: 'allowDatabases or LEAKLESS_ALLOW_DATABASE',
      })
  }

  const [first, ...more] = refusals
  if (first) {
    const also = more.length
      ? ` It would also be refused because ${more.map((r) => `${r.reason} (${r.allow})`).join('; and ')}.`
      : ''
    const error = new GuardError(
      first.code,
      `leakless refused to run destructive SQL on ${where}: ${first.reason}. This matters because ${first.why}. ${first.fix}${also}`,
      {
        details: {
          driver: facts.driver,
          database: facts.database,
          serverAddress: facts.serverAddress,
          port: facts.port ?? null,
          refused: refusals.map((r) => r.code),
        },
      },
    )
    return { ok: false, error }
  }
  return {
    ok: true,
    target: {
      driver: facts.driver,
      database: facts.database,
      serverAddress: facts.serverAddress,
      port: facts.port ?? null,
      allowances,
    },
  }
}

/**
 * Checks the live connection before destructive SQL: queries `current_database()` and the server address,
 * then applies {@link checkTarget}. Logs the accepted target once per `db`; repeated calls reuse the verdict.
 *
 * @example
 * const target = await assertSafeTarget(db)
 * await db.execute('delete from users where starts_with(id, $1)', [prefix])
 */
export async function assertSafeTarget(db: Database, options: GuardOptions = {}): Promise<GuardedTarget> {
  const env = options.env ?? process.env
  const key = JSON.stringify([
    options.allowProduction ?? false,
    options.allowRemote ?? false,
    options.allowDatabases ?? [],
    options.serverAddress === undefined ? 'live' : { hook: options.serverAddress },
    env.NODE_ENV,
    env.APP_ENV,
    env.LEAKLESS_ALLOW_PRODUCTION,
    env.LEAKLESS_ALLOW_REMOTE,
    env.LEAKLESS_ALLOW_DATABASE,
  ])
  const state = guarded.get(db) ?? { verdicts: new Map() }
  guarded.set(db, state)
  let verdict = state.verdicts.get(key)
  if (!verdict) {
    const inspecting = inspect(db, options, env)
    state.verdicts.set(key, inspecting)
    // A failed query (connection lost) is not a verdict: the next call asks again.
    inspecting.catch(() => state.verdicts.get(key) === inspecting && state.verdicts.delete(key))
    verdict = inspecting
  }
  const result = await verdict
  if (!result.ok) throw result.error
  const line = guardNotice(result.target)
  if (flag(env.LEAKLESS_QUIET) || env[GUARD_NOTICE_ENV] === line) return result.target
  const log = options.log ?? logToStderr
  const logged = loggedBy.get(log) ?? (log === logToStderr ? stderrLogged() : new Set<string>())
  loggedBy.set(log, logged)
  if (!logged.has(line)) {
    logged.add(line)
    log(line)
  }
  return result.target
}

/**
 * @internal The variable a global setup sets for the processes it starts (test workers, an app server):
 * the guard notice it printed, which they then do not print again.
 */
export const GUARD_NOTICE_ENV = 'LEAKLESS_GUARD_NOTICE'

/**
 * @internal For a global setup: checks the target and prints its notice (as {@link assertSafeTarget}), and
 * returns the line for {@link GUARD_NOTICE_ENV}; null where the guard refuses (the workers report that).
 */
export async function announceTarget(db: Database, options: GuardOptions = {}): Promise<string | null> {
  try {
    return guardNotice(await assertSafeTarget(db, options))
  } catch (error) {
    if (error instanceof GuardError) return null
    throw error
  }
}

const guarded = new WeakMap<Database, { verdicts: Map<string, Promise<GuardVerdict>> }>()
// The notice is logged once per process (per log function) and target, not once per connection.
const loggedBy = new WeakMap<(line: string) => void, Set<string>>()
const logToStderr = (line: string) => console.error(line)
// On stderr once per process, even when the package is loaded twice (ESM and CommonJS).
const STDERR_LOGGED = Symbol.for('leakless.guardNoticesOnStderr')
const stderrLogged = (): Set<string> =>
  ((globalThis as typeof globalThis & { [STDERR_LOGGED]?: Set<string> })[STDERR_LOGGED] ??= new Set<string>())

async function inspect(db: Database, options: GuardOptions, env: NodeJS.ProcessEnv): Promise<GuardVerdict> {
  const [row] = await db.execute<{ database: string; address: string | null; port: number | null }>(
    'select current_database() as database, host(inet_server_addr()) as address, inet_server_port() as port',
  )
  const live = db.driver === 'pglite' ? null : (row?.address ?? null)
  return checkTarget(
    {
      driver: db.driver,
      database: row?.database ?? '',
      serverAddress: options.serverAddress !== undefined ? options.serverAddress : live,
      port: row?.port ?? db.target.port,
      nodeEnv: env.NODE_ENV,
      appEnv: env.APP_ENV,
    },
    { ...options, env },
  )
}

/** @internal True for names like `test`, `app_test`, `test_app`, `app-test-2` (case-insensitive). */
export function isTestDatabaseName(name: string): boolean {
  return TEST_NAME.test(name)
}

/** @internal True for a loopback address (127.0.0.0/8, ::1, ::ffff:127.x) or null (unix socket, in-process). */
export function isLocalAddress(address: string | null): boolean {
  if (address === null) return true
  const family = isIP(address)
  return family !== 0 && LOOPBACK.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

function isProduction(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'production'
}

function flag(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase()
  return v === '1' || v === 'true'
}

function listed(value: string | undefined, name: string): boolean {
  return name !== '' && (value ?? '').split(',').some((entry) => entry.trim() === name)
}

function quote(name: string): string {
  return `'${name.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function describeTarget(facts: TargetFacts): string {
  return `database "${facts.database}" ${describePlace(facts)} (${facts.driver})`
}

function describePlace(t: { driver: Driver; serverAddress: string | null; port?: number | null }): string {
  if (t.serverAddress !== null) {
    const host = t.serverAddress.includes(':') ? `[${t.serverAddress}]` : t.serverAddress
    return `at ${host}${t.port ? `:${t.port}` : ''}`
  }
  return t.driver === 'pglite' ? 'in-process' : 'on a unix socket'
}

function guardNotice(target: GuardedTarget): string {
  const by = target.allowances.length ? `; allowed by ${target.allowances.join(', ')}` : ''
  return `leakless: destructive SQL allowed on ${target.database} ${describePlace(target)} (${target.driver}${by})`
}
