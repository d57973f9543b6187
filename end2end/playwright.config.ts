import { defineConfig } from "@playwright/test";

// Two servers from the same build: one with the live demo history, one with an empty workspace.
// Each starts on a fresh database under .data/ so every run sees the same situation.
// E2E_PORT moves both (default 3100 and 3101), so two checkouts can run their tests at once.
const DEMO_PORT = Number(process.env.E2E_PORT ?? 3100);
const EMPTY_PORT = DEMO_PORT + 1;
export const DEMO_URL = `http://127.0.0.1:${DEMO_PORT}`;
export const EMPTY_URL = `http://127.0.0.1:${EMPTY_PORT}`;

// The server binary the tests run (cargo's target directory); the site is always `target/site`
// (`site-root` in Cargo.toml).
const TARGET = process.env.CARGO_TARGET_DIR ?? "../target";

const server = (name: string, port: number, extra: string) => ({
  command: `rm -rf .data/${name} && ${TARGET}/debug/server --database .data/${name}/sync.db --addr 127.0.0.1:${port} ${extra}`,
  url: `http://127.0.0.1:${port}/settings/crm`,
  env: { LEPTOS_SITE_ROOT: "../target/site", RUST_LOG: "warn" },
  reuseExistingServer: false,
  timeout: 120_000,
});

export default defineConfig({
  testDir: "./tests",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: DEMO_URL,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
    timezoneId: "Europe/Berlin",
    locale: "en-US",
  },
  webServer: [server("demo", DEMO_PORT, "--demo-history true"), server("empty", EMPTY_PORT, "--demo false")],
});
