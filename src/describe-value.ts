const MAX_LENGTH = 120

/**
 * A value as an error message shows it: JSON where it has one, else its kind. Never throws, whatever
 * the value (a Symbol, a BigInt, `Object.create(null)`, a circular object, a throwing `toJSON` or Proxy),
 * so that a message about bad input cannot itself fail with a TypeError.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return shorten(JSON.stringify(value))
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value)
    case 'bigint':
      return `${value}n`
    case 'symbol':
      return 'a Symbol'
    case 'function':
      return 'a function'
  }
  if (value === null) return 'null'
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return shorten(json)
  } catch {
    // circular, a BigInt inside, a throwing toJSON or getter, a revoked Proxy
  }
  return 'an object'
}

function shorten(text: string): string {
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text
}
