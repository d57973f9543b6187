// Takes the README's screenshots from a running server: node screenshots.mjs [base-url] [empty-base-url]
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const emptyBase = process.argv[3];
const out = new URL("../docs/screenshots/", import.meta.url).pathname;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, timezoneId: "America/New_York", locale: "en-US" });
const page = await context.newPage();
page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && console.log(`console ${m.type()}: ${m.text()}`));

async function open(url) {
  await page.goto(url);
  await page.waitForSelector("body[data-hydrated]");
  await page.waitForTimeout(300);
}

await open(`${base}/settings/crm`);
await page.screenshot({ path: `${out}/overview.png`, fullPage: true });

await open(`${base}/settings/crm/sync-activity`);
await page.screenshot({ path: `${out}/sync-activity.png`, fullPage: true });

const href = await page.locator("tr.run-row[data-status=completed] a.run-row__title").first().getAttribute("href");
await open(`${base}${href}`);
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

await page.setViewportSize({ width: 375, height: 812 });
await open(`${base}/settings/crm/sync-activity`);
await page.screenshot({ path: `${out}/sync-activity-mobile.png`, fullPage: false });

if (emptyBase) {
  await page.setViewportSize({ width: 1360, height: 900 });
  await open(`${emptyBase}/settings/crm/sync-activity`);
  await page.screenshot({ path: `${out}/empty.png`, fullPage: true });
}
await browser.close();
