import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../../errors.js'
import { readTables, tablesOf, type TableModel } from './table-model.js'

const DRIZZLE_CONFIGS = ['drizzle.config.ts', 'drizzle.config.mts', 'drizzle.config.js', 'drizzle.config.mjs']

async function importModule(file: string): Promise<Record<string, unknown>> {
  const { createJiti } = await import('jiti')
  const jiti = createJiti(pathToFileURL(file).href, { moduleCache: false })
  return (await jiti.import(file)) as Record<string, unknown>
}

/**
 * The drizzle schema module `init` reads: `--schema <file>`, else the `schema` of drizzle-kit's
 * `drizzle.config.*` in `cwd`. Throws `INIT_SCHEMA_MISSING` when neither names one file.
 */
export async function findSchemaModule(cwd: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return resolve(cwd, given)
  const config = DRIZZLE_CONFIGS.map((name) => join(cwd, name)).find((file) => existsSync(file))
  if (config !== undefined) {
    let schema: unknown
    try {
      const loaded = await importModule(config)
      schema = ((loaded.default ?? loaded) as { schema?: unknown }).schema
    } catch {
      schema = undefined
    }
    if (typeof schema === 'string' && !/[*{]/.test(schema)) return resolve(cwd, schema)
  }
  throw new ConfigError(
    'INIT_SCHEMA_MISSING',
    `leakless init needs your drizzle schema module, and ${config === undefined ? 'there is no drizzle.config.ts here' : `${config} names no single schema file`}. Pass it: leakless init --schema ./src/db/schema.ts`,
    { details: { cwd, drizzleConfig: config ?? null } },
  )
}

/** Imports a drizzle schema module (TypeScript through jiti) and reads its tables; `INIT_SCHEMA_INVALID` when it has none. */
export async function loadSchemaTables(file: string): Promise<TableModel[]> {
  if (!existsSync(file)) {
    throw new ConfigError(
      'INIT_SCHEMA_INVALID',
      `Schema module ${file} does not exist. Pass the file that exports your drizzle tables: --schema ./src/db/schema.ts`,
      { details: { file } },
    )
  }
  let exports: Record<string, unknown>
  try {
    exports = await importModule(file)
  } catch (error) {
    throw new ConfigError(
      'INIT_SCHEMA_INVALID',
      `Could not load schema module ${file}: ${(error as Error).message}. It must load on its own (its imports installed).`,
      { cause: error, details: { file } },
    )
  }
  const tables = tablesOf(exports)
  if (tables.length === 0) {
    throw new ConfigError(
      'INIT_SCHEMA_INVALID',
      `Schema module ${file} exports no drizzle PostgreSQL table (pgTable or pgSchema(…).table). Pass the module that exports your tables with --schema.`,
      { details: { file, exports: Object.keys(exports) } },
    )
  }
  return readTables(tables)
}
