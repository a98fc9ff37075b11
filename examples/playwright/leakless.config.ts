import { defineConfig } from 'leakless'

export default defineConfig({
  // The reference domain's drizzle-kit migrations: the global setup applies them once per run.
  migrations: '../../factories/migrations',
})
