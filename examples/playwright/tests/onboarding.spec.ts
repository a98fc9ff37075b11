/**
 * The `onboarding` project (playwright.config.ts): `isolation: 'database'`, so each worker has a database
 * of its own, cloned from the migrated template, and its own app server pointed at it. "Empty" means
 * empty here, whatever the shared project's workers write meanwhile.
 */
import { expect, test } from '../fixtures.js'

test('the instructors directory starts empty, then lists the first instructor', async ({ page, factories }) => {
  await page.goto('/instructors')
  await expect(page.getByText('No instructors found.')).toBeVisible()

  const instructor = await factories.users.trait('instructor').create()
  await page.reload()
  // A whole-table assertion: exactly one instructor in the worker's database.
  await expect(page.locator('li[data-instructor-id]')).toHaveCount(1)
  await expect(page.locator(`li[data-instructor-id="${instructor.id}"]`)).toContainText(instructor.name)
})
