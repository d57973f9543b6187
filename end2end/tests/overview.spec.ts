import { test, expect, open } from "./fixtures";
import type { APIRequestContext, Page } from "@playwright/test";

const OVERVIEW = "/settings/crm";

async function orgUrl(request: APIRequestContext): Promise<string> {
  const { org_url } = await (await request.get("/api/sync/status")).json();
  expect(org_url).toBeTruthy();
  return org_url;
}

async function fault(request: APIRequestContext, body: object) {
  const res = await request.post(`${await orgUrl(request)}/__fake_org/faults`, { data: body });
  expect(res.ok()).toBe(true);
}

/** Asks for a sync of one object now, waiting while another run of it is under way. */
async function syncNow(request: APIRequestContext, object: string) {
  await expect.poll(async () => (await request.post(`/api/sync/now?object=${object}`)).status(), { timeout: 60_000 }).toBe(202);
}

/** The newest inbound run of `object` started after `since` that satisfies `pred`. */
async function waitForRun(request: APIRequestContext, object: string, since: number, pred: (r: any) => boolean) {
  let found: any = null;
  await expect
    .poll(async () => {
      const { runs } = await (await request.get(`/api/runs?direction=inbound&object=${object}`)).json();
      found = runs.find((r: any) => r.started_at >= since && pred(r)) ?? null;
      return found !== null;
    }, { timeout: 60_000 })
    .toBe(true);
  return found;
}

/** Reconnect Salesforce through the local org's consent page. */
async function reconnect(page: Page) {
  await open(page, OVERVIEW);
  await page.getByTestId("connect").click();
  await expect(page.getByRole("heading", { name: "Allow Access?" })).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();
  await page.waitForURL(/\/settings\/crm$/);
  await page.waitForSelector("body[data-hydrated]");
}

test.describe.configure({ mode: "serial" });

test("the health card's numbers are the activity view's numbers", async ({ page, request }) => {
  const { health, as_of } = await (await request.get("/api/health")).json();
  const from = new Date(health.since_ms).toISOString();
  const to = new Date(as_of).toISOString();
  let url = `/api/runs?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  let total = 0, failed = 0;
  for (;;) {
    const body = await (await request.get(url)).json();
    total += body.runs.length;
    failed += body.runs.filter((r: any) => r.status === "failed").length;
    if (!body.older) break;
    url = `/api/runs?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&before=${body.older}`;
  }
  expect(total).toBe(health.runs_completed + health.runs_failed + health.runs_in_progress);
  expect(failed).toBe(health.runs_failed);
  await open(page, OVERVIEW);
  await expect(page.locator("[data-stat=runs-failed] dd")).toHaveText(String(health.runs_failed));
  await expect(page.getByTestId("hourly-chart")).toBeVisible();
});

test("connect through Salesforce's consent page", async ({ page }) => {
  await open(page, OVERVIEW);
  const card = page.getByTestId("connection-card");
  await expect(card).toContainText("Connected");
  await expect(card).toContainText("integration@conversion.local");
  await reconnect(page);
  await expect(page.getByTestId("connection-card")).toContainText("Connected");
  await expect(page.getByTestId("reconnect-prompt")).toHaveCount(0);
});

test("revoked tokens fail the run, prompt to reconnect, and syncing resumes after reconnecting", async ({ page, request }) => {
  test.setTimeout(180_000);
  const since = Date.now();
  await fault(request, { action: "revoke_tokens" });
  await fault(request, { action: "expire_sessions" });
  await syncNow(request, "company");
  const failed = await waitForRun(request, "company", since, (r) => r.status === "failed");
  expect(failed.failure.message).toBe("authentication_failure");

  await open(page, `/settings/crm/sync-activity/runs/${failed.id}`);
  await expect(page.getByTestId("run-failure")).toContainText("Authentication failure");
  await expect(page.getByTestId("run-failure")).toContainText("Reconnect Salesforce from the Overview tab.");
  await page.getByTestId("run-failure").getByRole("link", { name: "Reconnect Salesforce" }).click();
  await expect(page.getByTestId("reconnect-prompt")).toBeVisible();
  await expect(page.getByTestId("connection-card")).toContainText("Needs reconnection");

  await reconnect(page);
  await expect(page.getByTestId("connection-card")).toContainText("Connected");
  const after = Date.now();
  // Something new for the next company sync to bring in, rather than waiting for the org's
  // simulated users to edit a company: a company made in Conversion and pushed to the org.
  const created = await request.post("/api/conversion/companies", { data: { name: `Reconnected ${after}` } });
  expect(created.status()).toBe(201);
  await syncNow(request, "company");
  await waitForRun(request, "company", after, (r) => r.status === "completed");
});

test("switching off writes skips the next change with Object write disabled", async ({ page, request }) => {
  test.setTimeout(120_000);
  await open(page, OVERVIEW);
  const settings = page.getByTestId("sync-settings");
  await settings.getByLabel("Write changes to Salesforce leads and contacts").uncheck();
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(settings.getByRole("status")).toContainText("Saved");
  try {
    const since = Date.now();
    const email = `nowrite.${since}@example.com`;
    expect((await request.post("/api/conversion/contacts", { data: { email, first_name: "No", last_name: "Write" } })).status()).toBe(201);
    let run: any = null;
    await expect
      .poll(async () => {
        const { runs } = await (await request.get("/api/runs?direction=outbound&object=contact")).json();
        run = runs.find((r: any) => r.started_at >= since && r.status !== "in_progress" && r.counts.skipped > 0) ?? null;
        return run !== null;
      }, { timeout: 30_000 })
      .toBe(true);
    await open(page, `/settings/crm/sync-activity/runs/${run.id}?status=skipped`);
    const row = page.locator("tr.record-row", { hasText: email });
    await expect(row.locator(".message__title")).toHaveText("Object write disabled");
    await expect(row.locator(".message__meaning")).toContainText("Writing to this Salesforce object type is turned off");
  } finally {
    await open(page, OVERVIEW);
    await page.getByTestId("sync-settings").getByLabel("Write changes to Salesforce leads and contacts").check();
    await page.getByTestId("sync-settings").getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByTestId("sync-settings").getByRole("status")).toContainText("Saved");
  }
});

test("settings are saved and read back: inbound object types and schedule", async ({ page, request }) => {
  await open(page, OVERVIEW);
  const settings = page.getByTestId("sync-settings");
  await settings.getByTestId("interval").selectOption("300");
  await settings.getByLabel("Custom events", { exact: true }).uncheck();
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(settings.getByRole("status")).toContainText("Saved");
  const saved = (await (await request.get("/api/connection")).json()).settings;
  expect(saved.interval_secs).toBe(300);
  expect(saved.inbound_objects).not.toContain("event");
  await open(page, OVERVIEW);
  await expect(page.getByTestId("interval")).toHaveValue("300");
  await expect(page.getByTestId("sync-settings").getByLabel("Custom events", { exact: true })).not.toBeChecked();
  // Back to the defaults for the tests that follow.
  await page.getByTestId("interval").selectOption("default");
  await page.getByTestId("sync-settings").getByLabel("Custom events", { exact: true }).check();
  await page.getByTestId("sync-settings").getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByTestId("sync-settings").getByRole("status")).toContainText("Saved");
});

test("settings refuse invalid values with a message", async ({ page }) => {
  await open(page, OVERVIEW);
  const settings = page.getByTestId("sync-settings");
  await settings.getByTestId("excluded-domains").fill("not a domain!");
  await settings.getByRole("button", { name: "Save settings" }).click();
  await expect(settings.getByRole("alert")).toContainText("is not an email domain");
});

test("an exhausted API limit fails the run and shows Rate limits with what to do", async ({ page, request }) => {
  test.setTimeout(120_000);
  const since = Date.now();
  await fault(request, { action: "exhaust_daily_limit" });
  try {
    await syncNow(request, "opportunity");
    const failed = await waitForRun(request, "opportunity", since, (r) => r.status === "failed");
    expect(failed.failure.message).toBe("api_limit_exceeded");
    await open(page, OVERVIEW);
    const limits = page.getByTestId("rate-limits");
    await expect(limits.getByTestId("limit-exceeded")).toContainText("API limit exceeded");
    await expect(limits.getByTestId("limit-exceeded")).toContainText("Wait for the limit to reset, and review your usage under Rate limits.");
    await open(page, `/settings/crm/sync-activity/runs/${failed.id}`);
    await page.getByTestId("run-failure").getByRole("link", { name: "Review rate limits" }).click();
    await expect(page.getByTestId("rate-limits")).toBeVisible();
  } finally {
    await fault(request, { action: "reset_daily_limit" });
    await request.post("/api/sync/reconnect");
  }
});
