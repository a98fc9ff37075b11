/**
 * Starts the booking app: `npm run app`. Database: `DATABASE_URL`, else leakless's embedded
 * PostgreSQL (a development convenience, started here and stopped with the app); the reference
 * domain's migrations are applied first. Port: `PORT` (default 3000; 0 picks a free one).
 */
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { connect, ensureSchema } from 'leakless'
import { createApp } from './app.js'
import { openDatabase } from './db.js'

const migrationsFolder = fileURLToPath(new URL('../../../factories/migrations', import.meta.url))
const port = Number(process.env.PORT ?? 3000)
const hostname = process.env.HOST ?? '127.0.0.1'

// Only this file knows leakless: it finds or starts a database and migrates it. The embedded server
// sets DATABASE_URL, and lives as long as `setup` is open.
const setup = await connect({ max: 1 })
await ensureSchema(setup, { migrationsFolder })
if (setup.source !== 'embedded') await setup.close()
const url = process.env.DATABASE_URL ?? process.env.LEAKLESS_DATABASE_URL
if (!url) throw new Error('No database URL after connect(): set DATABASE_URL')

const database = openDatabase(url)
const server = serve({ fetch: createApp(database.db).fetch, port, hostname }, (info: AddressInfo) => {
  const { host, port: db, database: name } = setup.target
  console.log(`Booking app listening on http://${hostname}:${info.port} (database ${host}:${db}/${name})`)
})

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await new Promise((resolve) => server.close(resolve))
  await database.close()
  if (setup.source === 'embedded') await setup.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
