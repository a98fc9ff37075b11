import type { ResolvedConfig } from '../config/load-config.js'
import type { Database } from '../db/database.js'
import { ConfigError } from '../errors.js'
import { allocateProcessNumber } from '../registry/processes.js'
import type { RunnerKind } from '../run/environment.js'
import { createRunSync, runTagOf } from '../run/run-context.js'

/** @internal A run context's own schema or database (isolation 'schema' / 'database'), made before the run context. */
export interface IsolatedStore {
  /** Connections to it: the schema first on `search_path`, or the database itself. */
  db: Database
  mode: StoreMode
  /** The schema's or the database's name. */
  name: string
  /** The process number the run context must take: the name comes from its prefix. */
  processNumber: number
  prefix: string
  /** Drops it (after the run context closed) and closes every connection it opened; drop errors are thrown after closing. */
  dispose(): Promise<void>
}

export type StoreMode = 'schema' | 'database'

/** Who the run context about to be opened is, as the adapters detect it. */
export interface StoreOwner {
  runner?: RunnerKind
  worker?: number
  shard?: number | null
  env?: NodeJS.ProcessEnv
}

const WHY_NOT_YOUR_DB: Record<StoreMode, string> = {
  schema:
    "puts each test file's schema on search_path of the connections leakless opens, and cannot set it on the db you passed (your code would read and write public)",
  database:
    'connects each test file to a database of its own, and cannot point the db you passed there (your code would use the configured database)',
}

/** @internal Why isolation `mode` cannot run with what was given; null when it can. */
export function isolationProblem(
  mode: StoreMode,
  config: ResolvedConfig,
  userDb: boolean,
  api: string,
): ConfigError | null {
  if (userDb) {
    return new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `${api}: isolation '${mode}' ${WHY_NOT_YOUR_DB[mode]}. Drop the db option and use the db fixture, or set isolation: 'shared' for these tests.`,
      { details: { isolation: mode } },
    )
  }
  if (config.migrations === undefined) {
    return new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `isolation '${mode}' migrates each test file's ${mode} from the migrations folder, and the configuration has none: set migrations: './drizzle' (drizzle-kit's output) in leakless.config.ts.`,
      { details: { isolation: mode } },
    )
  }
  return null
}

/**
 * @internal The run's next process number and the prefix the run context will get with it (a numbered
 * process field: no claim, no random part), which names its schema or database.
 */
export async function claimStorePrefix(
  boot: Database,
  mode: StoreMode,
  owner: StoreOwner,
): Promise<{ runTag: string; processNumber: number; prefix: string }> {
  const runTag = runTagOf({ env: owner.env ?? process.env })
  const processNumber = await allocateProcessNumber(boot, runTag)
  if (processNumber === null) {
    throw new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `isolation '${mode}' names ${mode}s from the run registry's process numbers, and run ${runTag} has none left (its tag is older than 30 days, or it used every number). Start a new run: unset LEAKLESS_RUN or give it a new tag.`,
      { details: { runTag } },
    )
  }
  return { runTag, processNumber, prefix: createRunSync({ ...owner, runTag, processNumber }).prefix }
}
