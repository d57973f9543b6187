import { test, expect, open, hydrated } from "./fixtures";

const LIST = "/settings/crm/sync-activity";

test("the activity view counts down to the next scheduled sync, and Sync now starts one", async ({ page, request }) => {
  await open(page, LIST);
  await hydrated(page);
  const line = page.getByTestId("next-sync");
  await expect(line).toContainText(/Next sync from Salesforce|Syncing from Salesforce now/);
  // The countdown moves on its own: two different "in N s" readings without a reload.
  const seen = new Set<string>();
  await expect
    .poll(async () => {
      const text = (await line.locator("p").first().textContent()) ?? "";
      if (/ in \d/.test(text)) seen.add(text);
      return seen.size;
    }, { timeout: 60_000 })
    .toBeGreaterThan(1);

  const before = (await (await request.get("/api/runs?direction=inbound")).json()).runs[0]?.id ?? "";
  await page.getByTestId("sync-now").click();
  await expect(page).toHaveURL(/\/settings\/crm\/sync-activity$/);
  await expect
    .poll(async () => (await (await request.get("/api/runs?direction=inbound")).json()).runs[0]?.id ?? "", { timeout: 30_000 })
    .not.toBe(before);

  // A sync started now is in the audit trail, naming what it started (one object through the API;
  // 409 while that object is already syncing).
  await expect.poll(async () => (await request.post("/api/sync/now?object=company")).status(), { timeout: 30_000 }).toBe(202);
  await open(page, "/settings/crm");
  const trail = page.getByTestId("audit-trail");
  await expect(trail.locator(".audit__event").first()).toContainText("started a sync now");
  await expect(trail.locator(".audit__event").first()).toContainText("Companies");
});
