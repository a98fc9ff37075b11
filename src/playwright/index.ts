export { leaklessTest } from './fixtures.js'
export type { DatabaseOption } from '../lifecycle/database-option.js'
export type {
  FactoryMap,
  LeaklessTest,
  LeaklessTestFixtures,
  LeaklessTestOptions,
  LeaklessWorkerFixtures,
  LeaklessWorkerOptions,
} from './fixtures.js'
export type {
  LoginAs,
  LoginCookie,
  LoginCookieInput,
  LoginHook,
  LoginHookArgs,
  LoginOptions,
  LoginResult,
  LoginRow,
} from './login.js'
export { startDatabase } from './database.js'
export type { StartDatabaseOptions } from './database.js'
export { CREATED_ROWS_ATTACHMENT, SEED_ATTACHMENT } from './test-report.js'
export type { CreatedRowsAttachment } from './test-report.js'
export type { AppServer, AppServerOptions } from './app-server.js'
export type {
  WorkerAuthFixtures,
  WorkerLoginOptions,
  WorkerPrepareArgs,
  WorkerUser,
  WorkerUserArgs,
  WorkerUserRow,
} from './worker-auth.js'
