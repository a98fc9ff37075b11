import { randomUUID } from 'node:crypto'
import { and, eq, gt } from 'drizzle-orm'
import { nanoid } from 'nanoid'
import { sessions, users, type Session, type User } from '../../../factories/schema.js'
import { recordActivity } from './activity.js'
import type { Db } from './db.js'
import { AppError, EmailTakenError, uniqueViolation } from './errors.js'

/** How long a session lasts. */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** A new session for `userId` with an unguessable token (nanoid, 32 characters): a login. */
export async function createSession(db: Db, userId: string): Promise<Session> {
  const [session] = await db
    .insert(sessions)
    .values({ id: randomUUID(), userId, token: nanoid(32), expiresAt: new Date(Date.now() + SESSION_TTL_MS) })
    .returning()
  await recordActivity(db, userId, 'logged in')
  return session!
}

/** Signs a parent up and logs them in: the user, its session and two activity rows, in one transaction. */
export async function signUp(
  db: Db,
  input: { name: string; email: string },
): Promise<{ user: User; session: Session }> {
  const name = input.name.trim()
  const email = input.email.trim().toLowerCase()
  if (name.length === 0 || name.length > 100) throw new AppError(400, 'Please enter your name (up to 100 characters)')
  if (!EMAIL.test(email)) throw new AppError(400, 'Please enter a valid e-mail address')
  try {
    return await db.transaction(async (tx) => {
      const [user] = await tx.insert(users).values({ id: randomUUID(), email, name, role: 'parent' }).returning()
      await recordActivity(tx, user!.id, 'signed up')
      return { user: user!, session: await createSession(tx, user!.id) }
    })
  } catch (error) {
    if (uniqueViolation(error) === 'users_email_unique') throw new EmailTakenError()
    throw error
  }
}

/** The user a session token belongs to, while the session lasts; null for an unknown or expired token. */
export async function userOfSession(db: Db, token: string): Promise<User | null> {
  const [row] = await db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.token, token), gt(sessions.expiresAt, new Date())))
  return row?.user ?? null
}

/** Ends a session (logout). */
export async function endSession(db: Db, token: string): Promise<void> {
  const [ended] = await db.delete(sessions).where(eq(sessions.token, token)).returning({ userId: sessions.userId })
  if (ended) await recordActivity(db, ended.userId, 'logged out')
}
