//! Command-line and environment configuration. Every setting has a default that works on a fresh
//! machine; `server --help` documents them all.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "server", about = "Conversion Sync activity: pages, API and sync engine")]
pub struct Config {
    /// Run something other than the app (no subcommand: serve the app).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on (defaults to the site address in Cargo.toml, 127.0.0.1:3000).
    #[arg(long, env = "SYNC_ADDR")]
    pub addr: Option<SocketAddr>,

    /// SQLite database file; created and migrated on first start.
    #[arg(long, env = "SYNC_DATABASE", default_value = "data/sync-activity.db")]
    pub database: PathBuf,

    /// The workspace this server shows.
    #[arg(long, env = "SYNC_WORKSPACE", default_value = "acme")]
    pub workspace: String,

    /// Display name of the workspace.
    #[arg(long, env = "SYNC_WORKSPACE_NAME", default_value = "Acme Inc.")]
    pub workspace_name: String,

    /// Start the local Salesforce org in-process and run the sync engine against it, with the
    /// org's activity simulator and Conversion's change simulator on. `false`: no local org, no
    /// engine, no simulators (an empty server that only serves what is in the database).
    #[arg(long, env = "SYNC_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Seed an empty workspace with a 14-day history of runs (screenshots, paging tests).
    #[arg(long, env = "SYNC_DEMO_HISTORY", default_value_t = false, action = clap::ArgAction::Set)]
    pub demo_history: bool,

    /// Seed of the demo's random choices: the local org's data, its activity, the history.
    #[arg(long, env = "SYNC_DEMO_SEED", default_value_t = 7)]
    pub demo_seed: u64,

    /// Seconds between scheduled inbound syncs.
    #[arg(long, env = "SYNC_INTERVAL_SECS", default_value_t = 20)]
    pub sync_interval_secs: u64,

    /// While Salesforce's daily API limit pauses syncing, seconds between checks of `/limits`
    /// (one API request each) for requests to spare again; syncing resumes at the first that finds
    /// some, instead of waiting out the pause (15 minutes, 60 seconds in the demo).
    #[arg(long, env = "SYNC_LIMIT_CHECK_SECS", default_value_t = 30)]
    pub limit_check_secs: u64,

    /// Records per query page (Salesforce serves 200-2,000).
    #[arg(long, env = "SYNC_PAGE_SIZE", default_value_t = 2_000)]
    pub page_size: u32,

    /// Records the in-process local org is generated with.
    #[arg(long, env = "SYNC_ORG_RECORDS", default_value_t = 12_000)]
    pub org_records: usize,

    /// Latency the in-process org adds to every API response, so runs are visibly in progress.
    #[arg(long, env = "SYNC_ORG_LATENCY_MS", default_value_t = 300)]
    pub org_latency_ms: u64,

    /// Changes a minute made in the local org by simulated Salesforce users (0: none).
    #[arg(long, env = "SYNC_ORG_ACTIVITY_PER_MINUTE", default_value_t = 20)]
    pub org_activity_per_minute: u32,

    /// Changes a minute made in Conversion by the demo simulator, pushed as outbound runs (0: none).
    #[arg(long, env = "SYNC_CONVERSION_CHANGES_PER_MINUTE", default_value_t = 8)]
    pub conversion_changes_per_minute: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local Salesforce org on its own and print its credentials as one JSON line.
    FakeOrg(server::fake_org::FakeOrgArgs),
}
