import type { Database } from '../db/database.js'

/** A session that held a lock the cleanup waited for, from `pg_blocking_pids` and `pg_stat_activity`. */
export interface Blocker {
  pid: number
  applicationName: string
  state: string | null
  /** The start of its current (or last) statement. */
  query: string
  /** When its transaction started (ISO), if it is in one. */
  transactionStart: string | null
}

const BLOCKERS = `select a.pid, a.application_name as "applicationName", a.state, left(a.query, 120) as query,
  to_char(a.xact_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "transactionStart"
  from pg_stat_activity a where a.pid = any(pg_blocking_pids($1::int)) order by a.pid`

export function watchBlockers(db: Database, pid: number, lockTimeoutMs: number, into: Blocker[]): NodeJS.Timeout {
  const timer = setTimeout(
    () => {
      db.execute<Blocker & Record<string, unknown>>(BLOCKERS, [pid]).then(
        (rows) => {
          if (rows.length > 0) into.splice(0, into.length, ...rows)
        },
        () => {}, // the error names no blocker then; the timeout itself still says what happened
      )
    },
    Math.max(lockTimeoutMs * 0.6, lockTimeoutMs - 500),
  )
  timer.unref()
  return timer
}

export function describeBlockers(blockers: readonly Blocker[]): string {
  if (blockers.length === 0) return 'Find the blocker in pg_stat_activity (pg_blocking_pids)'
  const one = (b: Blocker) =>
    `pid ${b.pid} (application_name "${b.applicationName}", ${b.state ?? 'unknown state'}${b.transactionStart ? `, in a transaction since ${b.transactionStart}` : ''}, query: ${JSON.stringify(b.query.replace(/\s+/g, ' ').trim())})`
  return `It was blocked by ${blockers.map(one).join('; ')}: end that session's transaction, or stop it with select pg_terminate_backend(${blockers[0]!.pid})`
}

const HOLDERS = `select distinct a.pid, a.application_name as "applicationName", a.state, left(a.query, 120) as query,
  to_char(a.xact_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "transactionStart"
  from pg_locks l join pg_stat_activity a on a.pid = l.pid
  join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
  where l.locktype = 'relation' and l.granted and a.pid <> pg_backend_pid() and ($1::text[] is null or n.nspname = any($1::text[]))
    and l.mode in ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
  order by a.pid`

/**
 * Sessions holding table locks that stop reads or deletes in `schemas` (all schemas for null; share mode
 * and stronger: LOCK TABLE, DDL): who a statement that timed out on a table lock most likely waited for.
 */
export async function tableLockHolders(db: Database, schemas: readonly string[] | null): Promise<Blocker[]> {
  try {
    return await db.execute<Blocker & Record<string, unknown>>(HOLDERS, [schemas])
  } catch {
    return []
  }
}
