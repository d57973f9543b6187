import { test, expect, open, expectAccessible } from "./fixtures";
import { EMPTY_URL } from "../playwright.config";

test("a workspace that has never synced says No sync activity yet", async ({ page }) => {
  await open(page, `${EMPTY_URL}/settings/crm/sync-activity`);
  const empty = page.getByTestId("empty-state");
  await expect(empty).toContainText("No sync activity yet");
  await expect(empty).toContainText("Activity appears here automatically once data begins syncing.");
  await expect(page.locator("tr.run-row")).toHaveCount(0);
  await expectAccessible(page);
  // Filters on an empty workspace still say it has never synced.
  await open(page, `${EMPTY_URL}/settings/crm/sync-activity?direction=outbound&object=lead`);
  await expect(page.getByTestId("empty-state")).toContainText("No sync activity yet");
  await open(page, `${EMPTY_URL}/settings/crm`);
  await expect(page.getByTestId("health-card")).toContainText("No runs yet");
  await expectAccessible(page);
});
