import type { ResolvedConfig } from '../config/load-config.js'
import { acquireLease, type Lease } from '../cleanup/lease.js'
import { connect, type ConnectOptions } from '../db/connect.js'
import type { Database } from '../db/database.js'
import { assertSafeTarget } from '../db/guard.js'
import { ensureSchema } from '../db/migrate.js'
import { dedicatedSession } from '../db/session.js'
import { q } from '../db/sql-text.js'
import { BUILD_SUFFIX, migrationsHash, templateDatabaseName, workerDatabaseName } from '../db/worker-database.js'
import { withDeadline } from '../deadline.js'
import { sqlStateOf } from '../driver-error.js'
import { ConfigError, ConnectionError } from '../errors.js'
import {
  dropCreatedDatabase,
  publishTemplate,
  recordCreatedDatabase,
  useTemplate,
} from '../registry/created-databases.js'
import { ensureRegistry, REGISTRY_VERSION } from '../registry/registry.js'
import { ADVISORY_NAMESPACE } from '../registry/registry-sql.js'
import { connectOptionsOf, guardOptionsOf } from './config-options.js'
import { claimStorePrefix, isolationProblem, type IsolatedStore, type StoreOwner } from './isolated-store.js'

/** How long a worker waits for another to finish building the run's template database. */
export const TEMPLATE_BUILD_TIMEOUT_MS = 120_000
const LOCK_POLL_MS = 100

/**
 * @internal Opens the database of a run context that is about to be created (isolation 'database'): a
 * connection to the configured database checks the guard, takes the run's next process number (the
 * database is named from the prefix), holds a lease on it there, makes sure the migrated template exists
 * (built once, reused while the migrations' hash is the same), records the worker's database in the
 * registry and creates it with `CREATE DATABASE … TEMPLATE`. The returned `db` is connected to it.
 */
export async function openIsolatedDatabase(config: ResolvedConfig, run: StoreOwner): Promise<IsolatedStore> {
  const problem = isolationProblem('database', config, false, 'leakless')
  if (problem !== null) throw problem
  const options = connectOptionsOf(config)
  const boot = await connect(options)
  let lease: Lease | null = null
  let created: string | null = null
  try {
    await assertSafeTarget(boot, guardOptionsOf(config))
    const [{ base }] = (await boot.execute<{ base: string }>('select current_database() as base')) as [{ base: string }]
    const { runTag, processNumber, prefix } = await claimStorePrefix(boot, 'database', run)
    // The sweep drops a recorded database only while this lease (on the configured database) is free.
    lease = await acquireLease(boot, prefix)
    const spec = {
      base,
      hash: migrationsHash(config.migrations!, REGISTRY_VERSION),
      migrations: config.migrations!,
      owner: prefix,
      runTag,
    }
    const name = workerDatabaseName(base, prefix)
    await recordCreatedDatabase(boot, { name, runTag, owner: prefix })
    created = name
    // A template dropped by a sweep between the check and the clone (unused for a week) is built again.
    await createFromTemplate(boot, name, () => ensureTemplate(boot, options, spec))
    const db = await connect({ ...options, database: name })
    const held = lease
    return {
      db,
      mode: 'database',
      name,
      processNumber,
      prefix,
      async dispose() {
        try {
          await db.close()
          // After its connections closed (PostgreSQL refuses a database in use): a process that dies
          // before this leaves a recorded database whose lease is free, which the sweep drops.
          await dropCreatedDatabase(boot, name)
        } finally {
          await held.release()
          await boot.close()
        }
      },
    }
  } catch (error) {
    if (created !== null) await dropCreatedDatabase(boot, created).catch(() => {}) // else the sweep does
    await lease?.release()
    await boot.close()
    throw error
  }
}

interface TemplateSpec {
  base: string
  hash: string
  migrations: string
  owner: string
  runTag: string
}

/**
 * The template database for the migrations' hash: reused when the registry records it, else built by
 * one worker at a time (an advisory lock on the configured database): created under a build name that is
 * recorded first, migrated, then renamed to the template's name with its record in one transaction.
 */
async function ensureTemplate(boot: Database, options: ConnectOptions, spec: TemplateSpec): Promise<string> {
  const template = templateDatabaseName(spec.base, spec.hash)
  if (await useTemplate(boot, template)) return template
  const session = dedicatedSession(boot, { applicationName: 'leakless template' })
  try {
    await lockWithin(session, template, TEMPLATE_BUILD_TIMEOUT_MS)
    if (await useTemplate(boot, template)) return template
    const [exists] = await boot.execute('select 1 from pg_database where datname = $1', [template])
    if (exists !== undefined) {
      throw new ConfigError(
        'ISOLATION_UNSUPPORTED',
        `isolation 'database': a database named "${template}" exists, and the run registry does not record it as a template leakless built. leakless never drops a database it did not create: rename or drop it yourself.`,
        { details: { database: template } },
      )
    }
    const build = workerDatabaseName(spec.base, spec.owner) + BUILD_SUFFIX
    await recordCreatedDatabase(boot, { name: build, runTag: spec.runTag, owner: spec.owner })
    try {
      await boot.execute(`create database ${q(build)}`)
      const target = await connect({ ...options, database: build, max: 1 })
      try {
        await ensureSchema(target, { migrationsFolder: spec.migrations })
        await ensureRegistry(target)
      } finally {
        await target.close()
      }
      await publishTemplate(boot, build, template, spec.hash)
    } catch (error) {
      await dropCreatedDatabase(boot, build).catch(() => {}) // else the sweep does, once this lease is free
      throw error
    }
    return template
  } finally {
    await session.end()
  }
}

async function lockWithin(session: ReturnType<typeof dedicatedSession>, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [row] = await withDeadline(
      session.query<{ locked: boolean }>(
        `select pg_try_advisory_lock($1::int, hashtext('leakless.template.' || $2)) as locked`,
        [ADVISORY_NAMESPACE, name],
      ),
      timeoutMs,
      () => new Error('no answer'),
    )
    if (row?.locked === true) return
    if (Date.now() > deadline) {
      throw new ConnectionError(
        'DB_TIMEOUT',
        `isolation 'database': another worker has been building the template database "${name}" for over ${timeoutMs / 1000} s. Check that its migrations finish (run them on an empty database), or look for a stuck session in pg_stat_activity (application_name 'leakless template').`,
        { details: { database: name, timeoutMs } },
      )
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS))
  }
}

// Someone connected to the template for a moment (a tool listing databases) makes CREATE DATABASE fail
// with 55006; a template that went meanwhile, with 3D000.
async function createFromTemplate(boot: Database, name: string, template: () => Promise<string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await boot.execute(`create database ${q(name)} template ${q(await template())}`)
      return
    } catch (error) {
      const state = sqlStateOf(error)
      if ((state !== '55006' && state !== '3D000') || attempt === 5) throw error
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt))
    }
  }
}
