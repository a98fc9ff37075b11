export { leaklessTest } from './fixtures.js'
export type { FactoryMap, LeaklessFixtures, LeaklessTestOptions } from './fixtures.js'
export type { DatabaseOption } from '../lifecycle/database-option.js'
export type { FailedTestMeta } from './failure-report.js'
