import { describe, expect, it } from 'vitest'
import { durationOption, formatDuration, parseDuration } from '../../src/cli/duration.js'
import { CliExit } from '../../src/cli/exit.js'

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['90m', 5_400_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    '',
    ' 1h',
    '1h ',
    '1',
    '60',
    '1H',
    '1.5h',
    '-1h',
    '+1h',
    '01h',
    '1e3',
    '1hour',
    'h',
    '1h30m',
    '1ms',
    '1w',
    '99999999999999d',
  ])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull()
  })

  it('durationOption exits with code 2 and names the accepted forms', () => {
    expect(durationOption('--older-than', '2d')).toBe(172_800_000)
    let error: unknown
    try {
      durationOption('--older-than', '1 hour')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CliExit)
    expect((error as CliExit).code).toBe(2)
    expect((error as CliExit).message).toBe(
      '--older-than "1 hour" is not a duration. Use a whole number with a unit (s, m, h, d), e.g. 30s, 15m, 1h, 2d or 0.',
    )
  })

  it('formatDuration prints the largest whole unit', () => {
    expect([0, 30_000, 900_000, 5_400_000, 3_600_000, 172_800_000, 1500].map(formatDuration)).toEqual([
      '0',
      '30s',
      '15m',
      '90m',
      '1h',
      '2d',
      '1500ms',
    ])
  })
})
