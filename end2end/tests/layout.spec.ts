import { test, expect, open, expectAccessible, expectNoSidewaysScroll, expectNoOverlap } from "./fixtures";
import type { APIRequestContext } from "@playwright/test";

// Layout and accessibility at a phone's width and a laptop's: nothing scrolls sideways, nothing
// runs into its neighbour, and axe finds no serious or critical problem.

const LIST = "/settings/crm/sync-activity";

/** A completed inbound contact run of the demo's history whose records carry Conversion ids
 * (`con_…`, one long word under each name), skipped and failed records included. */
async function contactRunWithIds(request: APIRequestContext): Promise<string> {
  let url = "/api/runs?direction=inbound&object=contact&status=completed";
  for (let page = 0; page < 10; page++) {
    const body = await (await request.get(url)).json();
    for (const run of body.runs) {
      if (run.counts.skipped + run.counts.failed === 0) continue;
      const { records } = await (await request.get(`/api/run?id=${run.id}`)).json();
      if (records.some((r: any) => r.conversion_id?.startsWith("con_"))) return run.id;
    }
    if (!body.older) break;
    url = `/api/runs?direction=inbound&object=contact&status=completed&before=${body.older}`;
  }
  throw new Error("no contact run with Conversion ids");
}

for (const width of [375, 1280]) {
  test.describe(`at ${width} px`, () => {
    test.use({ viewport: { width, height: 900 } });

    test("the activity list fits the window and passes axe", async ({ page }) => {
      await open(page, LIST);
      await expect(page.locator("tr.run-row").first()).toBeVisible();
      await expectNoSidewaysScroll(page);
      await expectNoOverlap(page, "tr.run-row");
      await expectNoOverlap(page, ".filters");
      // At a laptop's width every column is in view without scrolling the table sideways.
      if (width === 1280) {
        const wrap = page.locator(".activity .table-wrap");
        expect(await wrap.evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
      }
      await expectAccessible(page);
    });

    test("a contact run with Conversion ids fits the window and passes axe", async ({ page, request }) => {
      const id = await contactRunWithIds(request);
      await open(page, `${LIST}/runs/${id}`);
      const rows = page.locator("tr.record-row");
      await expect(rows.first()).toBeVisible();
      await expect(page.locator("tr.record-row", { hasText: "con_" }).first()).toBeVisible();
      await expectNoSidewaysScroll(page);
      await expectNoOverlap(page, ".run-summary .facts");
      await expectNoOverlap(page, "tr.record-row");
      if (width === 1280) {
        // The records table fits its card: "Updated (Salesforce)" is in view, not behind a
        // sideways scroll.
        const wrap = page.locator(".records .table-wrap");
        expect(await wrap.evaluate((e) => e.scrollWidth - e.clientWidth)).toBeLessThanOrEqual(0);
        const header = page.getByRole("columnheader", { name: "Updated (Salesforce)" });
        const [h, w] = [await header.boundingBox(), await wrap.boundingBox()];
        expect(h!.x + h!.width).toBeLessThanOrEqual(w!.x + w!.width);
      }
      await expectAccessible(page);
      // The record-status tabs too, on the skipped records.
      await page.getByRole("tablist", { name: "Record status" }).getByRole("tab", { name: /^Skipped/ }).click();
      await expect(page).toHaveURL(/status=skipped/);
      await expect(rows.first()).toHaveAttribute("data-status", "skipped");
      await expectNoSidewaysScroll(page);
      await expectAccessible(page);
    });

    test("the Overview fits the window, its connection facts apart, and passes axe", async ({ page }) => {
      await open(page, "/settings/crm");
      const facts = page.getByTestId("connection-card").locator(".facts");
      await expect(facts).toContainText("integration@conversion.local");
      await expectNoSidewaysScroll(page);
      // The org URL and the integration user's email are long words: each stays in its own place.
      await expectNoOverlap(page, "[data-testid=connection-card] .facts");
      await expectNoOverlap(page, "[data-testid=health-stats]");
      await expectAccessible(page);
    });
  });
}
