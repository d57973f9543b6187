import { test, expect, open, hydrated, expectAccessible, inWorkspace } from "./fixtures";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "../playwright.config";

// These tests start signed out.
test.use({ storageState: { cookies: [], origins: [] } });

const LIST = "/settings/crm/sync-activity";

async function signIn(page: import("@playwright/test").Page, email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a pasted deep link to a run opens that run after sign-in", async ({ page, browser }) => {
  // A colleague signed in finds a run and copies its address…
  const colleague = await browser.newContext({ storageState: "./.data/signed-in.json", timezoneId: "Europe/Berlin" });
  const theirs = await colleague.newPage();
  await open(theirs, LIST);
  const id = await theirs.locator("tr.run-row").first().getAttribute("data-run-id");
  await colleague.close();
  const link = `${LIST}/runs/${id}?status=success`;

  // …and whoever opens it signed out is asked to sign in first, then lands on that run.
  await open(page, link);
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByText("Sign in to open the page you were sent.")).toBeVisible();
  await expectAccessible(page);
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page).toHaveURL(new RegExp(`/runs/${id}\\?status=success$`));
  await hydrated(page);
  await expect(page.getByTestId("signed-in-as")).toContainText("Admin");
});

test("a wrong password says so and keeps where the person was going", async ({ page }) => {
  await open(page, `${LIST}?direction=outbound`);
  await signIn(page, ADMIN_EMAIL, "not the password");
  await hydrated(page);
  await expect(page.getByTestId("sign-in-error")).toHaveText(/do not match an account/);
  await expect(page).toHaveURL(/error=invalid&next=/);
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page).toHaveURL(new RegExp(`${LIST}\\?direction=outbound$`));
});

test("signing out ends the session: the pages and the API ask for sign-in again", async ({ page }) => {
  await open(page, "/settings/crm");
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/settings\/crm$/);
  await hydrated(page);
  expect((await page.request.get(inWorkspace("/api/runs"))).status()).toBe(200);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in\?signed_out=1$/);
  await expect(page.getByText("You are signed out.")).toBeVisible();
  expect((await page.request.get(inWorkspace("/api/runs"))).status()).toBe(401);
  await page.goto(inWorkspace(LIST));
  await expect(page).toHaveURL(/\/sign-in\?next=/);
});
