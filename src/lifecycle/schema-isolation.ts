import type { ResolvedConfig } from '../config/load-config.js'
import { connect } from '../db/connect.js'
import { assertSafeTarget } from '../db/guard.js'
import { createWorkerSchema, workerSchemaName } from '../db/worker-schema.js'
import { dropCreatedSchema, recordCreatedSchema } from '../registry/created-resources.js'
import { connectOptionsOf, guardOptionsOf } from './config-options.js'
import { claimStorePrefix, isolationProblem, type IsolatedStore, type StoreOwner } from './isolated-store.js'

/**
 * @internal Opens the schema of a run context that is about to be created: a first connection checks
 * the guard, takes the run's next process number (the schema's name comes from the prefix),
 * records the schema in the registry, then creates and migrates it; the returned connections have it on
 * `search_path`.
 */
export async function openIsolatedSchema(config: ResolvedConfig, run: StoreOwner): Promise<IsolatedStore> {
  const problem = isolationProblem('schema', config, false, 'leakless')
  if (problem !== null) throw problem
  const options = connectOptionsOf(config)
  const boot = await connect(options)
  let created: { schema: string; runTag: string } | null = null
  try {
    await assertSafeTarget(boot, guardOptionsOf(config))
    const { runTag, processNumber, prefix } = await claimStorePrefix(boot, 'schema', run)
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
