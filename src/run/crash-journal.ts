import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { PROCESS_FIELD_PATTERN, RUN_TAG_PATTERN } from '../ids/id-format.js'
import type { LedgerEntry } from './ledger.js'

/**
 * Crash journal of untagged rows. A file, not a table: no schema of ours in the user's database, zero cost
 * for tagged rows, and it is on the crashed process's machine (a shard on another machine is swept there).
 */

/** One journal line: a row without a tag, by table and primary key. */
export interface JournalLine {
  table: string
  key: Record<string, unknown>
}

/** A journal found in the state directory: whose it is and where. */
export interface JournalFile {
  runTag: string
  processField: string
  /** `<runTag>-<processField>-` */
  prefix: string
  path: string
}

const SUFFIX = '.journal'

/** `<stateDir>/runs/<runTag>/<processField>.journal` */
export function journalPath(stateDir: string, runTag: string, processField: string): string {
  return join(stateDir, 'runs', runTag, `${processField}${SUFFIX}`)
}

/**
 * Appends the entries no tag marks (`tag === null`) to the process's journal, one JSON line each, with
 * one synchronous write, so that the sweep can delete those rows after a crash. Tagged entries cost nothing.
 *
 * @example
 * appendToJournal(defaultStateDir(), run.runTag, run.processField, scope.ledger.entries)
 */
export function appendToJournal(
  stateDir: string,
  runTag: string,
  processField: string,
  entries: Iterable<Pick<LedgerEntry, 'table' | 'key' | 'tag'>>,
): void {
  let text = ''
  for (const entry of entries) {
    if (entry.tag !== null) continue
    text += JSON.stringify({ table: entry.table, key: entry.key } satisfies JournalLine, jsonValue) + '\n'
  }
  if (text === '') return
  const path = journalPath(stateDir, runTag, processField)
  mkdirSync(join(stateDir, 'runs', runTag), { recursive: true })
  appendFileSync(path, text, { mode: 0o644 })
}

/**
 * The journaled keys of a process by table (`public.counter` → `[{ id: '7' }]`); empty when there is
 * no journal. A torn last line (a crash mid-write) is skipped.
 */
export function readJournal(
  stateDir: string,
  runTag: string,
  processField: string,
): Map<string, Record<string, unknown>[]> {
  const keys = new Map<string, Record<string, unknown>[]>()
  const seen = new Set<string>()
  let text: string
  try {
    text = readFileSync(journalPath(stateDir, runTag, processField), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return keys
    throw error
  }
  for (const line of text.split('\n')) {
    const parsed = parseLine(line)
    if (parsed === null) continue
    const id = JSON.stringify([parsed.table, parsed.key])
    if (seen.has(id)) continue
    seen.add(id)
    const table = keys.get(parsed.table)
    if (table === undefined) keys.set(parsed.table, [parsed.key])
    else table.push(parsed.key)
  }
  return keys
}

/** Deletes the process's journal (after its rows were cleaned up); missing is fine. */
export function removeJournal(stateDir: string, runTag: string, processField: string): void {
  rmSync(journalPath(stateDir, runTag, processField), { force: true })
}

/** Every journal under `<stateDir>/runs/`, for the sweep; files that are not ours are ignored. */
export function listJournals(stateDir: string): JournalFile[] {
  const out: JournalFile[] = []
  const runsDir = join(stateDir, 'runs')
  for (const runTag of readdirOrEmpty(runsDir)) {
    if (!RUN_TAG_PATTERN.test(runTag)) continue
    for (const name of readdirOrEmpty(join(runsDir, runTag))) {
      if (!name.endsWith(SUFFIX)) continue
      const processField = name.slice(0, -SUFFIX.length)
      if (!PROCESS_FIELD_PATTERN.test(processField)) continue
      out.push({ runTag, processField, prefix: `${runTag}-${processField}-`, path: join(runsDir, runTag, name) })
    }
  }
  return out.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return []
    throw error
  }
}

function parseLine(line: string): JournalLine | null {
  if (line.trim() === '') return null
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  const { table, key } = (value ?? {}) as Partial<JournalLine>
  if (typeof table !== 'string' || typeof key !== 'object' || key === null || Array.isArray(key)) return null
  return { table, key }
}

// bigint keys (bigserial on some drivers) as decimal text: PostgreSQL casts them back in the sweep.
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value
}
