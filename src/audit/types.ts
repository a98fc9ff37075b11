import type { DatabaseInput } from '../db/database-input.js'
import type { DecodedId } from '../ids/decode.js'
import type { LedgerEntry } from '../run/ledger.js'

/** What {@link audit} looks for, and where. */
export interface AuditOptions {
  /** The handle `connect()` returns, or a drizzle instance (postgres.js, node-postgres, PGlite). */
  db: DatabaseInput
  /** An owned prefix (run, process or scope). One of `prefix` and `runTag` is required. */
  prefix?: string
  /** Audits the whole run: the prefix becomes `<runTag>-`. */
  runTag?: string
  /**
   * Rows this process made: they name the test and `file:line` of leaked rows, and are found even without a
   * tag. With a process or scope prefix, a row of that prefix the ledger does not list was written outside
   * a factory (`factory: false`).
   */
  ledger?: readonly LedgerEntry[]
  /** Test names by scope prefix (`run.scopeNames`): name the test of rows no ledger entry explains. */
  scopeNames?: ReadonlyMap<string, string>
  /** Table (`public.users`) → columns carrying tags, besides every table's text primary key. */
  tagColumns?: Readonly<Record<string, readonly string[]>>
  /**
   * Tag columns learnt elsewhere (the run registry, inserts, discovery): used where the table and column
   * exist, never an error. @default none
   */
  learntTagColumns?: Readonly<Record<string, readonly string[]>>
  /**
   * Read the run registry: the run's tag columns and its journaled untagged keys (rows no tag marks), so
   * an audit on any machine finds what a dead process made. @default true
   */
  registry?: boolean
  /**
   * Look for the prefix in text columns nobody named, where that is cheap: tables up to 2 MB, and
   * columns with an index that serves `LIKE 'prefix%'`. @default true
   */
  discover?: boolean
  /** Also scan every text column of every table (slower: no index helps). @default false */
  deep?: boolean
  /** Schemas to introspect (the ledger's schemas are added). @default ['public'] */
  schemas?: string[]
  /** Most rows reported per table; tables with more are listed in `truncated`. @default 1000 */
  limit?: number
  /** The moment ages are measured to. @default new Date() */
  now?: Date
}

/** One row the audit found still owned by the prefix. */
export interface LeakRow {
  /** `schema.table` */
  table: string
  /** Primary-key values by column, or the whole row when the table has no primary key. */
  key: Record<string, unknown>
  /** The column whose value starts with the prefix; null for ledger rows and dependents. */
  column: string | null
  /** That column's value. */
  tag: string | null
  /** The foreign key through which the row depends on a leaked row; null unless that is why it was found. */
  via: string | null
  /** Who made the row, decoded from its tag (for a dependent: from the key it references). */
  provenance: DecodedId | null
  /** Name of the test that created the row, when the ledger knows it, or the run registry (a closed process's tests). */
  test: string | null
  /** `file:line:column` of the factory call that created this very row, when the ledger lists it. */
  caller: string | null
  /**
   * Whether a factory wrote the row: true when the ledger or the registry's journal lists it; false when the
   * audit holds the ledger of the process whose prefix the row carries and it does not (the app or raw SQL
   * wrote it, or it depends on a row that carries the prefix), or when the run registry says the process
   * whose prefix it carries had closed clean (the row was written after); null when that cannot be told.
   */
  factory: boolean | null
  /** How long ago the row was created (ledger), else how long ago its run started. */
  ageMs: number | null
}

/** The outcome of one {@link audit}. */
export interface AuditReport {
  prefix: string
  /** True when no row was found. */
  clean: boolean
  /** Leaked rows, grouped by table. */
  rows: LeakRow[]
  /** Rows found per table (`public.users` → 2); tables without any are left out. */
  tables: Record<string, number>
  /** Tables with more rows than the limit: only the first rows are reported. */
  truncated: string[]
  durationMs: number
}
