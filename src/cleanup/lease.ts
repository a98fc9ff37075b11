import { asConnectionFailure, noAnswer } from '../db/connection-lost.js'
import { withDeadline } from '../deadline.js'
import { onDatabaseClose, type Database } from '../db/database.js'
import { dedicatedSession, type DedicatedSession } from '../db/session.js'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import { ADVISORY_NAMESPACE } from '../registry/registry-sql.js'

/** A live run context's claim that its rows are in use; the sweep leaves a prefix alone while it is held. */
export interface Lease {
  /** The process prefix the lease protects (`<runTag>-<process>-`). */
  readonly prefix: string
  /**
   * False once the lease's connection dropped (a server restart) until {@link Lease.renew} takes it again,
   * and after `release()`: meanwhile only the sweep's age threshold protects the rows.
   */
  readonly held: boolean
  /** How many times the lease's connection dropped. */
  readonly lost: number
  /** Takes the lease again when it was lost; true when it is held afterwards. Never throws. */
  renew(): Promise<boolean>
  /** Gives the lease up (its session ends). Idempotent; never throws; bounded. */
  release(): Promise<void>
}

/** First key of the leases' advisory locks: leakless's namespace ('lkls'). */
export const LEASE_NAMESPACE = ADVISORY_NAMESPACE

const LOCK = 'select pg_advisory_lock($1::int, hashtext($2))'
const UNLOCK = 'select pg_advisory_unlock($1::int, hashtext($2))'
const PROBE = 'select pg_try_advisory_xact_lock($1::int, hashtext($2)) as free'
const RELEASE_WAIT_MS = 2000

// PGlite is one in-process connection: no other process can probe it, so leases live in this Set.
// On globalThis so that two copies of this module in one process agree.
const LOCAL_LEASES = Symbol.for('leakless.localLeases')
type LeaseGlobal = typeof globalThis & { [LOCAL_LEASES]?: Map<string, number> }
const localLeases = () => ((globalThis as LeaseGlobal)[LOCAL_LEASES] ??= new Map())

/**
 * Holds a lease on the process prefix while this process lives: a session-level advisory lock on a
 * connection of its own (not one of the pool's, so the pool closes promptly and a dropped lease can
 * never poison it), visible to every other connection. It ends with `release()`, with `db.close()`, or
 * when the process dies and PostgreSQL closes its session. If the server restarts, the lease is lost
 * (`held` turns false) until `renew()` takes it again; its connection never keeps the process alive.
 *
 * On PGlite (one in-process connection, no other processes) the lease is only recorded in this process,
 * so {@link isLeaseHeld} answers for prefixes leased here and says `false` for every other prefix.
 *
 * @example
 * const lease = await acquireLease(db, run.prefix)
 * // … the run's tests …
 * await lease.release()
 */
export async function acquireLease(
  db: Database,
  processPrefix: string,
  connection: LeaseConnection | null = null,
): Promise<Lease> {
  const prefix = assertOwnedPrefix(processPrefix)
  if (db.driver === 'pglite') return localLease(prefix)
  let session: DedicatedSession | null = null
  let held = false
  let lost = 0
  let released = false
  let renewing: Promise<boolean> | undefined
  let releasing: Promise<void> | undefined

  const open = async (): Promise<void> => {
    // The session ended without release(): the server restarted or the network dropped.
    const onclose = () => {
      if (session === client && held) {
        held = false
        lost++
      }
    }
    const client: DedicatedSession = connection?.take(onclose) ?? leaseSession(db, onclose)
    session = client
    try {
      await withDeadline(Promise.resolve(client.query(LOCK, [LEASE_NAMESPACE, prefix])), LEASE_TIMEOUT_MS, () =>
        noAnswer(db.target, "taking the run's lease", LEASE_TIMEOUT_MS),
      )
      held = true
    } catch (error) {
      session = null
      void client.end()
      throw asConnectionFailure(error, db.target, "taking the run's lease")
    }
  }
  await open()
  const unregister = onDatabaseClose(db, () => lease.release())
  const lease: Lease = {
    prefix,
    get held() {
      return held
    },
    get lost() {
      return lost
    },
    renew() {
      if (held || released) return Promise.resolve(held)
      renewing ??= (async () => {
        const old = session
        session = null
        if (old) await old.end()
        try {
          await open()
        } catch {
          // still away: the next cleanup tries again
        }
        return held
      })().finally(() => {
        renewing = undefined
      })
      return renewing
    },
    release() {
      releasing ??= (async () => {
        const wasHeld = held
        released = true
        held = false
        unregister()
        await renewing
        const client = session
        session = null
        if (client === null) return
        // Unlocked before the session ends, so a probe right after release() finds the prefix free; a
        // session that is gone took its lock with it.
        if (wasHeld)
          await withDeadline(
            Promise.resolve(client.query(UNLOCK, [LEASE_NAMESPACE, prefix])),
            RELEASE_WAIT_MS,
            () => new Error('unlock'),
          ).catch(() => {})
        await client.end()
      })()
      return releasing
    },
  }
  return lease
}

const leaseSession = (db: Database, onclose: () => void) =>
  dedicatedSession(db, { applicationName: 'leakless lease', lockTimeoutMs: LEASE_TIMEOUT_MS, onclose })

/** A lease's connection opened before its prefix is known: connecting takes a few ms, beside other work. */
export interface LeaseConnection {
  /** The session the first time (`onclose` is told when its connection closes), null after that. */
  take(onclose: () => void): DedicatedSession | null
  /** Ends the session if no lease took it. Never throws. */
  discard(): Promise<void>
}

/**
 * Starts connecting the session a lease will hold (null on PGlite, whose leases live in this process).
 * Pass it to {@link acquireLease}, or `discard()` it.
 */
export function openLeaseConnection(db: Database): LeaseConnection | null {
  if (db.driver === 'pglite') return null
  let onclose = () => {}
  let taken = false
  const session = leaseSession(db, () => onclose())
  // A failure to connect shows again, with its cause, when the lease takes its lock.
  const connected = Promise.resolve(session.query('select 1')).then(
    () => {},
    () => {},
  )
  return {
    take(callback) {
      if (taken) return null
      taken = true
      onclose = callback
      return session
    },
    async discard() {
      if (taken) return
      // Ended while still connecting, the connection would complete afterwards and stay open: wait (bounded).
      await withDeadline(connected, LEASE_TIMEOUT_MS, () => new Error('connect')).catch(() => {})
      await session.end()
    },
  }
}

/** How long taking the lease may wait (its connection, and the lock: the sweep probes it briefly). */
const LEASE_TIMEOUT_MS = 10_000

function localLease(prefix: string): Lease {
  const leases = localLeases()
  leases.set(prefix, (leases.get(prefix) ?? 0) + 1)
  let released = false
  return {
    prefix,
    get held() {
      return !released
    },
    lost: 0,
    renew: async () => !released,
    release: async () => {
      if (released) return
      released = true
      const left = (leases.get(prefix) ?? 1) - 1
      if (left > 0) leases.set(prefix, left)
      else leases.delete(prefix)
    },
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
