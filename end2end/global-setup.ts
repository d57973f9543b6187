import { request } from "@playwright/test";
import { ADMIN_EMAIL, ADMIN_PASSWORD, DEMO_URL, EMPTY_URL, SIGNED_IN_STATE } from "./playwright.config";

/** Signs in to both test servers through the sign-in form, once, and keeps the session cookies
 * for every test (`use.storageState`). The servers are on different hosts (127.0.0.1 and
 * localhost), since cookies do not tell ports apart. */
export default async function globalSetup() {
  const context = await request.newContext();
  for (const base of [DEMO_URL, EMPTY_URL]) {
    const signedIn = await context.post(`${base}/sign-in`, {
      form: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, next: "/healthz" },
      // As the sign-in page's form sends it: the server takes changes only from its own pages.
      headers: { Origin: base },
    });
    if (!signedIn.ok() || !signedIn.url().endsWith("/healthz")) {
      throw new Error(`signing in at ${base} failed: ${signedIn.status()} ${signedIn.url()}`);
    }
  }
  await context.storageState({ path: SIGNED_IN_STATE });
  await context.dispose();
}
