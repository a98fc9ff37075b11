import { describeValue } from '../describe-value.js'
import { InputError } from '../errors.js'
import { RUN_TAG_LENGTH } from './id-format.js'

/** Escapes `\`, `%` and `_` so a value matches itself literally in `LIKE … ESCAPE '\'`. */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/**
 * A `LIKE` pattern that matches values starting with `prefix`, to be used with `ESCAPE '\'`.
 * Safe for prefixes that are not ours: wildcards in them are escaped.
 *
 * @example
 * sql`select * from users where email like ${likePrefix(scope.prefix)} escape '\\'`
 */
export function likePrefix(prefix: string): string {
  return `${escapeLike(prefix)}%`
}

/**
 * Checks that a prefix is safe to delete by: at least a full run tag followed by a field
 * boundary. Throws `PREFIX_INVALID` otherwise.
 */
export function assertOwnedPrefix(prefix: string): string {
  if (
    typeof prefix !== 'string' ||
    prefix.length <= RUN_TAG_LENGTH ||
    !/^[0-9a-z]{14}-/.test(prefix) ||
    !prefix.endsWith('-') ||
    !/^[0-9a-z-]+$/.test(prefix)
  ) {
    throw new InputError(
      'PREFIX_INVALID',
      `Refusing prefix ${describeValue(prefix)}: an owned prefix is a full run tag (14 base36 characters) followed by "-", and ends at a field boundary ("-"). Use run.prefix, scope.prefix or decodeId(value).runPrefix.`,
      { details: { prefix } },
    )
  }
  return prefix
}
