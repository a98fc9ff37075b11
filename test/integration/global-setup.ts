import type { TestProject } from 'vitest/node'
import { connect, ensureSchema, startEmbedded, type EmbeddedServer } from '../../src/db/index.js'

/** What the integration suite runs against, shared with the tests through `inject('database')`. */
export interface IntegrationTarget {
  url: string
  /** True when this run started or attached to the embedded PostgreSQL (no DATABASE_URL given). */
  embedded: boolean
  port: number | null
}

declare module 'vitest' {
  export interface ProvidedContext {
    database: IntegrationTarget
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: EmbeddedServer | undefined
  // Started here, the server's URL reaches the test workers through LEAKLESS_DATABASE_URL.
  if (!process.env.DATABASE_URL && !process.env.LEAKLESS_DATABASE_URL) server = await startEmbedded()
  const db = await connect()
  await ensureSchema(db, { migrationsFolder: 'factories/migrations' })
  const { host, port, database } = db.target
  const how = server ? `embedded (${server.startedHere ? 'started' : 'attached'}, ${server.dataDir})` : 'url'
  console.log(`integration database: ${host}:${port}/${database} — ${how}`)
  // Several projects run this setup: the first starts the embedded server and exports its URL (as both
  // LEAKLESS_DATABASE_URL and DATABASE_URL), the others attach to it through those variables.
  const embedded =
    !!server || (!!process.env.LEAKLESS_DATABASE_URL && process.env.DATABASE_URL === process.env.LEAKLESS_DATABASE_URL)
  project.provide('database', { url: server?.url ?? process.env.DATABASE_URL ?? '', embedded, port })

  return async () => {
    await db.close()
    if (server?.startedHere) await server.stop()
  }
}
