import { test, expect, open, hydrated, expectAccessible } from "./fixtures";
import { ADMIN_PASSWORD } from "../playwright.config";

// The demo server holds two workspaces, Acme and Globex, each syncing with its own local org.
// The test admin is an admin of both; the demo's member (member@example.com, the same password)
// is a member of Acme only.
const MEMBER_EMAIL = "member@example.com";

test("the product bar switches workspace, and each shows its own runs", async ({ page }) => {
  await open(page, "/w/acme/settings/crm/sync-activity");
  await expect(page.getByTestId("workspace-name")).toHaveText("Acme Inc.");
  const acmeRun = await page.locator("tr.run-row").first().getAttribute("data-run-id");

  const switcher = page.getByTestId("workspace-switcher");
  await switcher.locator("summary").click();
  await expect(switcher.getByRole("link", { name: /Acme Inc\./ })).toHaveAttribute("aria-current", "page");
  await expectAccessible(page);
  await switcher.getByRole("link", { name: /Globex Corporation/ }).click();
  await expect(page).toHaveURL(/\/w\/globex\/settings\/crm$/);
  await hydrated(page);
  await expect(page.getByTestId("workspace-name")).toHaveText("Globex Corporation");

  // Globex's own history: its runs are not Acme's, and its links stay in Globex.
  await page.getByRole("link", { name: "Sync activity", exact: true }).click();
  await expect(page).toHaveURL(/\/w\/globex\/settings\/crm\/sync-activity$/);
  await hydrated(page);
  const first = page.locator("tr.run-row").first();
  await expect(first).toBeVisible();
  expect(await first.getAttribute("data-run-id")).not.toBe(acmeRun);
  await first.locator("a").first().click();
  await expect(page).toHaveURL(/\/w\/globex\/settings\/crm\/sync-activity\/runs\//);
  await hydrated(page);
  await expect(page.getByTestId("workspace-name")).toHaveText("Globex Corporation");
});

test("a run's link opens for a member of its workspace, and is not found for anyone else", async ({ page, browser }) => {
  // The admin copies a Globex run's address.
  await open(page, "/w/globex/settings/crm/sync-activity");
  const id = await page.locator("tr.run-row").first().getAttribute("data-run-id");
  const link = `/w/globex/settings/crm/sync-activity/runs/${id}`;
  await open(page, link);
  await expect(page.getByTestId("workspace-name")).toHaveText("Globex Corporation");

  // A member of Acme only, signed out, opens it: sign-in first, then the same "not found" as an
  // address that leads nowhere.
  const theirs = await browser.newContext({ storageState: { cookies: [], origins: [] }, timezoneId: "Europe/Berlin" });
  const member = await theirs.newPage();
  await member.goto(link);
  await expect(member).toHaveURL(/\/sign-in\?next=/);
  await member.getByLabel("Email").fill(MEMBER_EMAIL);
  await member.getByLabel("Password").fill(ADMIN_PASSWORD);
  const [answer] = await Promise.all([
    member.waitForResponse((r) => r.url().endsWith(link)),
    member.getByRole("button", { name: "Sign in" }).click(),
  ]);
  expect(answer.status()).toBe(404);
  await expect(member.getByRole("heading", { name: "Page not found" })).toBeVisible();
  const notFound = await member.locator("main").innerText();
  const nowhere = await member.goto("/w/no-such-workspace/settings/crm");
  expect(nowhere!.status()).toBe(404);
  expect(await member.locator("main").innerText()).toBe(notFound);

  // Their own workspace opens as always, without a switcher (they are in one).
  await member.goto("/settings/crm");
  await expect(member).toHaveURL(/\/w\/acme\/settings\/crm$/);
  await hydrated(member);
  await expect(member.getByTestId("workspace-name")).toHaveText("Acme Inc.");
  await expect(member.getByTestId("workspace-switcher")).toHaveCount(0);
  await theirs.close();
});

test("an old address without a workspace asks which one, for someone in several", async ({ page }) => {
  await page.goto("/settings/crm/sync-activity?direction=inbound");
  await expect(page).toHaveURL(/\/workspaces\?next=/);
  await expect(page.getByRole("heading", { name: "Choose a workspace" })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("link", { name: /Globex Corporation/ }).click();
  await expect(page).toHaveURL(/\/w\/globex\/settings\/crm\/sync-activity\?direction=inbound$/);
  await hydrated(page);
});
