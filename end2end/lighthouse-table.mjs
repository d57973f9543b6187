// Lighthouse's JSON reports as Markdown tables: per page and preset, the median performance score
// of its runs (every run's score beside it) and that median run's metrics; then, for the median
// runs, the audits that cost points (score below 0.9), with what Lighthouse says they would save.
//
//   node lighthouse-table.mjs <report.json>...
import { readFileSync } from "node:fs";

const files = process.argv.slice(2);
const groups = new Map();
for (const file of files) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  const preset = report.configSettings.formFactor;
  const key = `${new URL(report.requestedUrl).pathname} ${preset}`;
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(report);
}

const score = (r) => Math.round(r.categories.performance.score * 100);
const metric = (r, id) => r.audits[id]?.displayValue?.replace(/\u00a0/g, " ") ?? "-";
const medianRun = (reports) => [...reports].sort((a, b) => score(a) - score(b))[Math.floor((reports.length - 1) / 2)];

// Lighthouse simulates a slower CPU by multiplying the time the page took here, so a machine busy
// with other work (a lower benchmark index) scores lower: the index is shown beside each score.
console.log("| Page | preset | score (median) | every run | CPU benchmark index (median run) | FCP | LCP | TBT | CLS | Speed Index |");
console.log("|---|---|---:|---|---:|---:|---:|---:|---:|---:|");
const costly = [];
for (const [key, reports] of groups) {
  const [path, preset] = key.split(" ");
  const m = medianRun(reports);
  const all = reports.map(score).join(", ");
  const metrics = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"].map((id) => metric(m, id));
  const index = Math.round(m.environment.benchmarkIndex);
  console.log(`| \`${path}\` | ${preset} | **${score(m)}** | ${all} | ${index} | ${metrics.join(" | ")} |`);
  for (const audit of Object.values(m.audits)) {
    if (audit.score === null || audit.score >= 0.9) continue;
    // Metrics below 0.9, and the opportunities that would save time; not the insights that only list.
    const savingsMs = Math.round(audit.details?.overallSavingsMs ?? 0);
    if (!(savingsMs > 0 || (audit.scoreDisplayMode === "numeric" && audit.displayValue))) continue;
    const saves = savingsMs > 0 ? `saves about ${savingsMs} ms` : audit.displayValue;
    costly.push(`| \`${path}\` | ${preset} | ${audit.title} | ${String(saves).replace(/\u00a0/g, " ")} |`);
  }
}
console.log("");
console.log("| Page | preset | audit below 0.9 (median run) | Lighthouse's figure |");
console.log("|---|---|---|---|");
if (costly.length === 0) console.log("| - | - | none | - |");
costly.forEach((r) => console.log(r));
