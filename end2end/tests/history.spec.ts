import { test, expect, open, hydrated } from "./fixtures";

/** A run id (a UUIDv7) for a run that started `daysAgo` days ago. */
function runIdAt(daysAgo: number): string {
  const ms = Date.now() - daysAgo * 86_400_000;
  const hex = ms.toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7abc-8def-0123456789ab`;
}

test("a link to a run past the history kept says so, not a bare 404", async ({ page }) => {
  const response = await page.goto(`/w/acme/settings/crm/sync-activity/runs/${runIdAt(120)}`);
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("run-expired")).toContainText("This run is older than your 90-day history");
  await expect(page.getByRole("link", { name: "Back to Sync activity" })).toBeVisible();
  // A recent id that never was a run is simply not found.
  await page.goto(`/w/acme/settings/crm/sync-activity/runs/${runIdAt(1)}`);
  await expect(page.getByTestId("run-not-found")).toBeVisible();
});

test("the Overview says how far back history goes, and an admin chooses how long it is kept", async ({ page }) => {
  await open(page, "/settings/crm");
  const card = page.getByTestId("history-card");
  await expect(card).toContainText("kept for 90 days");
  await expect(card).toContainText("History goes back to");
  await hydrated(page);
  const choice = card.getByTestId("retention-days");
  try {
    await choice.selectOption("30");
    await card.getByRole("button", { name: "Save" }).click();
    await expect(card.getByRole("status")).toContainText("Runs older than 30 days are deleted");
    await page.goto(`/w/acme/settings/crm/sync-activity/runs/${runIdAt(45)}`);
    await expect(page.getByTestId("run-expired")).toContainText("older than your 30-day history");
  } finally {
    await open(page, "/settings/crm");
    await hydrated(page);
    await page.getByTestId("retention-days").selectOption("90");
    await page.getByTestId("history-card").getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("history-card").getByRole("status")).toContainText("90 days");
  }
});
