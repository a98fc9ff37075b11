/**
 * A counting TCP proxy in front of PostgreSQL for profiles: every request a client sends (a simple Query,
 * or an extended-protocol batch up to its Sync) is one round trip, answered by one ReadyForQuery. Each is
 * recorded with the phase the profile was in when it was sent, its SQL and how long its answer took.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net'

export interface RoundTrip {
  phase: string
  sql: string
  /** When it was sent, ms after the proxy started. */
  at: number
  /** Which client connection sent it (1, 2, … in the order they connected). */
  connection: number
  ms: number
}

export interface RoundTripProxy {
  /** `url` with host and port of the proxy. */
  url: string
  /** The phase requests are attributed to from now on. */
  phase: string
  readonly trips: RoundTrip[]
  /** When each phase was first entered, ms after the proxy started. */
  readonly phaseStarts: Record<string, number>
  close(): Promise<void>
}

/** Splits a byte stream into messages; `typed` says whether messages start with a type byte (not during startup). */
class Framer {
  #buffer = Buffer.alloc(0)
  constructor(
    private readonly onMessage: (type: string, body: Buffer) => void,
    public typed: () => boolean,
  ) {}
  push(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk])
    for (;;) {
      const head = this.typed() ? 1 : 0
      if (this.#buffer.length < head + 4) return
      const length = this.#buffer.readInt32BE(head)
      if (this.#buffer.length < head + length) return
      const type = head ? String.fromCharCode(this.#buffer[0]!) : ''
      const body = this.#buffer.subarray(head + 4, head + length)
      this.#buffer = this.#buffer.subarray(head + length)
      this.onMessage(type, body)
    }
  }
}

const cstring = (body: Buffer, from = 0) => body.toString('utf8', from, body.indexOf(0, from))

export async function startRoundTripProxy(url: string): Promise<RoundTripProxy> {
  const target = new URL(url)
  const trips: RoundTrip[] = []
  const origin = process.hrtime.bigint()
  let connections = 0
  const phaseStarts: Record<string, number> = {}
  let phase = 'start'
  const proxy = { trips, phaseStarts } as unknown as RoundTripProxy
  Object.defineProperty(proxy, 'phase', {
    get: () => phase,
    set: (next: string) => {
      phase = next
      phaseStarts[next] ??= Number(process.hrtime.bigint() - origin) / 1e6
    },
  })
  const server: Server = createServer((client: Socket) => {
    const connection = ++connections
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname)
    let started = false
    let sslAnswer = false
    let batch: string[] = []
    const statements = new Map<string, string>()
    const pending: Array<{ phase: string; sql: string; at: bigint }> = []
    const send = (sql: string) => pending.push({ phase: proxy.phase, sql, at: process.hrtime.bigint() })
    const fromClient = new Framer(
      (type, body) => {
        if (type === '') {
          const code = body.readInt32BE(0)
          if (code === 196608)
            started = true // StartupMessage
          else if (code === 80877103) sslAnswer = true // SSLRequest: one untyped byte comes back
        } else if (type === 'Q') send(cstring(body))
        else if (type === 'P') {
          const name = cstring(body)
          const sql = cstring(body, body.indexOf(0) + 1)
          if (name) statements.set(name, sql)
          batch.push(sql)
        } else if (type === 'B') {
          const name = cstring(body, body.indexOf(0) + 1)
          if (name && statements.has(name) && !batch.includes(statements.get(name)!)) batch.push(statements.get(name)!)
        } else if (type === 'S') {
          send(batch.join(' ; '))
          batch = []
        }
      },
      () => started,
    )
    const fromServer = new Framer(
      (type) => {
        if (type !== 'Z') return
        const request = pending.shift()
        if (request) {
          const at = Number(request.at - origin) / 1e6
          trips.push({
            phase: request.phase,
            sql: request.sql,
            at,
            connection,
            ms: Number(process.hrtime.bigint() - request.at) / 1e6,
          })
        }
      },
      () => true,
    )
    client.on('data', (chunk: Buffer) => {
      fromClient.push(chunk)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (sslAnswer && chunk.length > 0) {
        sslAnswer = false
        fromServer.push(chunk.subarray(1))
      } else fromServer.push(chunk)
      client.write(chunk)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String((server.address() as AddressInfo).port)
  proxy.url = proxied.toString()
  proxy.close = () => new Promise((done) => server.close(() => done()))
  return proxy
}
