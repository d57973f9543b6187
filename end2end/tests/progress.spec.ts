import { test, expect, open } from "./fixtures";

const LIST = "/settings/crm/sync-activity";

/** The counts of a run row's progress line, "2,000 of 4,132 records". */
function counts(text: string): [number, number] | null {
  const m = /([\d,]+) of ([\d,]+) records?/.exec(text);
  return m ? [Number(m[1].replace(/,/g, "")), Number(m[2].replace(/,/g, ""))] : null;
}

test("an inbound run of several pages shows its records growing while it runs, without a reload", async ({ page, request }) => {
  test.setTimeout(300_000);
  const { org_url } = await (await request.get("/api/sync/status")).json();
  expect(org_url).toBeTruthy();
  const fault = async (data: object) => expect((await request.post(`${org_url}/__fake_org/faults`, { data })).ok()).toBe(true);
  const settings = await (await request.get("/api/sync/settings")).json();
  // Contacts leave the schedule while the test makes 4,100 of them in Conversion: pushed to
  // Salesforce, they come back in one inbound contact sync of three pages, which the test starts
  // itself once the org answers slowly.
  const put = await request.put("/api/sync/settings", {
    data: { ...settings, inbound_objects: settings.inbound_objects.filter((o: string) => o !== "contact") },
  });
  expect(put.status()).toBe(200);
  try {
    const stamp = Date.now();
    for (let i = 0; i < 4_100; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const r = await request.post("/api/conversion/contacts", {
            data: { email: `progress.${stamp}.${i + j}@example.com`, last_name: `Progress ${i + j}` },
          });
          expect(r.status()).toBe(201);
        }),
      );
    }
    await expect
      .poll(async () => (await (await request.get("/api/sync/status")).json()).outbox_pending, { timeout: 180_000 })
      .toBe(0);

    await fault({ action: "set_latency", ms: 5_000 });
    const known = new Set(
      (await (await request.get("/api/runs?direction=inbound&object=contact")).json()).runs.map((r: any) => r.id),
    );
    expect((await request.post("/api/sync/now?object=contact")).status()).toBe(202);
    let id = "";
    await expect
      .poll(async () => {
        const { runs } = await (await request.get("/api/runs?direction=inbound&object=contact&status=in_progress")).json();
        id = runs.map((r: any) => r.id).find((r: string) => !known.has(r)) ?? "";
        return id;
      }, { timeout: 30_000 })
      .not.toBe("");

    await open(page, `${LIST}?direction=inbound&object=contact`);
    await page.evaluate(() => ((window as any).__noReload = true));
    const row = page.locator(`tr.run-row[data-run-id="${id}"]`);
    const progress = row.getByTestId("progress");
    // Every count the row showed while in progress, as the page's own polling changed it.
    const shown: [number, number][] = [];
    await expect
      .poll(async () => {
        const status = await row.getAttribute("data-status");
        if (status === "in_progress") {
          const c = counts((await progress.textContent()) ?? "");
          if (c && !shown.some(([n]) => n === c[0])) shown.push(c);
        }
        return status;
      }, { timeout: 90_000, intervals: [200] })
      .toMatch(/completed|failed/);
    await expect(row).toHaveAttribute("data-status", "completed");
    const total = shown[0]?.[1] ?? 0;
    expect(total).toBeGreaterThan(4_000);
    const between = shown.map(([n]) => n).filter((n) => n > 0 && n < total);
    expect(between.length, `counts shown: ${JSON.stringify(shown)}`).toBeGreaterThanOrEqual(2);
    expect(between).toEqual([...between].sort((a, b) => a - b));
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  } finally {
    await fault({ action: "set_latency", ms: 300 });
    await request.put("/api/sync/settings", { data: settings });
  }
});
