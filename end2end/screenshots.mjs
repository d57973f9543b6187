// Takes the README's screenshots from a running server: node screenshots.mjs [base-url] [empty-base-url]
// It signs in as SCREENSHOT_EMAIL (default admin@example.com) with SCREENSHOT_PASSWORD (default
// SYNC_ADMIN_PASSWORD). Give the empty server another loopback address (127.0.0.2): cookies do not
// tell ports apart.
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const emptyBase = process.argv[3];
const out = new URL("../docs/screenshots/", import.meta.url).pathname;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
// A laptop's width and a phone's, the two the browser tests check the layout at.
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };
const context = await browser.newContext({ viewport: DESKTOP, timezoneId: "America/New_York", locale: "en-US" });
const page = await context.newPage();
page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && console.log(`console ${m.type()}: ${m.text()} (${m.location().url} on ${page.url()})`));

async function open(url) {
  await page.goto(url);
  await page.waitForSelector("body[data-hydrated]");
  await page.waitForTimeout(300);
}

/** A whole-page screenshot. The settings' sticky save bar is shown where it sits in the form:
 *  a whole-page capture would otherwise paint it where the first screen's bottom edge was. */
async function fullPage(path) {
  const unstick = await page.addStyleTag({ content: ".settings-form__bar { position: static !important; }" });
  await page.screenshot({ path, fullPage: true });
  await unstick.evaluate((e) => e.remove());
}

/** The first screen from `selector` down (under the sticky top bar). */
async function screenFrom(selector, path) {
  await page.locator(selector).evaluate((e) => window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 80));
  await page.screenshot({ path, fullPage: false });
}

const email = process.env.SCREENSHOT_EMAIL ?? "admin@example.com";
const password = process.env.SCREENSHOT_PASSWORD ?? process.env.SYNC_ADMIN_PASSWORD;
if (!password) throw new Error("give SCREENSHOT_PASSWORD (or SYNC_ADMIN_PASSWORD)");

/** Signs in through the sign-in page, as a person does. */
async function signIn(at) {
  await open(`${at}/settings/crm`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/settings\/crm$/);
}

// The sign-in page, as someone who was sent a link to a run sees it.
await open(`${base}/sign-in?next=%2Fsettings%2Fcrm%2Fsync-activity`);
await page.screenshot({ path: `${out}/sign-in.png`, fullPage: false });
await signIn(base);
if (emptyBase) await signIn(emptyBase);

await open(`${base}/settings/crm`);
await fullPage(`${out}/overview.png`);

// The Overview's other states, made with the local org's fault controls (docs/SALESFORCE.md).
/** The product's API, as the signed-in person (the page's cookies). */
const api = (path, options = {}) =>
  page.request.fetch(`${base}${path}`, { ...options, headers: { Origin: new URL(base).origin, ...(options.headers ?? {}) } });
const status = async () => (await (await api("/api/sync/status")).json());
const orgUrl = (await status()).org_url;
const fault = (action) => fetch(`${orgUrl}/__fake_org/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action }) });

// A record's story and the retry flow: a contact whose push a validation rule refuses, found by
// searching, its page, its failed run with Retry, and the page after Retry once the cause is gone.
{
  const rule = { object: "Contact", field: "Title", condition: { kind: "equals", value: "Chief Blocker" }, message: "This title is not allowed" };
  await fetch(`${orgUrl}/__fake_org/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: "add_validation_rule", rule }) });
  await api("/api/conversion/contacts", { method: "POST", data: { email: "jane.doe@acme.example", first_name: "Jane", last_name: "Doe", title: "Chief Blocker" } });
  let found;
  for (let i = 0; i < 60 && !found; i++) {
    const { records } = await (await api("/api/records/search?record=jane.doe%40acme")).json();
    found = records.find((r) => r.last_status === "failed");
    if (!found) await page.waitForTimeout(500);
  }
  await open(`${base}/settings/crm/sync-activity?record=jane`);
  await fullPage(`${out}/record-search.png`);
  await page.locator("tr.record-result a.record-row__label").first().click();
  await page.waitForSelector("body[data-hydrated]");
  await fullPage(`${out}/record.png`);
  const settings = await (await api("/api/sync/settings")).json();
  await api("/api/sync/settings", { method: "PUT", data: { ...settings, contact_fields: settings.contact_fields.filter((f) => f !== "title") } });
  await open(`${base}/settings/crm/sync-activity/runs/${found.last_run}?status=failed`);
  await page.getByTestId("retry").first().click();
  await page.waitForSelector("[data-testid=retried]");
  await page.screenshot({ path: `${out}/retry.png`, fullPage: false });
  await api("/api/sync/settings", { method: "PUT", data: settings });
  await fault("clear");
}


/** Asks for a sync of `object` and waits for its run started after `since` to fail. */
async function failedRun(object, since) {
  for (let i = 0; i < 120; i++) {
    const res = await api(`/api/sync/now?object=${object}`, { method: "POST" });
    if (res.status() === 202) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (let i = 0; i < 240; i++) {
    const { runs } = await (await api(`/api/runs?direction=inbound&object=${object}`)).json();
    if (runs.some((r) => r.started_at >= since && r.status === "failed")) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no failed ${object} run`);
}

/** Reconnects through the local org's consent page, which also clears an API-limit pause. */
async function reconnect() {
  await open(`${base}/settings/crm`);
  await page.getByTestId("connect").click();
  await page.getByRole("button", { name: "Allow" }).click();
  await page.waitForURL(/\/settings\/crm$/);
  await page.waitForSelector("body[data-hydrated]");
}

if (orgUrl) {
  let since = Date.now();
  await fault("revoke_tokens");
  await fault("expire_sessions");
  await failedRun("company", since);
  await open(`${base}/settings/crm`);
  await page.screenshot({ path: `${out}/overview-reconnect.png`, fullPage: false });
  await reconnect();

  since = Date.now();
  await fault("exhaust_daily_limit");
  await failedRun("opportunity", since);
  await open(`${base}/settings/crm`);
  await screenFrom("#rate-limits", `${out}/overview-limit.png`);
  await fault("reset_daily_limit");
  await reconnect();
}

await open(`${base}/settings/crm/sync-activity`);
await page.screenshot({ path: `${out}/sync-activity.png`, fullPage: true });

// A contact run of the demo's history: names with their Conversion ids, skipped records with
// their messages.
await open(`${base}/settings/crm/sync-activity?direction=inbound&object=contact&status=completed`);
const contactRuns = await page.locator("tr.run-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-run-id")));
let runHref = null;
for (const id of contactRuns) {
  const { run, records } = await (await api(`/api/run?id=${id}`)).json();
  if (run.counts.skipped > 0 && records.some((r) => r.conversion_id?.startsWith("con_"))) {
    runHref = `/settings/crm/sync-activity/runs/${id}`;
    break;
  }
}
runHref ??= await page.locator("tr.run-row a.run-row__title").first().getAttribute("href");
await open(`${base}${runHref}`);
await page.screenshot({ path: `${out}/run.png`, fullPage: true });

await open(`${base}/settings/crm/sync-activity?direction=inbound`);
let failed = null;
for (let i = 0; i < 20 && !failed; i++) {
  failed = await page.locator("tr.run-row[data-status=failed] a.run-row__title").first().getAttribute("href", { timeout: 1000 }).catch(() => null);
  if (!failed) {
    const older = page.locator("a[rel=next]");
    if (!(await older.count())) break;
    await open(`${base}${await older.getAttribute("href")}`);
  }
}
if (failed) {
  await open(`${base}${failed}`);
  await page.screenshot({ path: `${out}/failed-run.png`, fullPage: true });
}

await page.setViewportSize(PHONE);
await open(`${base}/settings/crm/sync-activity`);
await page.screenshot({ path: `${out}/sync-activity-mobile.png`, fullPage: false });
await open(`${base}${runHref}`);
await page.screenshot({ path: `${out}/run-mobile.png`, fullPage: false });
await open(`${base}/settings/crm`);
await page.screenshot({ path: `${out}/overview-mobile.png`, fullPage: false });

if (emptyBase) {
  await page.setViewportSize(DESKTOP);
  await open(`${emptyBase}/settings/crm/sync-activity`);
  await page.screenshot({ path: `${out}/empty.png`, fullPage: true });
}
await browser.close();
