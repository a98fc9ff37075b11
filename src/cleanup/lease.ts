import type { ReservedSql, Sql } from 'postgres'
import { ConnectionError } from '../errors.js'
import type { Database } from '../db/database.js'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import { ADVISORY_NAMESPACE } from '../registry/registry-sql.js'

/** A live run context's claim that its rows are in use; the sweep leaves a prefix alone while it is held. */
export interface Lease {
  /** The process prefix the lease protects (`<runTag>-<process>-`). */
  readonly prefix: string
  /** Gives the lease up (unlock, and return the connection to the pool). Idempotent; never throws. */
  release(): Promise<void>
}

/** First key of the leases' advisory locks: leakless's namespace ('lkls'). */
export const LEASE_NAMESPACE = ADVISORY_NAMESPACE

const LOCK = 'select pg_advisory_lock($1::int, hashtext($2)), pg_backend_pid() as pid'
const UNLOCK = 'select pg_advisory_unlock($1::int, hashtext($2))'
const PROBE = 'select pg_try_advisory_xact_lock($1::int, hashtext($2)) as free'
// Asked on another connection: whether the lease's session is still there, holding the lock.
const HELD_BY = `select exists (select from pg_locks where locktype = 'advisory' and pid = $1 and classid = $2::int::oid
  and objid = hashtext($3)::oid and objsubid = 2 and granted) as held`

// PGlite is one in-process connection: no other process can probe it, so leases live in this Set.
// On globalThis so that two copies of this module in one process agree.
const LOCAL_LEASES = Symbol.for('leakless.localLeases')
type LeaseGlobal = typeof globalThis & { [LOCAL_LEASES]?: Map<string, number> }
const localLeases = () => ((globalThis as LeaseGlobal)[LOCAL_LEASES] ??= new Map())

/**
 * Holds a lease on the process prefix while this process lives: a session-level advisory lock on a
 * connection reserved from the pool, visible to every other connection. It ends with `release()`, or
 * when the process dies and PostgreSQL closes its session. If that connection drops while the process
 * lives, nothing fails, but the lease is gone: the sweep's age threshold is then the only protection.
 *
 * On PGlite (one in-process connection, no other processes) the lease is only recorded in this process,
 * so {@link isLeaseHeld} answers for prefixes leased here and says `false` for every other prefix.
 *
 * @example
 * const lease = await acquireLease(db, run.prefix)
 * // … the run's tests …
 * await lease.release()
 */
export async function acquireLease(db: Database, processPrefix: string): Promise<Lease> {
  const prefix = assertOwnedPrefix(processPrefix)
  if (db.driver === 'pglite') {
    const leases = localLeases()
    leases.set(prefix, (leases.get(prefix) ?? 0) + 1)
    let released = false
    return {
      prefix,
      release: async () => {
        if (released) return
        released = true
        const left = (leases.get(prefix) ?? 1) - 1
        if (left > 0) leases.set(prefix, left)
        else leases.delete(prefix)
      },
    }
  }
  const client = postgresClient(db)
  const reserved = await client.reserve()
  let pid: number
  try {
    const [row] = await reserved.unsafe<Array<{ pid: number }>>(LOCK, [LEASE_NAMESPACE, prefix])
    pid = row!.pid
  } catch (error) {
    reserved.release()
    throw error
  }
  let releasing: Promise<void> | undefined
  return {
    prefix,
    release: () => (releasing ??= unlock(db, reserved, prefix, pid)),
  }
}

/**
 * True while another live session (or, on PGlite, this process) holds the lease on the process prefix.
 * The probe takes the advisory lock for one transaction only, so it never keeps the lease itself.
 *
 * @example
 * if (!(await isLeaseHeld(db, decoded.processPrefix))) await cleanupPrefix(db, decoded.processPrefix)
 */
export async function isLeaseHeld(db: Database, processPrefix: string): Promise<boolean> {
  const prefix = assertOwnedPrefix(processPrefix)
  if (db.driver === 'pglite') return localLeases().has(prefix)
  const [row] = await db.transaction((run) => run<{ free: boolean }>(PROBE, [LEASE_NAMESPACE, prefix]))
  return row?.free !== true
}

async function unlock(db: Database, reserved: ReservedSql, prefix: string, pid: number): Promise<void> {
  // postgres.js crashes the process when a dropped reserved connection is used or released (it writes
  // to a null socket), so the lease's session is checked from the pool first. A dropped session took
  // its lock with it, and postgres.js returns the dead connection to the pool by itself.
  let alive: boolean
  try {
    const [row] = await db.execute<{ held: boolean }>(HELD_BY, [pid, LEASE_NAMESPACE, prefix])
    alive = row?.held === true
  } catch {
    return // the database is out of reach: the lock ends with the session, at the latest when the process exits
  }
  if (!alive) return
  try {
    await reserved.unsafe(UNLOCK, [LEASE_NAMESPACE, prefix])
  } catch {
    // Still locked on a pooled session: the prefix stays protected until the pool closes, which is safe.
  } finally {
    reserved.release()
  }
}

function postgresClient(db: Database): Sql {
  const client = (db.drizzle as unknown as { $client: Sql }).$client
  const max = (client.options as { max?: number }).max ?? 10
  if (max <= 1) {
    throw new ConnectionError(
      'DB_UNSUPPORTED',
      `acquireLease needs a connection of its own for the whole run, but the postgres.js client has max: ${max}: reserving its only connection would block every other query. Create the client with max: 2 or more.`,
      { details: { max } },
    )
  }
  return client
}
