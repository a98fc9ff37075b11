/** A PostgreSQL URL taken apart; `socketDir` is set for libpq's unix-socket form (`?host=/run/postgresql`). */
export interface PostgresUrl {
  readonly user: string | null
  /** The host name, or the socket directory for a unix socket. */
  readonly host: string
  readonly port: number
  readonly database: string | null
  readonly socketDir: string | null
  /** The URL as postgres.js reads it: socket parameters moved out (pass `host`/`port` as options). */
  readonly driverUrl: string
}

/**
 * Parses `postgres://` and `postgresql://` URLs, including libpq's unix-socket forms that WHATWG `URL`
 * refuses (`postgres://user@/db?host=/var/run/postgresql`); null for anything else.
 */
export function parsePostgresUrl(url: string): PostgresUrl | null {
  const scheme = /^(postgres|postgresql):\/\//i.exec(url)
  if (scheme === null) return null
  // An empty host (`user@/db`, `///db`) is what libpq allows with ?host=; URL needs one to parse.
  const hostless = /^[a-z]+:\/\/([^/?#]*@)?(?=[/?#]|$)/i.test(url)
  let parsed: URL
  try {
    parsed = new URL(hostless ? url.replace(/^([a-z]+:\/\/(?:[^/?#]*@)?)/i, '$1localhost') : url)
  } catch {
    return null
  }
  const hostParam = parsed.searchParams.get('host')
  const socketDir = hostParam?.startsWith('/') ? hostParam : null
  const port = Number(parsed.port || parsed.searchParams.get('port') || 5432)
  if (socketDir !== null) {
    parsed.searchParams.delete('host')
    parsed.searchParams.delete('port')
  }
  const user = decodeURIComponent(parsed.username) || null
  return {
    user,
    host:
      socketDir ?? hostParam ?? (hostless ? 'localhost' : parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost'),
    port,
    database: decodeURIComponent(parsed.pathname.slice(1)) || user,
    socketDir,
    driverUrl: parsed.toString(),
  }
}

/** `url` pointing at database `name` on the same server, user and parameters (libpq's socket forms too). */
export function withDatabaseName(url: string, name: string): string {
  return url.replace(/^([a-z]+:\/\/[^/?#]*)(?:\/[^?#]*)?/i, (_, head: string) => `${head}/${encodeURIComponent(name)}`)
}
