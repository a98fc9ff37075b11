export { audit, narrowReport } from './audit.js'
export { auditToJson, formatAge, formatAuditReport, leakError } from './report.js'
export type { AuditJson, FormatOptions } from './report.js'
export type { AuditOptions, AuditReport, LeakRow } from './types.js'
