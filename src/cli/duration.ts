import { DURATION_FORMS, parseDuration } from '../config/duration.js'
import { CliExit, EXIT } from './exit.js'

export { DURATION_FORMS, formatDuration, parseDuration } from '../config/duration.js'

/** {@link parseDuration} for an option: exits with code 2 and the accepted forms on bad input. */
export function durationOption(option: string, text: string): number {
  const ms = parseDuration(text)
  if (ms === null) {
    throw new CliExit(
      EXIT.error,
      `${option} ${JSON.stringify(text)} is not a duration. Use a whole number with a unit (s, m, h, d), e.g. ${DURATION_FORMS}.`,
    )
  }
  return ms
}
