import { DURATION_FORMS } from '../config/duration.js'
import { isLeaklessError } from '../errors.js'
import { RUN_TAG_PATTERN } from '../ids/id-format.js'
import { assertOwnedPrefix } from '../ids/sql-prefix.js'
import { durationOption } from './duration.js'
import { CliExit, EXIT } from './exit.js'

/** What each value-taking option accepts: said when its value is missing or wrong. */
export const ACCEPTS: Readonly<Record<string, string>> = {
  'older-than': `a whole number with a unit (s, m, h, d), e.g. ${DURATION_FORMS}`,
  run: 'a run tag of 14 characters [0-9a-z] (LEAKLESS_RUN, or the runTag `leakless decode` prints)',
  prefix: 'an owned prefix: a run tag, "-", and fields ending at a "-" (run.prefix or scope.prefix)',
  schema: 'a schema name (for init: the drizzle schema module)',
  config: 'the path of a config file',
  'data-dir': 'a directory',
  out: 'the path of the factories module to write',
  runner: 'vitest, playwright or both',
}

const bad = (option: string, text: string, what: string) =>
  new CliExit(EXIT.error, `--${option} ${JSON.stringify(text)} is not ${what}. Use ${ACCEPTS[option]}.`)

/** A run tag option; exits 2 on anything but 14 base36 characters. */
export function runTagOption(option: string, text: string): string {
  if (!RUN_TAG_PATTERN.test(text)) throw bad(option, text, 'a run tag')
  return text
}

/** A prefix option that is safe to audit by (see assertOwnedPrefix). */
export function prefixOption(option: string, text: string): string {
  try {
    return assertOwnedPrefix(text)
  } catch (error) {
    if (isLeaklessError(error)) throw bad(option, text, 'an owned prefix')
    throw error
  }
}

/** Checks an option's value as typed; options without a check take any non-empty text. */
export function checkOptionValue(option: string, text: string): void {
  if (option === 'older-than') durationOption(`--${option}`, text)
  else if (option === 'run') runTagOption(option, text)
  else if (option === 'prefix') prefixOption(option, text)
}
