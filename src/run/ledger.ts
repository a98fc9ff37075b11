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

// Entries a cleanup deleted; shared by a scope's ledger and its run's, which hold the same objects.
const deleted = new WeakSet<LedgerEntry>()

/** Rows recorded by one scope (or one run context), in insertion order. */
export class Ledger {
  readonly #entries: LedgerEntry[] = []
  readonly #parent: Ledger | undefined

  /** A scope's ledger forwards to its run's, so the run knows every row its scopes made. */
  constructor(parent?: Ledger) {
    this.#parent = parent
  }

  record(entries: LedgerEntry[]): void {
    for (const entry of entries) this.#entries.push(entry)
    this.#parent?.record(entries)
  }

  /**
   * Marks entries as deleted by a cleanup (here and in the parent ledger): their keys are not sent
   * again, so a key reused later by someone else's row is never deleted by an old ledger entry.
   */
  markDeleted(entries: Iterable<LedgerEntry>): void {
    for (const entry of entries) deleted.add(entry)
  }

  /** Untagged entries not deleted yet (what the crash journal must keep). */
  untaggedLive(): LedgerEntry[] {
    return this.#entries.filter((entry) => entry.tag === null && !deleted.has(entry))
  }

  /** Primary keys of rows that carry no tag and were not deleted yet, per table (what a prefix cannot find). */
  untaggedKeys(): Map<string, Record<string, unknown>[]> {
    const out = new Map<string, Record<string, unknown>[]>()
    for (const entry of this.untaggedLive()) out.set(entry.table, [...(out.get(entry.table) ?? []), entry.key])
    return out
  }

  /** Columns that carried the run's tag, per table (tag columns learnt from inserts). */
  tagColumns(): Record<string, string[]> {
    const out: Record<string, Set<string>> = {}
    for (const entry of this.#entries)
      for (const column of entry.tagColumns) (out[entry.table] ??= new Set()).add(column)
    return Object.fromEntries(Object.entries(out).map(([table, columns]) => [table, [...columns]]))
  }

  get entries(): readonly LedgerEntry[] {
    return this.#entries
  }

  get size(): number {
    return this.#entries.length
  }

  /** Entries grouped by table, in first-insert order. */
  byTable(): Record<string, LedgerEntry[]> {
    const out: Record<string, LedgerEntry[]> = {}
    for (const entry of this.#entries) (out[entry.table] ??= []).push(entry)
    return out
  }
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
  const stack = new Error().stack
  if (!stack) return null
  for (const line of stack.split('\n').slice(2)) {
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
