import { test, expect, open, hydrated, expectAccessible } from "./fixtures";
import type { APIRequestContext } from "@playwright/test";

const LIST = "/settings/crm/sync-activity";

/** A contact made in Conversion for this test, once its push has given it a Salesforce ID. */
async function pushedContact(request: APIRequestContext) {
  const stamp = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const email = `story.${stamp}@example.com`;
  const made = await request.post("/api/conversion/contacts", {
    data: { email, first_name: "Story", last_name: `Teller ${stamp}` },
  });
  expect(made.status()).toBe(201);
  let salesforceId = "";
  await expect
    .poll(async () => {
      const { records } = await (await request.get(`/api/records/search?record=${encodeURIComponent(email)}`)).json();
      salesforceId = records.find((r: any) => r.salesforce_id)?.salesforce_id ?? "";
      return salesforceId;
    }, { timeout: 60_000 })
    .not.toBe("");
  return { stamp, email, salesforceId };
}

test("search by the start of an email finds the record, and its page tells its story", async ({ page, request }) => {
  const { stamp, email, salesforceId } = await pushedContact(request);
  await open(page, LIST);
  const search = page.getByRole("searchbox", { name: "Find a record" });
  await search.fill(`STORY.${stamp}`);
  await search.press("Enter");
  await expect(page).toHaveURL(new RegExp(`\\?record=STORY\\.${stamp}`));
  const result = page.locator(`tr.record-result[data-key="sf:${salesforceId}"]`);
  await expect(result).toBeVisible();
  await expect(page.getByTestId("record-results-summary")).toHaveText(/1 record matches/);
  await expect(result.locator(".badge")).toHaveText(/Success/);
  await expectAccessible(page);

  await result.getByRole("link", { name: email }).click();
  await expect(page).toHaveURL(new RegExp(`/records/sf:${salesforceId}$`));
  await expect(page.getByRole("heading", { name: email })).toBeVisible();
  await expect(page.getByTestId("record-salesforce-id")).toContainText(salesforceId);
  await expect(page.getByTestId("record-conversion")).toContainText(`Teller ${stamp}`);
  const pushed = page.locator("[data-testid=timeline] tr[data-direction=outbound]");
  await expect(pushed.first()).toBeVisible();
  await expect(pushed.first().locator(".badge")).toHaveText(/Success/);
  await expectAccessible(page);

  // The timeline's run link opens the run at this record.
  await pushed.first().locator("a.timeline__run").click();
  await expect(page).toHaveURL(/\/runs\/[0-9a-f-]+/);
  await expect(page.locator(`tr.record-row`).filter({ hasText: email }).first()).toBeVisible();
});

test("search by a 15-character and by an 18-character Salesforce ID, in either case", async ({ page, request }) => {
  const { salesforceId } = await pushedContact(request);
  for (const pasted of [salesforceId.slice(0, 15), salesforceId, salesforceId.toLowerCase()]) {
    await open(page, `${LIST}?record=${pasted}`);
    await expect(page.locator(`tr.record-result[data-key="sf:${salesforceId}"]`)).toBeVisible();
    await expect(page.getByTestId("record-results-summary")).toHaveText(/1 record matches/);
  }
  // The search keeps its text in the box, and "Show all runs" leaves it.
  await expect(page.getByRole("searchbox", { name: "Find a record" })).toHaveValue(salesforceId.toLowerCase());
  await page.getByRole("link", { name: "Show all runs" }).click();
  await expect(page.locator("tr.run-row").first()).toBeVisible();
});

test("a record's timeline spans both directions, newest first", async ({ page, request }) => {
  test.setTimeout(120_000);
  const { salesforceId } = await pushedContact(request);
  // The push changed the record in Salesforce, so the next inbound contact sync reads it back.
  await expect.poll(async () => (await request.post("/api/sync/now?object=contact")).status(), { timeout: 60_000 }).toBe(202);
  await expect(async () => {
    await open(page, `${LIST}/records/sf:${salesforceId}`);
    await expect(page.locator("[data-testid=timeline] tr[data-direction=inbound]").first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 90_000 });
  const runs = await page.locator("[data-testid=timeline] tr.record-row").evaluateAll((els) =>
    els.map((e) => ({ run: e.getAttribute("data-run")!, direction: e.getAttribute("data-direction")! })),
  );
  expect(runs.map((r) => r.direction)).toContain("outbound");
  // Run ids sort by start time: newest first.
  expect(runs.map((r) => r.run)).toEqual([...runs.map((r) => r.run)].sort().reverse());
});

test("a run's record links to its story and to the record in Salesforce", async ({ page, request }) => {
  const { email, salesforceId } = await pushedContact(request);
  await open(page, `${LIST}/records/sf:${salesforceId}`);
  await page.locator("[data-testid=timeline] a.timeline__run").first().click();
  await hydrated(page);
  const row = page.locator("tr.record-row").filter({ hasText: email }).first();
  const inSalesforce = row.getByTestId("salesforce-link");
  await expect(inSalesforce).toHaveAttribute("target", "_blank");
  const href = await inSalesforce.getAttribute("href");
  expect(href).toMatch(new RegExp(`/lightning/r/Contact/${salesforceId}/view$`));
  // The local org shows the record there, read only.
  const shown = await request.get(href!);
  expect(shown.status()).toBe(200);
  expect(await shown.text()).toContain(email);

  await row.getByTestId("record-link").click();
  await expect(page).toHaveURL(new RegExp(`/records/sf:${salesforceId}$`));
  await expect(page.getByTestId("record-summary")).toBeVisible();
});

test("an unknown or malformed record address says so with a 404 page", async ({ page }) => {
  for (const key of ["sf:003000000000000AAA", "nonsense", "cv:%ZZ"]) {
    const response = await page.goto(`/w/acme${LIST}/records/${key}`);
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("record-not-found")).toBeVisible();
  }
  const nothing = await page.goto(`/w/acme${LIST}?record=${encodeURIComponent("no such person anywhere")}`);
  expect(nothing?.status()).toBe(200);
  await expect(page.getByTestId("record-results-summary")).toHaveText(/No record matches/);
});
