import { test as base, expect, Page } from "@playwright/test";

/** Every page under test, including pages a test opens itself (a pasted link in a new tab), must
 * keep the console free of errors and warnings. */
export const test = base.extend<{ consoleProblems: string[] }>({
  consoleProblems: [
    async ({ page, context }, use) => {
      const problems: string[] = [];
      const watch = (p: Page) => {
        p.on("console", (m) => {
          if (m.type() !== "error" && m.type() !== "warning") return;
          // A 404 page is itself a 404 response, which Chromium logs; that is the page working.
          if (/status of 404/.test(m.text()) && m.location().url === p.url()) return;
          // Salesforce's own consent page (the local org's) is not ours to keep clean.
          if (p.url().includes("/services/oauth2/")) return;
          problems.push(`${m.type()}: ${m.text()} (${m.location().url})`);
        });
        p.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      };
      watch(page);
      context.on("page", watch);
      await use(problems);
      expect(problems, "browser console must stay clean").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** Opens a page and waits until it is hydrated (interactive). */
export async function open(page: Page, url: string) {
  const response = await page.goto(url);
  await hydrated(page);
  return response;
}

/** Waits until the current page's islands are hydrated: after a navigation, before the next
 * interaction (each address is a page load of its own). */
export async function hydrated(page: Page) {
  await page.waitForSelector("body[data-hydrated]");
}

/** The offset ("+01:00") a zone has at an instant, as the filter bar sends it. */
export function offsetIn(timeZone: string, at: Date = new Date()): string {
  const name = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(at)
    .find((p) => p.type === "timeZoneName")!.value; // "GMT+01:00", or "GMT" for zero
  return name === "GMT" ? "+00:00" : name.slice(3);
}

/** What Intl says the instant looks like in a zone, in the app's display format. */
export function inZone(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-US", {
    timeZone, month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit",
  }).format(new Date(iso)).replace(/\u202f/g, " ");
}
