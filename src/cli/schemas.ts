import type { ResolvedConfig } from '../config/index.js'
import type { Database } from '../db/database.js'
import { ConfigError } from '../errors.js'
import { REGISTRY_SCHEMA } from '../registry/registry-sql.js'

/**
 * The schemas `audit` and `sweep` look at: `--schema`, else the configuration's, else `public`. Each must
 * exist: a misspelt schema would be searched and found "clean". Throws `UNKNOWN_SCHEMA` naming it and the
 * schemas the database has (without PostgreSQL's own and the registry's).
 */
export async function checkedSchemas(
  db: Database,
  flags: { schemas?: string[] },
  config: ResolvedConfig,
): Promise<{ schemas?: string[] }> {
  const given = flags.schemas && flags.schemas.length > 0 ? flags.schemas : config.schemas
  const schemas = given ?? ['public']
  const rows = await db.execute<{ name: string }>('select nspname::text as name from pg_namespace order by 1')
  const existing = new Set(rows.map((row) => row.name))
  const missing = schemas.filter((schema) => !existing.has(schema))
  if (missing.length > 0) {
    const source =
      flags.schemas && flags.schemas.length > 0
        ? '--schema'
        : given
          ? `schemas in ${config.file ?? 'the configuration'}`
          : 'the default schema'
    const theirs = [...existing].filter(
      (name) => !name.startsWith('pg_') && name !== 'information_schema' && name !== REGISTRY_SCHEMA,
    )
    throw new ConfigError(
      'UNKNOWN_SCHEMA',
      `${missing.length === 1 ? 'schema' : 'schemas'} ${missing.map((s) => JSON.stringify(s)).join(', ')} (${source}) ${missing.length === 1 ? 'does' : 'do'} not exist in database ${db.target.database ?? '(unnamed)'}. Its schemas: ${theirs.length > 0 ? theirs.join(', ') : '(none)'}. Pass one of them with --schema.`,
      { details: { missing, schemas: theirs } },
    )
  }
  return given ? { schemas } : {}
}
