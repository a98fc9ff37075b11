import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'

/** One row a factory inserted: enough to find it again, delete it, and say who made it. */
export interface LedgerEntry {
  /** Table as `schema.table` (`public.users`). */
  table: string
  /** Primary-key column values by database column name. */
  key: Record<string, unknown>
  /** The first value of the row that carries this scope's prefix, if any. */
  tag: string | null
  /** Database columns whose inserted value carried the prefix (the table's tag columns). */
  tagColumns: string[]
  /** Scope number (0 = outside any test) and name. */
  scope: number
  test: string
  /** `file:line:column` of the user code that asked for the row. */
  caller: string | null
  /** The factory that made it. */
  factory: string
  at: Date
}

// Entries a cleanup deleted. A scope's ledger and its run's hold the same objects: an entry released
// through one is left out by the other too, so a key reused later by someone else's row is never sent.
const deleted = new WeakSet<LedgerEntry>()

/**
 * The rows of one run context (or one test scope) that no cleanup has deleted yet, and the tables and
 * tag columns every insert taught it. A cleanup releases what it deleted: the ledger's size follows the
 * rows that still exist, not the number of tests a worker ran.
 */
export class Ledger {
  // Insertion order; deleting from a Set costs O(1).
  readonly #live = new Set<LedgerEntry>()
  // Per table, learnt from every insert (released ones too): rows recorded and columns that carried a tag.
  readonly #tables = new Map<string, { rows: number; tagColumns: Set<string> }>()
  readonly #parent: Ledger | undefined

  /** A scope's ledger forwards to its run's, so the run knows every row its scopes made. */
  constructor(parent?: Ledger) {
    this.#parent = parent
  }

  record(entries: LedgerEntry[]): void {
    for (const entry of entries) {
      this.#live.add(entry)
      let table = this.#tables.get(entry.table)
      if (table === undefined) this.#tables.set(entry.table, (table = { rows: 0, tagColumns: new Set() }))
      table.rows++
      for (const column of entry.tagColumns) table.tagColumns.add(column)
    }
    this.#parent?.record(entries)
  }

  /**
   * The live entries a successful cleanup of `prefix` deletes: every untagged one (cleanup sends their
   * keys) and those whose tag starts with the prefix. A row tagged with another prefix may outlive it.
   */
  ownedBy(prefix: string): LedgerEntry[] {
    const out: LedgerEntry[] = []
    for (const entry of this.#live) {
      if (deleted.has(entry)) this.#live.delete(entry)
      else if (entry.tag === null || entry.tag.startsWith(prefix)) out.push(entry)
    }
    return out
  }

  /** Forgets entries whose rows a cleanup deleted, here and in the parent ledger (and, lazily, in any other). */
  release(entries: Iterable<LedgerEntry>): void {
    for (const entry of entries) {
      deleted.add(entry)
      this.#live.delete(entry)
      if (this.#parent !== undefined) this.#parent.#live.delete(entry)
    }
  }

  /** Columns that carried the run's tag, per table (tag columns learnt from every insert). */
  tagColumns(): Record<string, string[]> {
    const out: Record<string, string[]> = {}
    for (const [table, { tagColumns }] of this.#tables) if (tagColumns.size > 0) out[table] = [...tagColumns]
    return out
  }

  /** Every table a row was recorded in (`schema.table`), deleted rows included. */
  tables(): string[] {
    return [...this.#tables.keys()]
  }

  /** How many rows were recorded per table, deleted ones included. */
  recordedPerTable(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [table, { rows }] of this.#tables) out[table] = rows
    return out
  }

  /** Entries whose rows no cleanup has deleted yet, in insertion order. */
  get entries(): readonly LedgerEntry[] {
    const out: LedgerEntry[] = []
    for (const entry of this.#live) if (!deleted.has(entry)) out.push(entry)
    return out
  }

  /** How many rows no cleanup has deleted yet. */
  get size(): number {
    return this.entries.length
  }

  /** Live entries grouped by table, in first-insert order. */
  byTable(): Record<string, LedgerEntry[]> {
    return groupByTable(this.entries)
  }
}

/**
 * A test scope's ledger: besides the live rows, every row the scope recorded (one test's worth), which
 * the test's report lists after its cleanup deleted them.
 */
export class ScopeLedger extends Ledger {
  readonly #recorded: LedgerEntry[] = []

  override record(entries: LedgerEntry[]): void {
    for (const entry of entries) this.#recorded.push(entry)
    super.record(entries)
  }

  /** Every row this scope's factories inserted, in insertion order, deleted or not. */
  get recorded(): readonly LedgerEntry[] {
    return this.#recorded
  }
}

/** Entries grouped by table, in first-insert order. */
export function groupByTable(entries: Iterable<LedgerEntry>): Record<string, LedgerEntry[]> {
  const out: Record<string, LedgerEntry[]> = {}
  for (const entry of entries) (out[entry.table] ??= []).push(entry)
  return out
}

/** Primary keys of the entries, per table. */
export function keysByTable(entries: Iterable<LedgerEntry>): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>()
  for (const entry of entries) {
    const keys = out.get(entry.table)
    if (keys === undefined) out.set(entry.table, [entry.key])
    else keys.push(entry.key)
  }
  return out
}

// The package's own code: frames inside it are not the caller. Built code's frames may be
// source-mapped back to src/, so both src/ and dist/ of the package are skipped.
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return dirname(from)
  }
}
const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)))
const OWN_DIRS = [join(PACKAGE_ROOT, 'src') + sep, join(PACKAGE_ROOT, 'dist') + sep]
const FRAME = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?$/

/** `file:line:column` of the first stack frame outside leakless and Node internals. */
export function callerLocation(): string | null {
  return locationIn(new Error().stack)
}

/** Where user code asked for something, captured now and read as `file:line:column` the first time it is asked for. */
export type CallerSite = () => string | null

/**
 * Captures the stack without formatting it: V8 formats an error's stack (through the source maps a test
 * runner installs) only when `.stack` is read, which most rows never need (measured: 0.1 ms per test).
 */
export function captureCaller(): CallerSite {
  const site = new Error()
  let location: string | null | undefined
  return () => (location === undefined ? (location = locationIn(site.stack)) : location)
}

function locationIn(stack: string | undefined): string | null {
  if (!stack) return null
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim())
    if (!m) continue
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!
    if (
      OWN_DIRS.some((dir) => file.startsWith(dir)) ||
      file.startsWith('node:') ||
      file.includes(`${sep}node_modules${sep}`)
    )
      continue
    return `${file}:${m[2]}:${m[3]}`
  }
  return null
}
