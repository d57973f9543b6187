import { execFileSync } from "node:child_process";
import { test, expect, open } from "./fixtures";

// The demo server's write-ahead log (playwright.config.ts starts it on .data/demo/sync.db). Made
// immutable, every write to the database fails, as on a full or read-only disk, root's included:
// this needs root with CAP_LINUX_IMMUTABLE and a file system with the immutable flag.
const WAL = ".data/demo/sync.db-wal";

test("a database that cannot be written shows on the Overview's health card until it can again", async ({ page, request }) => {
  execFileSync("chattr", ["+i", WAL]);
  try {
    // A change the database cannot take is refused with a reason, and the server notes why.
    const refused = await request.post("/api/conversion/contacts", { data: { email: "outage@example.org", last_name: "Outage" } });
    expect(refused.status()).toBe(503);
    expect((await refused.json()).error).toMatch(/^The change was not saved: /);

    await open(page, "/settings/crm");
    const alert = page.getByTestId("health-card").getByTestId("storage-problem");
    await expect(alert).toBeVisible();
    await expect(alert.getByRole("heading")).toHaveText("Conversion's database cannot be written");
    await expect(alert).toContainText("sync.db");
    await expect(alert).toContainText("carry on from the last saved batch on their own");
  } finally {
    execFileSync("chattr", ["-i", WAL]);
  }
  // Writable again: the card's own poll takes the alert away, without a reload.
  await expect(page.getByTestId("storage-problem")).toHaveCount(0, { timeout: 30_000 });
  const accepted = await request.post("/api/conversion/contacts", { data: { email: "after.outage@example.org", last_name: "Outage" } });
  expect(accepted.status()).toBe(201);
});
