import { withDatabaseName } from '../db/postgres-url.js'
import { q } from '../db/sql-text.js'

/**
 * The URL an app under test connects with to see what a worker sees: the worker's own database
 * (isolation 'database'), or the configured one with the worker's schema first on `search_path`
 * (isolation 'schema', as the `options` startup parameter, which postgres.js, node-postgres and libpq
 * all pass on); the URL itself when the worker shares the database.
 */
export function isolatedUrl(url: string, isolation: { mode: 'schema' | 'database'; name: string } | null): string {
  if (isolation === null) return url
  if (isolation.mode === 'database') return withDatabaseName(url, isolation.name)
  const options = encodeURIComponent(`-c search_path=${q(isolation.name)},public`)
  return `${url}${url.includes('?') ? '&' : '?'}options=${options}`
}
