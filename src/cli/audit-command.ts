import { audit, auditToJson, formatAuditReport } from '../audit/index.js'
import { openConfigured } from './config.js'
import { CliExit, EXIT } from './exit.js'
import { useColor, type CliIo } from './io.js'
import { checkedSchemas } from './schemas.js'

export interface AuditFlags {
  run?: string
  prefix?: string
  deep?: boolean
  json?: boolean
  schemas?: string[]
  config?: string
}

/** `leakless audit`: rows a run (or a prefix) left behind. Exit 0 clean, 1 leaks, 2 error. */
export async function auditCommand(flags: AuditFlags, io: CliIo): Promise<number> {
  const prefix = flags.prefix || undefined
  const runTag = flags.run || (prefix === undefined ? io.env.LEAKLESS_RUN || undefined : undefined)
  if (prefix === undefined && runTag === undefined) {
    throw new CliExit(
      EXIT.error,
      'audit needs to know which run to audit: pass --run <tag> (the LEAKLESS_RUN of that run, or decode an id it made with `leakless decode`), or --prefix <prefix>, or set LEAKLESS_RUN.',
    )
  }
  const { config, db } = await openConfigured(io, flags.config)
  try {
    const schemas = await checkedSchemas(db, flags, config)
    const report = await audit({
      db,
      ...(prefix === undefined ? {} : { prefix }),
      ...(runTag === undefined ? {} : { runTag }),
      deep: flags.deep === true,
      ...schemas,
      ...(config.tagColumns ? { tagColumns: config.tagColumns } : {}),
    })
    io.out(
      flags.json ? JSON.stringify(auditToJson(report), null, 2) : formatAuditReport(report, { color: useColor(io) }),
    )
    return report.clean ? EXIT.ok : EXIT.no
  } finally {
    await db.close()
  }
}
