import { readFileSync } from "node:fs";
import { test, expect, open, hydrated, inZone, offsetIn, expectAccessible, inWorkspace } from "./fixtures";

/** The rows of a CSV text: quoted cells may hold commas, doubled quotes and line breaks. */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; }
    else if (c !== "\r") cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

const LIST = "/settings/crm/sync-activity";

/** Waits until the list shows rows and every row has `attr` equal to `value` (the previous
 * page stays on screen while the next one loads). */
async function expectEveryRow(page: import("@playwright/test").Page, checks: Record<string, string>) {
  await expect
    .poll(async () =>
      page.locator("tr.run-row").evaluateAll(
        (els, checks) => els.length > 0 && els.every((e) => Object.entries(checks).every(([k, v]) => (e as HTMLElement).dataset[k] === v)),
        checks,
      ),
    )
    .toBe(true);
}

test("reached from Overview through Recent sync health → View logs", async ({ page }) => {
  const card = page.getByTestId("health-card");
  // The first runs of a fresh start may still be on their way.
  await expect(async () => {
    await open(page, "/settings/crm");
    await expect(card.locator("[data-stat=runs-completed] dd")).not.toHaveText("0", { timeout: 1_000 });
  }).toPass({ timeout: 60_000 });
  await expect(card.getByRole("heading", { name: "Recent sync health" })).toBeVisible();
  await card.getByRole("link", { name: "View logs" }).click();
  await expect(page).toHaveURL(/\/settings\/crm\/sync-activity$/);
  await expect(page.locator("tr.run-row").first()).toBeVisible();
});

test("lists runs newest first with description, badge, counts, duration and time", async ({ page }) => {
  await open(page, LIST);
  const rows = page.locator("tr.run-row");
  await expect(rows).toHaveCount(25);
  const first = rows.first();
  await expect(first.locator(".run-row__title")).toHaveText(/^(Synced|Backfilled) .+ from Salesforce$|^Pushed updates to Salesforce$/);
  await expect(first.locator(".badge")).toHaveText(/In progress|Completed|Failed/);
  for (const c of ["created", "updated", "deleted", "skipped", "failed"]) {
    await expect(first.locator(`td[data-count=${c}]`)).toHaveText(/^[\d,]+$/);
  }
  await expect(first.locator(".duration")).toHaveText(/\d+(\.\d)? ?(ms|s|min)/);
  const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")!));
  expect([...ids].sort().reverse()).toEqual(ids);
  await expect(page.getByRole("link", { name: "Older →" })).toBeVisible();
});

test("direction tabs filter and live in the URL, keyboard included", async ({ page }) => {
  await open(page, LIST);
  const tablist = page.getByRole("tablist", { name: "Direction" });
  await tablist.getByRole("tab", { name: /^Inbound/ }).click();
  await expect(page).toHaveURL(/direction=inbound/);
  await hydrated(page);
  await expect(tablist.getByRole("tab", { name: /^Inbound/ })).toHaveAttribute("aria-selected", "true");
  await expectEveryRow(page, { direction: "inbound" });

  await tablist.getByRole("tab", { name: /^Inbound/ }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(tablist.getByRole("tab", { name: /^Outbound/ })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/direction=outbound/);
  await expectEveryRow(page, { direction: "outbound" });

  await page.goBack();
  await expect(page).toHaveURL(/direction=inbound/);
  await expect(tablist.getByRole("tab", { name: /^Inbound/ })).toHaveAttribute("aria-selected", "true");
  await page.goForward();
  await expect(page).toHaveURL(/direction=outbound/);
  await hydrated(page);

  // Home and End reach the ends of the tablist; All shows both directions again.
  await tablist.getByRole("tab", { name: /^Outbound/ }).focus();
  await page.keyboard.press("Home");
  await expect(tablist.getByRole("tab", { name: "All" })).toBeFocused();
  await page.keyboard.press("End");
  await expect(tablist.getByRole("tab", { name: /^Outbound/ })).toBeFocused();
  await tablist.getByRole("tab", { name: "All" }).click();
  await expect(page).toHaveURL(/\/sync-activity$/);
  await hydrated(page);
  await expect(tablist.getByRole("tab", { name: "All" })).toHaveAttribute("aria-selected", "true");
  const directions = await page.locator("tr.run-row").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.direction));
  expect([...new Set(directions)].sort()).toEqual(["inbound", "outbound"]);
});

test("object type filter narrows the list and back restores it", async ({ page }) => {
  await open(page, `${LIST}?direction=inbound`);
  await page.getByTestId("object-filter").selectOption("company");
  await expect(page).toHaveURL(/direction=inbound&object=company/);
  await expectEveryRow(page, { object: "company", direction: "inbound" });
  await page.goBack();
  await expect(page).toHaveURL(/direction=inbound$/);
  await expect(page.getByTestId("object-filter")).toHaveValue("all");
});

for (const object of ["contact", "lead", "opportunity", "event"]) {
  test(`object type filter: ${object}`, async ({ page }) => {
    await open(page, LIST);
    await page.getByTestId("object-filter").selectOption(object);
    await expect(page).toHaveURL(new RegExp(`\\?object=${object}$`));
    await hydrated(page);
    await expect(page.getByTestId("object-filter")).toHaveValue(object);
    await expectEveryRow(page, { object });
  });
}

test("run status filter keeps the failed runs, and lives in the URL", async ({ page }) => {
  await open(page, LIST);
  await page.getByTestId("status-filter").selectOption("failed");
  await expect(page).toHaveURL(/\?status=failed$/);
  await hydrated(page);
  await expectEveryRow(page, { status: "failed" });
  await expect(page.locator("tr.run-row .badge").first()).toHaveText("Failed");
  await page.getByRole("link", { name: "Clear filters" }).first().click();
  await expect(page).toHaveURL(/\/sync-activity$/);
});

test("a message filter from a link says what it shows and lists only runs that carry it", async ({ page, request }) => {
  // A run with an invalid email among its records, found through the API.
  const body = await (await request.get("/api/runs?message=invalid_email&direction=inbound")).json();
  expect(body.notes).toEqual([]);
  expect(body.runs.length).toBeGreaterThan(0);
  await open(page, `${LIST}?message=invalid_email&direction=inbound`);
  const banner = page.getByTestId("message-filter");
  await expect(banner).toContainText("Showing runs with Invalid email address");
  await expect(banner).toContainText("invalid email address");
  const ids = await page.locator("tr.run-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")));
  expect(ids).toEqual(body.runs.slice(0, ids.length).map((r: any) => r.id));
  // Every listed run really has such a record.
  for (const id of ids.slice(0, 3)) {
    const run = await (await request.get(`/api/run?id=${id}&status=skipped`)).json();
    const all = [...run.records];
    let later = run.later;
    while (later !== null && !all.some((r: any) => r.message === "invalid_email")) {
      const next = await (await request.get(`/api/run?id=${id}&status=skipped&after=${later}`)).json();
      all.push(...next.records);
      later = next.later;
    }
    expect(all.some((r: any) => r.message === "invalid_email"), `run ${id}`).toBe(true);
  }
  // View opens the run on its skipped records, where the message is.
  await page.locator("tr.run-row").first().getByRole("link", { name: "View" }).click();
  await expect(page).toHaveURL(new RegExp(`/runs/${ids[0]}\\?status=skipped$`));
  await expect(page.locator("tr.record-row").first()).toHaveAttribute("data-status", "skipped");
  await page.goBack();
  await hydrated(page);
  await banner.getByRole("link", { name: "Show all runs" }).click();
  await expect(page).toHaveURL(/\/sync-activity\?direction=inbound$/);
  await expect(page.getByTestId("message-filter")).toHaveCount(0);
});

test("date range filter: a range with no runs says so and offers to clear", async ({ page }) => {
  await open(page, LIST);
  await page.getByTestId("from-date").fill("2020-01-01");
  // The filter reads dates in the reader's zone, sent by name: the server reads each date in the
  // offset that zone had on it (summer dates in summer time).
  await expect(page).toHaveURL(/from=2020-01-01&tz=Europe(%2F|\/)Berlin/);
  await hydrated(page);
  await page.getByTestId("from-date").fill("2020-07-01");
  await expect(page).toHaveURL(/from=2020-07-01&tz=Europe(%2F|\/)Berlin/);
  await hydrated(page);
  await page.getByTestId("to-date").fill("2020-07-31");
  await expect(page).toHaveURL(/to=2020-07-31/);
  await expect(page.getByTestId("empty-state")).toContainText("No runs match these filters");
  await page.getByTestId("empty-state").getByRole("link", { name: "Clear filters" }).click();
  await expect(page).toHaveURL(/\/sync-activity$/);
  await expect(page.locator("tr.run-row").first()).toBeVisible();
});

/** The query of every address the page asks for from now on, including a load that a later
 * one cut short. */
function visited(page: import("@playwright/test").Page) {
  const queries: URLSearchParams[] = [];
  page.on("request", (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) queries.push(new URL(r.url()).searchParams);
  });
  return queries;
}

/** Types into a date input at a person's pace (Playwright's own pace is faster than a page load). */
const PACE = { delay: 120 };

test("a date typed key by key applies once complete, never with a half-typed year", async ({ page }) => {
  await open(page, LIST);
  const loads = visited(page);
  // en-US: month, day, year. Each digit changes the input's value: the year passes through
  // 0002, 0020 and 0202 before it is 2026.
  await page.getByTestId("from-date").pressSequentially("11272026", PACE);
  await expect(page).toHaveURL(/from=2026-11-27&tz=Europe(%2F|\/)Berlin/);
  await hydrated(page);
  await expect(page.getByTestId("from-date")).toHaveValue("2026-11-27");
  await expect(page.getByTestId("notes")).toHaveCount(0);
  await page.getByTestId("to-date").pressSequentially("12042026", PACE);
  await expect(page).toHaveURL(/to=2026-12-04/);
  await hydrated(page);

  // A day typed over the chosen date waits for Enter: a "2" is not yet the "28" meant.
  await page.getByTestId("to-date").focus();
  await page.keyboard.press("ArrowRight"); // from the month to the day
  await page.keyboard.type("28", PACE);
  await expect(page.getByTestId("to-date")).toHaveValue("2026-12-28");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/to=2026-12-28/);
  await hydrated(page);
  expect(loads.map((q) => [q.get("from"), q.get("to")])).toEqual([
    ["2026-11-27", null],
    ["2026-11-27", "2026-12-04"],
    ["2026-11-27", "2026-12-28"],
  ]);
});

test("a typed year before 2000 or after next year is ignored with a note", async ({ page }) => {
  const next = new Date().getUTCFullYear() + 1;
  await open(page, LIST);
  const loads = visited(page);
  await page.getByTestId("from-date").pressSequentially("11271999", PACE);
  // Nothing applies while the year is out of range; Enter applies what was typed.
  await page.getByTestId("from-date").press("Enter");
  await expect(page).toHaveURL(/from=1999-11-27/);
  await hydrated(page);
  expect(loads.map((q) => q.get("from"))).toEqual(["1999-11-27"]);
  await expect(page.getByTestId("notes")).toContainText(`Ignored start date “1999-11-27”: use a date from 2000 to ${next}.`);
  await expect(page.getByTestId("from-date")).toHaveValue("");
  await expect(page.locator("tr.run-row").first()).toBeVisible();
  // Leaving the input applies it too.
  await page.getByTestId("to-date").pressSequentially(`0101${next + 1}`, PACE);
  await page.getByTestId("object-filter").focus();
  await expect(page).toHaveURL(new RegExp(`to=${next + 1}-01-01`));
  await expect(page.getByTestId("notes")).toContainText(`Ignored end date “${next + 1}-01-01”: use a date from 2000 to ${next}.`);
  // A pasted link with a year typed half way says so too.
  await open(page, `${LIST}?from=0002-11-27`);
  await expect(page.getByTestId("notes")).toContainText("Ignored start date “0002-11-27”: use a date from 2000 to");
  await expect(page.locator("tr.run-row").first()).toBeVisible();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the date inputs show the active range, and Apply keeps it", async ({ page }) => {
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
    await page.goto(inWorkspace(`${LIST}?direction=inbound&from=${today}&to=${today}&tz=Europe%2FBerlin`));
    await expect(page.getByTestId("from-date")).toHaveValue(today);
    await expect(page.getByTestId("to-date")).toHaveValue(today);
    await expect(page.locator("tr.run-row").first()).toBeVisible();
    // Apply with nothing changed: the same view.
    await Promise.all([page.waitForURL((u) => u.searchParams.has("status")), page.getByRole("button", { name: "Apply" }).click()]);
    let params = new URL(page.url()).searchParams;
    expect([params.get("direction"), params.get("from"), params.get("to"), params.get("tz")]).toEqual(["inbound", today, today, "Europe/Berlin"]);
    await expect(page.getByTestId("from-date")).toHaveValue(today);
    await expect(page.getByTestId("notes")).toHaveCount(0);
    // Another filter applied with the dates kept.
    await page.getByTestId("object-filter").selectOption("contact");
    await Promise.all([page.waitForURL((u) => u.searchParams.get("object") === "contact"), page.getByRole("button", { name: "Apply" }).click()]);
    params = new URL(page.url()).searchParams;
    expect([params.get("from"), params.get("to"), params.get("tz")]).toEqual([today, today, "Europe/Berlin"]);
    await expect(page.getByTestId("to-date")).toHaveValue(today);
    const objects = await page.locator("tr.run-row").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.object));
    expect(objects.length).toBeGreaterThan(0);
    expect(new Set(objects)).toEqual(new Set(["contact"]));
  });
});

test("date range filter keeps the runs of the chosen days only", async ({ page }) => {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
  const offset = offsetIn("Europe/Berlin");
  await open(page, `${LIST}?from=${today}&to=${today}&tz=Europe%2FBerlin`);
  await expect(page.getByTestId("from-date")).toHaveValue(today);
  await expect(page.locator("tr.run-row").first()).toBeVisible();
  const start = Date.parse(`${today}T00:00:00${offset}`);
  const times = await page.locator("tr.run-row time").evaluateAll((els) => els.map((e) => Date.parse(e.getAttribute("datetime")!)));
  expect(times.every((t) => t >= start && t < start + 86_400_000)).toBe(true);
});

test("pages move older and newer without gaps", async ({ page }) => {
  await open(page, `${LIST}?direction=inbound`);
  const ids = () => page.locator("tr.run-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")!));
  await page.getByRole("link", { name: "Older →" }).click();
  await expect(page).toHaveURL(/before=/);
  const cursor = new URL(page.url()).searchParams.get("before")!;
  // The older page holds the 25 runs just before the cursor, newest first.
  await expect.poll(async () => (await ids()).every((id) => id < cursor)).toBe(true);
  const second = await ids();
  expect(second.length).toBe(25);
  expect([...second].sort().reverse()).toEqual(second);
  await page.getByRole("link", { name: "← Newer" }).click();
  await expect(page).toHaveURL(/after=/);
  // Back again: the page ends with the run just newer than the older page.
  await expect.poll(async () => (await ids()).every((id) => id > second[0])).toBe(true);
  await expect(page.locator("tr.run-row").last()).toHaveAttribute("data-run-id", cursor);
});

test("View opens the run; its records filter by status; a pasted link reproduces it", async ({ page, context }) => {
  await open(page, `${LIST}?direction=inbound&object=contact`);
  const row = page.locator("tr.run-row[data-status=completed]").first();
  const id = await row.getAttribute("data-run-id");
  const description = await row.locator(".run-row__title").textContent();
  await row.getByRole("link", { name: "View" }).click();
  await expect(page).toHaveURL(new RegExp(`/runs/${id}$`));
  await expect(page.getByRole("heading", { level: 2 }).first()).toHaveText(description!);
  await expect(page.locator("tr.record-row").first()).toBeVisible();

  const statusTabs = page.getByRole("tablist", { name: "Record status" });
  await statusTabs.getByRole("tab", { name: /^Skipped/ }).click();
  await expect(page).toHaveURL(/status=skipped/);
  await expect(statusTabs.getByRole("tab", { name: /^Skipped/ })).toHaveAttribute("aria-selected", "true");
  const skipped = page.locator("tr.record-row");
  await expect(skipped.first()).toBeVisible();
  expect(await skipped.evaluateAll((els) => els.every((e) => e.dataset.status === "skipped"))).toBe(true);
  // Every skipped record explains itself with a message from the help article.
  await expect(skipped.first().locator(".message__title")).not.toBeEmpty();
  await expect(skipped.first().locator(".message__meaning")).not.toBeEmpty();
  // The record-status tabs are a tablist too: arrow keys move between them.
  await hydrated(page);
  await statusTabs.getByRole("tab", { name: /^Skipped/ }).focus();
  await page.keyboard.press("ArrowRight");
  await expect(statusTabs.getByRole("tab", { name: /^Failed/ })).toBeFocused();
  await page.keyboard.press("ArrowRight");
  await expect(statusTabs.getByRole("tab", { name: /^All/ })).toBeFocused();

  const pasted = await context.newPage();
  await open(pasted, `/settings/crm/sync-activity/runs/${id}?status=success`);
  await expect(pasted.locator("tr.record-row").first()).toBeVisible();
  expect(await pasted.locator("tr.record-row").evaluateAll((els) => els.every((e) => e.dataset.status === "success"))).toBe(true);
  await expect(pasted.getByRole("tab", { name: /^Success/ })).toHaveAttribute("aria-selected", "true");
});

test("a failed run shows the article's message, meaning and what to do", async ({ page }) => {
  const res = await page.request.get(inWorkspace("/api/runs?direction=inbound"));
  let body = await res.json();
  let failed = body.runs.find((r: any) => r.status === "failed" && r.failure);
  while (!failed && body.older) {
    body = await (await page.request.get(inWorkspace(`/api/runs?direction=inbound&before=${body.older}`))).json();
    failed = body.runs.find((r: any) => r.status === "failed" && r.failure);
  }
  expect(failed).toBeTruthy();
  await open(page, `/settings/crm/sync-activity/runs/${failed.id}`);
  const callout = page.getByTestId("run-failure");
  await expect(callout).toBeVisible();
  await expect(callout.locator(".callout__title")).toHaveText(/Authentication failure|Insufficient permissions|API limit exceeded|Unknown error/);
  await expect(callout).toContainText("What to do:");
  await expect(page.locator(".badge[data-status=failed]").first()).toBeVisible();
  await expectAccessible(page);
});

test("a run in progress turns completed in place, without a reload", async ({ page, request }) => {
  test.setTimeout(120_000);
  await withSlowOrg(request, async () => {
    const id = await pushInProgress(request);
    await open(page, `${LIST}?direction=outbound&object=contact`);
    const row = page.locator(`tr.run-row[data-run-id="${id}"]`);
    await expect(row).toHaveAttribute("data-status", "in_progress");
    // A simulated change made at the same moment may share the batch.
    await expect(row.getByTestId("progress")).toContainText(/0 of \d+ records?/);
    await page.evaluate(() => ((window as any).__noReload = true));
    await expect(row).toHaveAttribute("data-status", /completed|failed/, { timeout: 60_000 });
    await expect(row.getByTestId("progress")).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  });
});

/** Makes a contact in Conversion, which the engine pushes to Salesforce as an outbound run, and
 * returns that run's id once it is in progress. */
async function pushInProgress(request: import("@playwright/test").APIRequestContext, known: Set<string> = new Set()): Promise<string> {
  // The demo's own simulated changes push contacts too: only a run that was not there yet counts.
  const current = await (await request.get("/api/runs?direction=outbound&object=contact")).json();
  for (const r of current.runs) known.add(r.id);
  const change = await request.post("/api/conversion/contacts", {
    data: { email: `live.${Date.now()}@example.com`, first_name: "Live", last_name: "Test" },
  });
  expect(change.status()).toBe(201);
  let id = "";
  await expect
    .poll(async () => {
      const body = await (await request.get("/api/runs?direction=outbound&object=contact&status=in_progress")).json();
      id = body.runs.map((r: any) => r.id).find((r: string) => !known.has(r)) ?? "";
      return id;
    }, { timeout: 30_000 })
    .not.toBe("");
  return id;
}

/** Slows the local Salesforce org down so a push stays in progress for a few seconds. */
async function withSlowOrg(request: import("@playwright/test").APIRequestContext, body: () => Promise<void>) {
  const { org_url } = await (await request.get("/api/sync/status")).json();
  expect(org_url).toBeTruthy();
  expect((await request.post(`${org_url}/__fake_org/faults`, { data: { action: "set_latency", ms: 4000 } })).ok()).toBe(true);
  try {
    await body();
  } finally {
    await request.post(`${org_url}/__fake_org/faults`, { data: { action: "set_latency", ms: 300 } });
  }
}

test("a run page in progress fills in its records and completes, without a reload", async ({ page, request }) => {
  test.setTimeout(120_000);
  await withSlowOrg(request, async () => {
    const id = await pushInProgress(request);
    await open(page, `${LIST}/runs/${id}`);
    await expect(page.locator(".badge[data-status=in_progress]").first()).toBeVisible();
    await expect(page.getByTestId("no-records")).toContainText("No records yet");
    await page.evaluate(() => ((window as any).__noReload = true));
    await expect(page.locator(".badge[data-status=completed]").first()).toBeVisible({ timeout: 60_000 });
    const record = page.locator("tr.record-row").first();
    await expect(record).toBeVisible();
    await expect(record).toHaveAttribute("data-status", /success|skipped|failed/);
    await expect(page.getByTestId("no-records")).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  });
});

test("new runs appear at the top of the first page, without a reload", async ({ page, request }) => {
  test.setTimeout(120_000);
  await open(page, `${LIST}?direction=outbound&object=contact`);
  const rows = page.locator("tr.run-row");
  await expect(rows.first()).toBeVisible();
  const before = new Set(await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")!)));
  await page.evaluate(() => ((window as any).__noReload = true));
  await withSlowOrg(request, async () => {
    const id = await pushInProgress(request, before);
    // The idle check (every 10 s) brings it in; from then on the fast poll follows it. (The demo's
    // own simulated changes may push runs of their own meanwhile: they go on top too.)
    const row = page.locator(`tr.run-row[data-run-id="${id}"]`);
    await expect(row).toBeVisible({ timeout: 30_000 });
    await expect(row).toHaveAttribute("data-status", /completed|failed/, { timeout: 60_000 });
    const top = await rows.first().getAttribute("data-run-id");
    expect(before.has(top!)).toBe(false);
    expect(top! >= id).toBe(true);
  });
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  const after = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")!));
  expect(after.slice(1, 1 + before.size).filter((r) => before.has(r)).length).toBeGreaterThan(0);
  expect(new Set(after).size).toBe(after.length);
});

test("a page whose filters match nothing yet shows new matching runs as they start", async ({ page, request }) => {
  test.setTimeout(120_000);
  // From this very second: nothing matches yet.
  const from = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, "Z");
  await open(page, `${LIST}?direction=outbound&object=contact&from=${from}`);
  await expect(page.getByTestId("empty-state")).toContainText("No runs match these filters");
  await withSlowOrg(request, async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const id = await pushInProgress(request);
    await expect(page.locator(`tr.run-row[data-run-id="${id}"]`)).toBeVisible({ timeout: 30_000 });
  });
});

for (const timeZone of ["America/Los_Angeles", "Asia/Kolkata"]) {
  test.describe(`times in ${timeZone}`, () => {
    test.use({ timezoneId: timeZone });
    test("entries and records show the reader's local time, UTC on hover", async ({ page }) => {
      await open(page, LIST);
      const time = page.locator("tr.run-row time").first();
      const iso = (await time.getAttribute("datetime"))!;
      await expect(time).toHaveText(inZone(iso, timeZone));
      await expect(time).toHaveAttribute("title", /UTC$/);
      const { runs } = await (await page.request.get(inWorkspace("/api/runs?direction=inbound"))).json();
      const withRecords = runs.find((r: any) => r.status === "completed" && r.counts.updated > 0);
      await open(page, `${LIST}/runs/${withRecords.id}?status=success`);
      const recordTime = page.locator("tr.record-row time").first();
      const recordIso = (await recordTime.getAttribute("datetime"))!;
      await expect(recordTime).toHaveText(inZone(recordIso, timeZone));
    });
  });
}

test.describe("the zone the times are in", () => {
  test.use({ timezoneId: "Europe/Berlin" });
  test("is named, switches to UTC in the address, and the choice follows the links", async ({ page }) => {
    await open(page, LIST);
    const label = page.locator(".card__header .times-in");
    await expect(label).toHaveText(/^Times in Europe\/Berlin · Show in UTC$/);
    const time = page.locator("tr.run-row time").first();
    const iso = (await time.getAttribute("datetime"))!;
    await expect(time).toHaveText(inZone(iso, "Europe/Berlin"));

    await label.getByRole("link", { name: "Show in UTC" }).click();
    await expect(page).toHaveURL(/[?&]times=utc(&|$)/);
    await hydrated(page);
    await expect(page.locator(".card__header .times-in")).toHaveText(/^Times in UTC · Show in local time$/);
    const utcTime = page.locator("tr.run-row time").first();
    const utcIso = (await utcTime.getAttribute("datetime"))!;
    await expect(utcTime).toHaveText(`${inZone(utcIso, "UTC")} UTC`);

    // Filters, pages and runs opened from here keep it, and so does the way back.
    await page.getByRole("tab", { name: /^Inbound/ }).click();
    await expect(page).toHaveURL(/direction=inbound/);
    await expect(page).toHaveURL(/[?&]times=utc(&|$)/);
    await hydrated(page);
    await page.locator("tr.run-row").first().getByRole("link").first().click();
    await expect(page).toHaveURL(/\/runs\/[0-9a-f-]+\?(.*&)?times=utc/);
    await hydrated(page);
    await expect(page.locator(".page-bar .times-in")).toHaveText(/^Times in UTC · Show in local time$/);
    await expect(page.locator(".facts time").first()).toHaveText(/ UTC$/);
    await page.getByRole("link", { name: "← All sync activity" }).click();
    await expect(page).toHaveURL(/[?&]times=utc(&|$)/);
    await hydrated(page);

    // And back to the reader's zone.
    await page.locator(".card__header .times-in").getByRole("link", { name: "Show in local time" }).click();
    await expect(page).not.toHaveURL(/times=/);
    await hydrated(page);
    await expect(page.locator(".card__header .times-in")).toHaveText(/^Times in Europe\/Berlin/);
  });
});

test("a run's failed records download as CSV with the filter applied", async ({ page }) => {
  // A completed run with failed records beside others, found through the message filter.
  let withFailures: any;
  for (const code of ["malformed_data", "invalid_timestamp", "required_field_missing", "field_length_exceeded", "invalid_picklist_value"]) {
    const { runs } = await (await page.request.get(inWorkspace(`/api/runs?status=completed&message=${code}`))).json();
    withFailures = runs.find((r: any) => r.counts.failed > 0 && r.counts.failed < r.counts.created + r.counts.updated + r.counts.deleted + r.counts.skipped + r.counts.failed);
    if (withFailures) break;
  }
  expect(withFailures, "the demo history has a run with failed and other records").toBeTruthy();
  await open(page, `${LIST}/runs/${withFailures.id}?status=failed`);
  const link = page.getByTestId("export-csv");
  await expect(link).toHaveText("Download failed as CSV");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe(`run-${withFailures.id}-failed.csv`);
  const rows = csvRows(readFileSync(await download.path(), "utf8"));
  expect(rows[0]).toEqual(["Record", "Salesforce ID", "Conversion ID", "Action", "Status", "Message", "Detail", "Created in Salesforce (UTC)", "Updated in Salesforce (UTC)", "Position"]);
  expect(rows.length - 1).toBe(withFailures.counts.failed);
  for (const row of rows.slice(1)) {
    expect(row).toHaveLength(10);
    expect(row[4]).toBe("Failed");
    expect(row[5]).not.toBe("");
  }
});

test("an unknown or malformed run id is a 404 'Run not found' page", async ({ page }) => {
  for (const id of ["not-a-run", "%E2%9C%93"]) {
    const res = await open(page, `/settings/crm/sync-activity/runs/${id}`);
    expect(res!.status()).toBe(404);
    await expect(page.getByTestId("run-not-found")).toContainText("Run not found");
  }
  // A well-formed id from 2024 is past the 90 days of history kept: the page says so.
  const old = await open(page, "/settings/crm/sync-activity/runs/0190a3c2-0000-7000-8000-000000000000");
  expect(old!.status()).toBe(404);
  await expect(page.getByTestId("run-expired")).toContainText("This run is older than your 90-day history");
  await expectAccessible(page);
  const res = await open(page, "/settings/nowhere");
  expect(res!.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expectAccessible(page);
});

test("malformed query values are ignored with a visible note", async ({ page }) => {
  const res = await open(page, `${LIST}?direction=sideways&object=unicorns&from=yesterday&before=42`);
  expect(res!.status()).toBe(200);
  const notes = page.getByTestId("notes");
  await expect(notes).toContainText("Ignored direction");
  await expect(notes).toContainText("Ignored object type");
  await expect(notes).toContainText("Ignored start date");
  await expect(notes).toContainText("Ignored page position");
  await expect(page.locator("tr.run-row").first()).toBeVisible();
  const run = await open(page, `${LIST}/runs/${await page.locator("tr.run-row").first().getAttribute("data-run-id")}?status=maybe&after=-1`);
  expect(run!.status()).toBe(200);
  await expect(page.getByTestId("notes")).toContainText("Ignored status");
});

test("the Wasm, JS and CSS arrive compressed under hashed names, and a second visit takes them from the cache", async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const seen: { id: string; url: string; encoding: string; cacheControl: string; fromCache: boolean }[] = [];
  const servedFromCache = new Set<string>();
  cdp.on("Network.requestServedFromCache", (e) => servedFromCache.add(e.requestId));
  cdp.on("Network.responseReceived", (e) => {
    const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const fromCache = !!e.response.fromDiskCache || servedFromCache.has(e.requestId);
    seen.push({ id: e.requestId, url: new URL(e.response.url).pathname, encoding: h["content-encoding"] ?? "", cacheControl: h["cache-control"] ?? "", fromCache });
  });
  const built = () => seen.filter((r) => r.url.startsWith("/pkg/"));

  const first = await open(page, LIST);
  expect(first!.headers()["cache-control"]).toBe("no-cache");
  expect(first!.headers()["content-encoding"]).toBe("br");
  const names = built().map((r) => r.url.split("/").pop()!);
  for (const ext of ["wasm", "js", "css"]) {
    expect(names, `a hashed .${ext}`).toContainEqual(expect.stringMatching(new RegExp(`^sync-activity\\.[A-Za-z0-9_-]{22}\\.${ext}$`)));
  }
  for (const r of built()) {
    expect(r, r.url).toMatchObject({ encoding: "br", cacheControl: "public, max-age=31536000, immutable" });
  }

  // Coming back: the page is asked for again, the built files are not.
  seen.length = 0;
  await open(page, LIST);
  expect(seen.find((r) => r.url === inWorkspace(LIST))?.fromCache).toBe(false);
  expect(built().length).toBeGreaterThan(0);
  expect(built().filter((r) => !r.fromCache), "every built file from the cache").toEqual([]);
});

test("the JSON API answers with the same filters", async ({ request }) => {
  const res = await request.get("/api/runs?direction=outbound&object=contact");
  expect(res.status()).toBe(200);
  expect(res.headers()["cache-control"]).toBe("no-cache");
  const body = await res.json();
  expect(body.runs.length).toBeGreaterThan(0);
  expect(body.runs.every((r: any) => r.direction === "outbound" && r.object_type === "contact")).toBe(true);
  const run = await request.get(`/api/run?id=${body.runs[0].id}&status=failed`);
  expect((await run.json()).records.every((r: any) => r.status === "failed")).toBe(true);
  const missing = await request.get("/api/run?id=nope");
  expect(missing.status()).toBe(404);
});
