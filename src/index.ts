export {
  ConfigError,
  ConnectionError,
  CleanupError,
  FactoryError,
  GuardError,
  InputError,
  InsertError,
  isLeaklessError,
  LeakError,
  LeaklessError,
} from './errors.js'
export type { LeaklessErrorCode, LeaklessErrorOptions } from './errors.js'
export {
  assertOwnedPrefix,
  createRunTag,
  decodeHandle,
  decodeId,
  DEFAULT_EMAIL_DOMAIN,
  HANDLE_LENGTH,
  escapeLike,
  isTestValue,
  likePrefix,
  MAX_ID_LENGTH,
  parseRunTag,
} from './ids/index.js'
export type { DecodedHandle, DecodedId, IdSource } from './ids/index.js'
export { detectEnvironment, RunContext, TestScope } from './run/index.js'
export { cleanupPrefix, cleanupRun, sweep } from './cleanup/index.js'
export { createRun } from './lifecycle/create-run.js'
export type { RunOptions } from './lifecycle/create-run.js'
export type { SweepOptions, SweepReport } from './cleanup/index.js'
export { audit, auditToJson, formatAuditReport, leakError } from './audit/index.js'
export type { AuditJson, AuditOptions, AuditReport, LeakRow } from './audit/index.js'
export type { CleanupOptions, CleanupReport, NullableDependentRule, RunCleanupOptions } from './cleanup/index.js'
export type { Bindable, BoundMap, DatabaseLike, DrizzleDatabase, LedgerEntry } from './run/index.js'
export { connect, defaultDataDir, ensureSchema, rowsOf, startEmbedded } from './db/index.js'
export type {
  AnyPgDatabase,
  ConnectOptions,
  Database,
  DatabaseInput,
  DatabaseTarget,
  Driver,
  EmbeddedOptions,
  EmbeddedServer,
  EnsureSchemaOptions,
} from './db/index.js'
export { BoundFactory, defineFactory, Factory, MAX_LIST_SIZE } from './factory/index.js'
export { defineConfig, loadConfig } from './config/index.js'
export type {
  CleanupMode,
  Isolation,
  LeaklessConfig,
  LoadConfigOptions,
  OnLeak,
  ResolvedConfig,
} from './config/index.js'
export type {
  AfterCreateContext,
  AnyTable,
  DefaultsShape,
  DefineFactoryOptions,
  FactoryContext,
  InsertOf,
  Overrides,
  Ref,
  RowOf,
  TraitDefinition,
} from './factory/index.js'
export type { CloseReport, CreateRunOptions, LeaseState, DetectedEnvironment, RunnerKind } from './run/index.js'
