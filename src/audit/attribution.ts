import { decodeId } from '../ids/decode.js'
import type { LedgerEntry } from '../run/ledger.js'

/** Ledger entries owned by the prefix: tagged ones by their tag; untagged ones by their scope's tag, if any. */
export function ownedEntries(ledger: readonly LedgerEntry[], prefix: string): LedgerEntry[] {
  const scopePrefix = new Map<number, string>()
  for (const entry of ledger) {
    const decoded = entry.tag === null ? null : decodeId(entry.tag)
    if (decoded !== null && !scopePrefix.has(entry.scope)) scopePrefix.set(entry.scope, decoded.scopePrefix)
  }
  return ledger.filter((entry) =>
    entry.tag !== null ? entry.tag.startsWith(prefix) : (scopePrefix.get(entry.scope)?.startsWith(prefix) ?? true),
  )
}

/** Comparable form of a primary key: columns sorted by name, values as text. */
export function keyString(table: string, key: Record<string, unknown>): string {
  const columns = Object.keys(key).sort()
  return `${table}\u0000${JSON.stringify(columns.map((c) => [c, textOf(key[c])]))}`
}

function textOf(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
}

/** Finds the ledger entry behind a row: the same table and key, else any entry of the same test scope. */
export class LedgerIndex {
  readonly #byKey = new Map<string, LedgerEntry>()
  readonly #byScope = new Map<string, LedgerEntry>()

  constructor(entries: readonly LedgerEntry[]) {
    for (const entry of entries) {
      const key = keyString(entry.table, entry.key)
      if (!this.#byKey.has(key)) this.#byKey.set(key, entry)
      const decoded = entry.tag === null ? null : decodeId(entry.tag)
      if (decoded !== null && !this.#byScope.has(decoded.scopePrefix)) this.#byScope.set(decoded.scopePrefix, entry)
    }
  }

  byKey(table: string, key: Record<string, unknown>): LedgerEntry | undefined {
    return this.#byKey.get(keyString(table, key))
  }

  byScope(scopePrefix: string): LedgerEntry | undefined {
    return this.#byScope.get(scopePrefix)
  }
}
