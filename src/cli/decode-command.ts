import { decodeId, type DecodedId } from '../ids/decode.js'
import { EXIT } from './exit.js'
import type { CliIo } from './io.js'

export interface DecodeFlags {
  json?: boolean
}

/** `leakless decode <id-or-email>`: who made a value, from the id it starts with. */
export function decodeCommand(value: string, flags: DecodeFlags, io: CliIo): number {
  const decoded = decodeId(value)
  if (decoded === null) {
    io.err(
      `${JSON.stringify(value)} is not a leakless id, nor a value that starts with one (an e-mail like <id>.user@example.test). Pass an id or a value a factory or scope.id() / scope.email() made.`,
    )
    return EXIT.no
  }
  io.out(flags.json ? JSON.stringify(decodedToJson(decoded), null, 2) : formatDecoded(decoded))
  return EXIT.ok
}

/** A decoded id as JSON: the time as an ISO string. */
export function decodedToJson(decoded: DecodedId): Omit<DecodedId, 'time'> & { time: string } {
  return { ...decoded, time: decoded.time.toISOString() }
}

/** One aligned `key: value` line per field, the time as ISO, `-` for no shard. */
export function formatDecoded(decoded: DecodedId): string {
  const fields = Object.entries(decodedToJson(decoded)).map(([key, value]) => [
    key,
    value === null ? '-' : String(value),
  ])
  const width = Math.max(...fields.map(([key]) => key!.length)) + 1
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`).join('\n')
}
