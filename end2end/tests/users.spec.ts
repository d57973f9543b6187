import { test, expect, open, hydrated, expectAccessible, expectNoSidewaysScroll } from "./fixtures";

test("an admin invites a colleague, who joins through the link as a member and sees what members see", async ({ page, browser }) => {
  await open(page, "/settings/users");
  await expect(page.getByRole("heading", { name: "Users & permissions", level: 1 })).toBeVisible();
  await expect(page.getByTestId("members")).toContainText("admin@example.com");
  await expectAccessible(page);

  const email = `colleague-${Date.now()}@example.com`;
  await page.getByLabel("Their email").fill(email);
  await page.getByLabel("Role").selectOption("member");
  await page.getByRole("button", { name: "Create invitation" }).click();
  const link = (await page.getByTestId("invitation-link").textContent())!.trim();
  expect(link).toMatch(/\/invite\/cvs_/);
  await open(page, "/settings/users");
  await expect(page.getByTestId("invitations")).toContainText(email);

  // The colleague, signed out, in their own browser.
  const theirs = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const them = await theirs.newPage();
  await them.goto(link);
  await expect(them.getByRole("heading", { name: /^Join / })).toBeVisible();
  await expect(them.getByText(email)).toBeVisible();
  await expectAccessible(them);
  await them.getByLabel("Your name").fill("Casey Colleague");
  await them.getByLabel("Choose a password").fill("casey's long password");
  await them.getByRole("button", { name: "Create account and join" }).click();
  await expect(them).toHaveURL(/\/settings\/crm$/);
  await hydrated(them);
  await expect(them.getByTestId("signed-in-as")).toContainText("Casey Colleague");
  await expect(them.getByTestId("signed-in-as")).toContainText("Member");
  // A member reads the Overview; the admin's controls say who may use them.
  await expect(them.getByTestId("connection-card").getByTestId("admins-only")).toBeVisible();
  await expect(them.getByTestId("connect")).toHaveCount(0);
  await expect(them.getByTestId("audit-trail")).toHaveCount(0);
  await expect(them.getByTestId("api-tokens")).toHaveCount(0);
  // The link was for once.
  await them.goto(link);
  await expect(them.getByRole("heading", { name: "This invitation cannot be used" })).toBeVisible();
  await theirs.close();

  // The admin sees them joined, and it in the audit trail.
  await open(page, "/settings/users");
  await expect(page.getByTestId("members")).toContainText(email);
  await open(page, "/settings/crm");
  await expect(page.getByTestId("audit-trail")).toContainText("joined through an invitation");
});

test("Users & permissions fits a 375 px window", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 812 });
  await open(page, "/settings/users");
  await expectNoSidewaysScroll(page);
  await expectAccessible(page);
});
