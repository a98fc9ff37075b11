import { activity } from '../../../factories/schema.js'
import type { Db } from './db.js'

/** Appends a line to a user's audit trail (`activity`: a bigserial key, no tag of any test tool). */
export async function recordActivity(db: Db, userId: string, action: string): Promise<void> {
  await db.insert(activity).values({ userId, action })
}
