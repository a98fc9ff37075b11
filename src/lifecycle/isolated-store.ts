import type { Database } from '../db/database.js'

/** @internal A run context's own schema or database (isolation 'schema' / 'database'), made before the run context. */
export interface IsolatedStore {
  /** Connections to it: the schema first on `search_path`, or the database itself. */
  db: Database
  mode: 'schema' | 'database'
  /** The schema's or the database's name. */
  name: string
  /** The process number the run context must take: the name comes from its prefix. */
  processNumber: number
  prefix: string
  /** Drops it (after the run context closed) and closes every connection it opened; drop errors are thrown after closing. */
  dispose(): Promise<void>
}
