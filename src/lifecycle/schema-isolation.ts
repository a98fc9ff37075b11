import type { ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import { assertSafeTarget } from '../db/guard.js'
import { createWorkerSchema, workerSchemaName } from '../db/worker-schema.js'
import { ConfigError } from '../errors.js'
import { dropCreatedSchema, recordCreatedSchema } from '../registry/created-resources.js'
import { allocateProcessNumber } from '../registry/processes.js'
import type { RunnerKind } from '../run/environment.js'
import { createRunSync, runTagOf } from '../run/run-context.js'
import { connectOptionsOf, guardOptionsOf } from './config-options.js'
import type { IsolatedStore } from './isolated-store.js'

/** @internal Why isolation 'schema' cannot run with what was given; null when it can. */
export function schemaIsolationProblem(config: ResolvedConfig, userDb: boolean, api: string): ConfigError | null {
  if (userDb) {
    return new ConfigError(
      'ISOLATION_UNSUPPORTED',
      `${api}: isolation 'schema' puts each test file's schema on search_path of the connections leakless opens, and cannot set it on the db you passed (your code would read and write public). Drop the db option and use the db fixture, or set isolation: 'shared' for these tests.`,
      { details: { isolation: 'schema' } },
    )
  }
  if (config.migrations === undefined) {
    return new ConfigError(
      'ISOLATION_UNSUPPORTED',
      "isolation 'schema' migrates each test file's schema from the migrations folder, and the configuration has none: set migrations: './drizzle' (drizzle-kit's output) in leakless.config.ts.",
      { details: { isolation: 'schema' } },
    )
  }
  return null
}

/**
 * @internal Opens the schema of a run context that is about to be created: a first connection checks
 * the guard, takes the run's next process number (the schema's name comes from the prefix),
 * records the schema in the registry, then creates and migrates it; the returned connections have it on
 * `search_path`.
 */
export async function openIsolatedSchema(
  config: ResolvedConfig,
  run: { runner?: RunnerKind; worker?: number; shard?: number | null; env?: NodeJS.ProcessEnv },
): Promise<IsolatedStore> {
  const problem = schemaIsolationProblem(config, false, 'leakless')
  if (problem !== null) throw problem
  const options = connectOptionsOf(config)
  const boot = await connect(options)
  let created: { schema: string; runTag: string } | null = null
  try {
    await assertSafeTarget(boot, guardOptionsOf(config))
    const runTag = runTagOf({ env: run.env ?? process.env })
    const processNumber = await allocateProcessNumber(boot, runTag)
    if (processNumber === null) {
      throw new ConfigError(
        'ISOLATION_UNSUPPORTED',
        `isolation 'schema' names schemas from the run registry's process numbers, and run ${runTag} has none left (its tag is older than 30 days, or it used every number). Start a new run: unset LEAKLESS_RUN or give it a new tag.`,
        { details: { runTag } },
      )
    }
    // The prefix the run context will get (a numbered process field: no claim, no random part).
    const { prefix } = createRunSync({ ...run, runTag, processNumber })
    const schema = workerSchemaName(prefix)
    await recordCreatedSchema(boot, { name: schema, runTag, owner: prefix })
    created = { schema, runTag }
    await createWorkerSchema(boot, schema, config.migrations!)
    const db = await connect({ ...options, searchPath: [schema, 'public'] })
    return {
      db,
      mode: 'schema',
      name: schema,
      processNumber,
      prefix,
      async dispose() {
        try {
          // After the run context's lease is gone: a process that dies first leaves a recorded schema the sweep drops.
          await dropCreatedSchema(boot, schema)
        } finally {
          await db.close()
          await boot.close() // the last to go, should it own an embedded server
        }
      },
    }
  } catch (error) {
    if (created !== null) {
      // Else the sweep drops it later: it is recorded, and its lease was never held.
      await dropCreatedSchema(boot, created.schema).catch(() => {})
    }
    await boot.close()
    throw error
  }
}
