import { test as base, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

/** The demo server's test admin is an admin of both demo workspaces (Acme and Globex), so the
 * tests name Acme in their addresses, as the product's own links do. */
export const WORKSPACE = "/w/acme";

/** An address of the app (`/settings/…`, `/api/…`) in Acme; anything else as it is. */
export function inWorkspace(url: string): string {
  return /^\/(settings|api)(\/|\?|$)/.test(url) ? WORKSPACE + url : url;
}

/** Every page under test, including pages a test opens itself (a pasted link in a new tab), must
 * keep the console free of errors and warnings. */
export const test = base.extend<{ consoleProblems: string[] }>({
  /** The API as the signed-in test admin's pages call it: with the site's `Origin` (the server
   * refuses changes that carry neither `Origin` nor an API token). */
  request: async ({ playwright, baseURL, storageState }, use) => {
    const request = await playwright.request.newContext({ baseURL, storageState, extraHTTPHeaders: { Origin: baseURL! } });
    // Its calls of the app's own addresses go to Acme's.
    const calls = new Set(["get", "post", "put", "patch", "delete", "head", "fetch"]);
    const inAcme = new Proxy(request, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        if (typeof name === "string" && calls.has(name)) {
          return (url: unknown, options?: unknown) =>
            value.call(target, typeof url === "string" ? inWorkspace(url) : url, options);
        }
        return value.bind(target);
      },
    });
    await use(inAcme);
    await request.dispose();
  },
  consoleProblems: [
    async ({ page, context, javaScriptEnabled }, use) => {
      const problems: string[] = [];
      const watch = (p: Page) => {
        p.on("console", (m) => {
          if (m.type() !== "error" && m.type() !== "warning") return;
          // A 404 page is itself a 404 response, which Chromium logs; that is the page working.
          if (/status of 404/.test(m.text()) && m.location().url === p.url()) return;
          // Without JavaScript the preloaded Wasm is never used, and Chromium says so.
          if (!javaScriptEnabled && /preloaded using link preload but not used/.test(m.text())) return;
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
  const response = await page.goto(inWorkspace(url));
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

/** axe (WCAG 2.x A and AA rules and axe's best practices) finds no serious or critical problem
 * on the page as it is now. */
export async function expectAccessible(page: Page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const problems = violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(" | ")}`);
  expect(problems, `axe on ${page.url()}`).toEqual([]);
}

/** The page is no wider than the window: nothing is hidden off its right edge. */
export async function expectNoSidewaysScroll(page: Page) {
  const { scroll, window } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, window: innerWidth }));
  expect(scroll, `page width at a ${window} px window (${page.url()})`).toBeLessThanOrEqual(window);
}

/** Within each element matching `parents`, no child's painted content (its text included, where
 * it runs out of its box) overlaps another child's. */
export async function expectNoOverlap(page: Page, parents: string) {
  const overlaps = await page.locator(parents).evaluateAll((els) => {
    const found: string[] = [];
    for (const parent of els) {
      const boxes = [...parent.children].map((child) => {
        const range = document.createRange();
        range.selectNodeContents(child);
        return { child, r: range.getBoundingClientRect() };
      }).filter(({ r }) => r.width > 0 && r.height > 0);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i].r, boxes[j].r];
          const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (x > 0.5 && y > 0.5) {
            const name = (e: Element) => (e.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 40);
            found.push(`"${name(boxes[i].child)}" overlaps "${name(boxes[j].child)}" by ${x.toFixed(0)}×${y.toFixed(0)} px`);
          }
        }
      }
    }
    return found;
  });
  expect(overlaps, `overlapping neighbours in ${parents}`).toEqual([]);
}
