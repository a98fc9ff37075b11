import type { DrizzleDatabase, RunContext } from '../run/index.js'

/** One test's transaction, held open while the test runs. */
export interface TestTransaction {
  /** The transaction's drizzle handle: its own `transaction()` calls become savepoints. */
  readonly tx: DrizzleDatabase
  /** Rolls the transaction back (whatever the test did in it) and waits until it has ended. */
  rollback(): Promise<void>
}

// Thrown inside the transaction's callback to end it with ROLLBACK on every driver (not drizzle's own
// TransactionRollbackError: the user's drizzle may be another copy of the package).
const ROLLBACK = Symbol('leakless.rollback')

/**
 * Opens a transaction on the run's database (the file's connection, or the user's `db`) that stays open
 * until {@link TestTransaction.rollback}. The run registry's knowledge of tag columns is put back as it was,
 * since the columns an insert recorded in the transaction are rolled back with it.
 */
export async function openTestTransaction(run: RunContext, db: DrizzleDatabase): Promise<TestTransaction> {
  const known = snapshot(run)
  let end!: () => void
  const ended = new Promise<void>((resolve) => (end = resolve))
  let opened!: (tx: DrizzleDatabase) => void
  const ready = new Promise<DrizzleDatabase>((resolve) => (opened = resolve))
  const done = db
    .transaction(async (tx) => {
      opened(tx as unknown as DrizzleDatabase)
      await ended
      throw ROLLBACK
    })
    .then(
      () => undefined,
      (error: unknown) => {
        if (error !== ROLLBACK) throw error
      },
    )
  // BEGIN itself can fail (a lost connection): then the callback never runs.
  const tx = await Promise.race([ready, done.then(() => ready)])
  return {
    tx,
    async rollback() {
      end()
      try {
        await done
      } finally {
        restore(run, known)
      }
    },
  }
}

function snapshot(run: RunContext): Map<string, Set<string>> | null {
  if (run.registry === null) return null
  return new Map([...run.registry.known].map(([table, columns]) => [table, new Set(columns)]))
}

function restore(run: RunContext, known: Map<string, Set<string>> | null): void {
  if (run.registry === null || known === null) return
  run.registry.known.clear()
  for (const [table, columns] of known) run.registry.known.set(table, columns)
}
