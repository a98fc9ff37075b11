export { planCleanup } from './delete-plan.js'
export type { CleanupPlan, CleanupSeeds, NullableDependentRule, PlanOptions, Statement } from './delete-plan.js'
export { cleanupPrefix, tagColumnsOf } from './execute.js'
export type { CleanupOptions, CleanupReport } from './execute.js'
