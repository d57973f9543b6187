import path from "node:path";
import { defineConfig } from "@playwright/test";

// Two servers from the same build: one with the live demo history, one with an empty workspace.
// Each starts on a fresh database under .data/ so every run sees the same situation.
// E2E_PORT moves both (default 3100 and 3101), so two checkouts can run their tests at once.
const DEMO_PORT = Number(process.env.E2E_PORT ?? 3100);
const EMPTY_PORT = DEMO_PORT + 1;
// Cookies do not tell ports apart: the empty server listens on another loopback address
// (127.0.0.2), so each server's session cookie stays its own.
const DEMO_HOST = "127.0.0.1";
const EMPTY_HOST = "127.0.0.2";
export const DEMO_URL = `http://${DEMO_HOST}:${DEMO_PORT}`;
export const EMPTY_URL = `http://${EMPTY_HOST}:${EMPTY_PORT}`;

// Both servers start with this first admin; global-setup.ts signs in as them once and every test
// starts signed in (tests of signing in itself start signed out).
export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "e2e admin password";
export const SIGNED_IN_STATE = ".data/signed-in.json";

// The server binary the tests run (cargo's target directory); the site is always `target/site`
// (`site-root` in Cargo.toml).
const TARGET = process.env.CARGO_TARGET_DIR ?? "../target";

// E2E_POSTGRES (a PostgreSQL server, `postgres://postgres@127.0.0.1:5432`) runs both servers on
// fresh PostgreSQL databases there (e2e_demo, e2e_empty) instead of SQLite files.
const POSTGRES = process.env.E2E_POSTGRES;
export const ON_POSTGRES = Boolean(POSTGRES);
const database = (name: string) =>
  POSTGRES
    ? `psql "${POSTGRES}/postgres" -qc "DROP DATABASE IF EXISTS e2e_${name} WITH (FORCE)" -qc "CREATE DATABASE e2e_${name}" && ` +
      `rm -rf .data/${name} && mkdir -p .data/${name} && cd .data/${name} && ` +
      `${TARGET.startsWith("/") ? TARGET : `../../${TARGET}`}/debug/server --database ${POSTGRES}/e2e_${name}`
    : `rm -rf .data/${name} && ${TARGET}/debug/server --database .data/${name}/sync.db`;

const server = (name: string, host: string, port: number, extra: string) => ({
  command: `${database(name)} --addr ${host}:${port} ${extra}`,
  url: `http://${host}:${port}/healthz`,
  env: {
    // Absolute: a server on PostgreSQL starts in its own folder under .data/.
    LEPTOS_SITE_ROOT: path.resolve("../target/site"),
    RUST_LOG: "warn",
    SYNC_ADMIN_PASSWORD: ADMIN_PASSWORD,
  },
  reuseExistingServer: false,
  timeout: 120_000,
});

export default defineConfig({
  testDir: "./tests",
  globalSetup: "./global-setup.ts",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  use: {
    baseURL: DEMO_URL,
    storageState: SIGNED_IN_STATE,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
    timezoneId: "Europe/Berlin",
    locale: "en-US",
  },
  webServer: [
    // progress.spec.ts makes 4,100 contacts in a burst, past the default of 600 changes a minute;
    // the limit itself is tested over HTTP in server/tests/rate_limits.rs.
    server("demo", DEMO_HOST, DEMO_PORT, "--demo --demo-history true --change-limit-per-minute 10000"),
    server("empty", EMPTY_HOST, EMPTY_PORT, "--demo false"),
  ],
});
