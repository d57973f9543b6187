// The bytes a cold and a warm load of each page transfer, as Chromium counts them: the sum of
// `encodedDataLength` (headers and body as they crossed the wire, compressed) of every request
// the load makes, from the navigation until the page's islands have hydrated. Cold: a new
// browser profile (empty cache); warm: the same page opened again in that profile, as a person
// coming back does. Prints Markdown tables.
//
//   node page-weight.mjs <url> [<url>...]
import { chromium } from "@playwright/test";

const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error("usage: node page-weight.mjs <url> [<url>...]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

/** One load of `url` in `page`: every request it made, with its bytes on the wire. */
async function load(page, cdp, url) {
  const requests = new Map();
  const onResponse = (e) => {
    const r = requests.get(e.requestId) ?? {};
    const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    Object.assign(r, {
      url: e.response.url,
      status: e.response.status,
      encoding: headers["content-encoding"] ?? "",
      cacheControl: headers["cache-control"] ?? "",
      // Memory-cache hits are told by Network.requestServedFromCache, which may come first.
      fromCache: !!(r.fromCache || e.response.fromDiskCache || e.response.fromPrefetchCache || e.response.fromServiceWorker),
    });
    requests.set(e.requestId, r);
  };
  const onCached = (e) => requests.set(e.requestId, { ...(requests.get(e.requestId) ?? {}), fromCache: true });
  const onFinished = (e) => requests.set(e.requestId, { ...(requests.get(e.requestId) ?? {}), bytes: e.encodedDataLength });
  cdp.on("Network.responseReceived", onResponse);
  cdp.on("Network.requestServedFromCache", onCached);
  cdp.on("Network.loadingFinished", onFinished);
  await page.goto(url, { waitUntil: "load" });
  // Islands hydrate when the browser is idle: the Wasm is fetched by then.
  await page.waitForSelector("body[data-hydrated]");
  cdp.off("Network.responseReceived", onResponse);
  cdp.off("Network.requestServedFromCache", onCached);
  cdp.off("Network.loadingFinished", onFinished);
  return [...requests.values()].filter((r) => r.url && !r.url.startsWith("data:"));
}

const path = (u) => new URL(u).pathname;
const kb = (n) => n.toLocaleString("en-US");
const rows = [];
const details = [];
for (const url of urls) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  for (const [label, which] of [["cold", "first load, empty cache"], ["warm", "second load, same profile"]]) {
    const requests = await load(page, cdp, url);
    const bytes = requests.reduce((s, r) => s + (r.bytes ?? 0), 0);
    const cached = requests.filter((r) => r.fromCache).length;
    rows.push(`| \`${path(url)}\` | ${label} (${which}) | ${requests.length} | ${cached} | **${kb(bytes)}** |`);
    for (const r of requests) {
      details.push(`| \`${path(url)}\` | ${label} | \`${path(r.url)}\` | ${r.status} | ${r.fromCache ? "cache" : r.encoding || "none"} | ${r.cacheControl || "-"} | ${kb(r.bytes ?? 0)} |`);
    }
  }
  await context.close();
}
await browser.close();

console.log("| Page | Load | requests | from the cache | bytes transferred |");
console.log("|---|---|---:|---:|---:|");
rows.forEach((r) => console.log(r));
console.log("");
console.log("| Page | Load | request | status | encoding | Cache-Control | bytes |");
console.log("|---|---|---|---:|---|---|---:|");
details.forEach((r) => console.log(r));
