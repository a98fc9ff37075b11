/**
 * `isolation: 'transaction'` under the real Vitest, 2 workers, 2 files (leakless's connection and the
 * user's pg Pool): whole-table counts hold while the other worker writes. The same files under 'shared'
 * fail on the count — why the mode exists. Each run gets a fresh database, so "whole table" means it.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { USERS_PER_TEST, wholeTableProject } from './fixtures/vitest/isolation-projects.js'
import { runVitest } from './fixtures/vitest/projects.js'
import { createRunTag, removeProject, writeProject } from './harness.js'

const server = inject('database').url
const name = `test_lk_isolation_${randomBytes(3).toString('hex')}`
const url = Object.assign(new URL(server), { pathname: `/${name}` }).toString()
const projects: string[] = []

beforeAll(async () => {
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`).finally(() => admin.end())
})
afterAll(async () => {
  projects.forEach(removeProject)
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  await admin.unsafe(`drop database if exists ${name} with (force)`).finally(() => admin.end())
})

async function runMode(isolation: 'shared' | 'transaction') {
  const dir = writeProject(`vitest-isolation-${isolation}`, wholeTableProject(isolation))
  projects.push(dir)
  const barrier = join(dir, 'barrier')
  mkdirSync(barrier)
  const result = await runVitest(dir, [], { DATABASE_URL: url, LEAKLESS_RUN: createRunTag(), BARRIER_DIR: barrier })
  const counts = [...result.output.matchAll(/COUNT (\w) round=(\d) users=(\d+)/g)].map((m) => `${m[1]}${m[2]}=${m[3]}`)
  return { result, counts: counts.sort() }
}

/** Everything the runs could have left: rows of the reference tables and the registry's journal. */
async function leftovers(): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<Array<Record<string, number>>>`select
      (select count(*)::int from users) as users,
      (select count(*)::int from activity) as activity,
      (select count(*)::int from leakless.untagged) as untagged`
    return row!
  } finally {
    await sql.end()
  }
}

describe('whole-table counts with 2 workers writing at once', () => {
  test("isolation: 'transaction' → each test counts its own rows only; nothing is left, nothing journaled", async () => {
    const { result, counts } = await runMode('transaction')
    expect(counts).toEqual(['a1', 'a2', 'b1', 'b2'].map((t) => `${t}=${USERS_PER_TEST}`))
    expect(result.output).toContain('Test Files  2 passed (2)')
    expect(result.output).toContain('Tests  4 passed (4)')
    expect(result.code).toBe(0)
    expect(await leftovers()).toEqual({ users: 0, activity: 0, untagged: 0 })
  })

  test("isolation: 'shared' → the same tests see the other worker's rows and fail on the count", async () => {
    const { result, counts } = await runMode('shared')
    expect(counts).toEqual(['a1', 'a2', 'b1', 'b2'].map((t) => `${t}=${2 * USERS_PER_TEST}`))
    // Vitest prints identical errors once, under the names of every test that threw them.
    expect(result.output).toContain(`AssertionError: expected ${2 * USERS_PER_TEST} to be ${USERS_PER_TEST}`)
    for (const name of ['a round 1', 'a round 2', 'b round 1', 'b round 2']) expect(result.output).toContain(name)
    expect(result.output).toContain('Tests  4 failed (4)')
    expect(result.code).toBe(1)
    // Cleanup ran after each failed test anyway.
    expect(await leftovers()).toEqual({ users: 0, activity: 0, untagged: 0 })
  })
})
