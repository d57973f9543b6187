import { test, expect, open, hydrated } from "./fixtures";

const LIST = "/settings/crm/sync-activity";

test("Retry on a failed outbound record pushes it again once the cause is fixed, in a Retry run linked to the first", async ({ page, request }) => {
  test.setTimeout(180_000);
  const { org_url } = await (await request.get("/api/sync/status")).json();
  const stamp = `${Date.now()}`;
  const blocked = `Blocked title ${stamp}`;
  // Salesforce refuses this title: the push of the contact fails on a validation rule.
  const rule = { object: "Contact", field: "Title", condition: { kind: "equals", value: blocked }, message: "Titles like this are not allowed" };
  expect((await request.post(`${org_url}/__fake_org/faults`, { data: { action: "add_validation_rule", rule } })).ok()).toBe(true);
  const settings = await (await request.get("/api/sync/settings")).json();
  try {
    const email = `retry.${stamp}@example.com`;
    const made = await request.post("/api/conversion/contacts", { data: { email, last_name: "Retry", title: blocked } });
    expect(made.status()).toBe(201);
    let failedRun = "";
    await expect
      .poll(async () => {
        const { records } = await (await request.get(`/api/records/search?record=${encodeURIComponent(email)}`)).json();
        const r = records[0];
        failedRun = r?.last_status === "failed" ? r.last_run : "";
        return failedRun;
      }, { timeout: 60_000 })
      .not.toBe("");

    // The cause goes: titles are no longer pushed to Salesforce.
    const fixed = await request.put("/api/sync/settings", {
      data: { ...settings, contact_fields: settings.contact_fields.filter((f: string) => f !== "title") },
    });
    expect(fixed.status()).toBe(200);

    await open(page, `${LIST}/runs/${failedRun}?status=failed`);
    await hydrated(page);
    const row = page.locator("tr.record-row").filter({ hasText: email });
    await expect(row.locator(".badge")).toHaveText(/Failed/);
    await row.getByTestId("retry").click();
    await expect(page.getByTestId("retried")).toContainText("1 record queued for the next push");

    // Retried again (before or after the first went through), it is not pushed twice.
    const again = await request.post(`/api/runs/${failedRun}/retry?seq=${await row.getAttribute("data-seq")}`);
    expect(again.status()).toBe(202);
    const second = await again.json();
    expect(second.retried).toBe(0);
    expect(second.already_queued + second.already_synced).toBe(1);

    // The record's story: the failure, then the retry's success, in a run triggered by Retry.
    await expect(async () => {
      await open(page, `${LIST}?record=${encodeURIComponent(email)}`);
      await expect(page.locator("tr.record-result .badge")).toHaveText(/Success/, { timeout: 1_000 });
    }).toPass({ timeout: 60_000 });
    await page.locator("tr.record-result a.record-row__label").click();
    const timeline = page.locator("[data-testid=timeline] tr.record-row");
    await expect(timeline.first()).toHaveAttribute("data-status", "success");
    await expect(timeline.first()).toContainText("Retry");
    await expect(timeline.last()).toHaveAttribute("data-status", "failed");
    await timeline.first().locator("a.timeline__run").click();
    await expect(page.getByTestId("retry-of")).toContainText(failedRun);
    await expect(page.locator(".run-summary__meta")).toContainText("Retry");
    // The pushes after the fix: exactly one retry run for the record.
    const { runs } = await (await request.get("/api/runs?direction=outbound&object=contact")).json();
    expect(runs.filter((r: any) => r.retry_of === failedRun)).toHaveLength(1);
  } finally {
    await request.put("/api/sync/settings", { data: settings });
    await request.post(`${org_url}/__fake_org/faults`, { data: { action: "clear" } });
  }
});

test("Retry all failed on an inbound run fetches the records again and applies them now", async ({ page, request }) => {
  test.setTimeout(120_000);
  // The local org's events include names with a NUL character, which Conversion refuses ("Failed
  // to encode data"): the newest inbound run with one, however far back the history holds it.
  const { runs } = await (await request.get("/api/runs?direction=inbound&object=event&message=encode_failed")).json();
  const withFailures = runs.find((r: any) => r.status === "completed" && r.counts.failed > 0);
  expect(withFailures, "an inbound run of events with a record Conversion could not encode").toBeTruthy();
  await open(page, `${LIST}/runs/${withFailures.id}?status=failed`);
  await hydrated(page);
  await page.getByTestId("retry-all").click();
  // The records are fetched again in a new Retry run, linked to the run retried; the NUL is still
  // in Salesforce, so that record fails again, with the same message.
  await expect(page).not.toHaveURL(new RegExp(`/runs/${withFailures.id}`));
  await expect(page.locator(".run-summary__meta")).toContainText(/Retry/);
  await expect(page.getByTestId("retry-of")).toContainText(withFailures.id);
  const retried = page.url().match(/\/runs\/([^/?#]+)/)![1];
  const { run } = await (await request.get(`/api/run?id=${retried}`)).json();
  expect(run.trigger).toBe("retry");
  expect(run.counts.failed).toBeGreaterThan(0);

  // Retrying is an admin's action the audit trail keeps.
  await open(page, "/settings/crm");
  await expect(page.getByTestId("audit-trail")).toContainText("retried failed records");
  await expect(page.getByTestId("audit-trail")).toContainText(`Run ${withFailures.id}, all failed`);
});
