import { sweep } from '../cleanup/sweep.js'
import { guardOptionsOf } from '../lifecycle/config-options.js'
import { openConfigured } from './config.js'
import { durationOption } from './duration.js'
import { EXIT } from './exit.js'
import type { CliIo } from './io.js'
import { runTagOption } from './option-checks.js'
import { checkedSchemas } from './schemas.js'
import { formatSweepReport, sweepToJson } from './sweep-format.js'

export interface SweepFlags {
  olderThan?: string
  run?: string
  dryRun?: boolean
  scan?: boolean
  json?: boolean
  schemas?: string[]
  config?: string
}

/** `leakless sweep`: deletes what dead runs older than the threshold left behind. Exit 0 done, 2 error. */
export async function sweepCommand(
  flags: SweepFlags,
  io: CliIo,
  writeProgress = (text: string) => void process.stderr.write(text),
): Promise<number> {
  const olderThanMs = durationOption('--older-than', flags.olderThan ?? '1h')
  if (flags.run !== undefined) runTagOption('run', flags.run)
  let progressShown = false
  const clearProgress = () => {
    if (progressShown) writeProgress('\r\u001b[2K')
    progressShown = false
  }
  const { config, db } = await openConfigured(io, flags.config)
  try {
    const schemas = await checkedSchemas(db, flags, config)
    const report = await sweep({
      db,
      olderThanMs,
      dryRun: flags.dryRun === true,
      scan: flags.scan === true,
      ...(flags.run === undefined ? {} : { runTag: flags.run }),
      ...schemas,
      ...(config.tagColumns ? { tagColumns: config.tagColumns } : {}),
      ...(config.nullableDependents ? { nullableDependents: config.nullableDependents } : {}),
      guard: guardOptionsOf(config),
      ...(io.stderrTTY
        ? {
            onProgress: (done: number, total: number, table: string) => {
              progressShown = true
              writeProgress(`\r\u001b[2Kleakless sweep: scanned ${done}/${total} tables (${table})`)
            },
          }
        : {}),
    })
    clearProgress()
    io.out(
      flags.json ? JSON.stringify(sweepToJson(report, olderThanMs), null, 2) : formatSweepReport(report, olderThanMs),
    )
    return EXIT.ok
  } finally {
    clearProgress()
    await db.close()
  }
}
