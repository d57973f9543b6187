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

    /// Fill an empty workspace with a realistic history and keep producing live runs.
    #[arg(long, env = "SYNC_DEMO", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Seed of the demo's random choices (the same seed gives the same history).
    #[arg(long, env = "SYNC_DEMO_SEED", default_value_t = 7)]
    pub demo_seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the local Salesforce org on its own and print its credentials as one JSON line.
    FakeOrg(server::fake_org::FakeOrgArgs),
}
