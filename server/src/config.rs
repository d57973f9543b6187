//! Command-line and environment configuration. Every setting has a default that works on a fresh
//! machine; `server --help` documents them all.

use crate::salesforce::ClientConfig;
use crate::secret::Secret;
use clap::{Args, Parser, Subcommand};
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

    /// Host names the server answers to (the `Host` a browser sends), comma-separated; others get
    /// 421 (a defence against DNS rebinding). Default: localhost, 127.0.0.1, [::1] and the
    /// address listened on. `*`: any (behind a proxy that checks it).
    #[arg(long, env = "SYNC_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// The database: a SQLite file (created on first start), or a PostgreSQL address
    /// (`postgres://user@host:5432/database`, for several servers sharing one database). Either is
    /// migrated at start.
    #[arg(long, env = "SYNC_DATABASE", default_value = "data/sync-activity.db")]
    pub database: PathBuf,

    /// Keys that seal the stored refresh tokens: `id:base64` entries (32-byte keys), the active
    /// one first, older ones after it until `server rekey` has sealed everything again
    /// (`server keygen ID` prints a new entry). Without it and --keys-file, a key file beside the
    /// database (`<database>.keys`) is used, made on first start.
    #[arg(long, env = "SYNC_KEYS", hide_env_values = true)]
    pub keys: Option<Secret>,

    /// A file of such keys, one a line (`#` starts a comment).
    #[arg(long, env = "SYNC_KEYS_FILE")]
    pub keys_file: Option<PathBuf>,

    /// The first workspace: made at first start with the first admin in it (and where `server
    /// adduser` adds people). Its id is the `{workspace}` of its addresses (`/w/acme/…`):
    /// lowercase letters, digits and dashes.
    #[arg(long, env = "SYNC_WORKSPACE", default_value = DEFAULT_WORKSPACE, value_parser = parse_workspace)]
    pub workspace: String,

    /// Display name of the first workspace.
    #[arg(long, env = "SYNC_WORKSPACE_NAME", default_value = "Acme Inc.")]
    pub workspace_name: String,

    /// The first admin's email: a server without accounts makes this one, an admin of the
    /// workspace, at start (`server adduser` adds more).
    #[arg(long, env = "SYNC_ADMIN_EMAIL", default_value = "admin@example.com")]
    pub admin_email: String,

    /// The first admin's password (at least 10 characters). Without it a random one is made and
    /// kept in `<database>.first-admin`, readable by its owner only, until `server adduser` sets
    /// another.
    #[arg(long, env = "SYNC_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,

    /// Mark the sign-in cookie `Secure`, so browsers send it over https only. Set it when the
    /// server is reached through https (a TLS proxy in front of it).
    #[arg(long, env = "SYNC_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,

    /// Days a sign-in lasts without being used.
    #[arg(long, env = "SYNC_SESSION_DAYS", default_value_t = 14)]
    pub session_days: u32,

    /// Changes (Conversion writes, settings, invitations, Sync now) each person may make in a
    /// workspace, and each API token, per minute; past it the server answers 429 (0: no limit).
    #[arg(long, env = "SYNC_CHANGE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub change_limit_per_minute: u32,

    /// This server's name among several sharing one database: the leases of the sync work it
    /// holds carry it, and a run it left in progress when it stopped names it.
    #[arg(long, env = "SYNC_INSTANCE_NAME", default_value_t = crate::sync::default_instance_name())]
    pub instance_name: String,

    /// Seconds a server's hold on a piece of sync work (an object's inbound sync, a workspace's
    /// pushes) lasts without being renewed; past it another server takes the work over.
    #[arg(long, env = "SYNC_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u64,

    /// The demo: two workspaces (the first, and Globex) each with a local Salesforce org
    /// in-process, the sync engines against them, the orgs' activity and Conversion's change
    /// simulators, and a member beside the first admin. Without it (and without `--salesforce-*`)
    /// the server starts with no org and syncs nothing until one is connected.
    #[arg(long, env = "SYNC_DEMO", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
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

    /// Records per backfill run (the help article's ~50,000): a backfill through a Bulk API 2.0
    /// query job reads its results in sets of this many, one run each.
    #[arg(long, env = "SYNC_BACKFILL_BATCH_SIZE", default_value_t = 50_000)]
    pub backfill_batch_size: usize,

    /// A backfill of an object holding more records than this reads them through one Salesforce
    /// Bulk API 2.0 query job (a handful of API requests for any number of records) instead of
    /// REST query pages (one request per 2,000 records); 0: always REST pages.
    #[arg(long, env = "SYNC_BULK_THRESHOLD", default_value_t = 10_000)]
    pub bulk_threshold: u64,

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

    /// Where people reach this server, e.g. https://sync.example.com (behind a proxy, its
    /// address there): the run links in alerts start with it. Default: http://localhost and the
    /// port listened on.
    #[arg(long, env = "SYNC_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Seconds to wait between the attempts of an alert its webhook did not take (no answer, or
    /// not 2xx), comma-separated; after the last, the alert is given up.
    #[arg(long, env = "SYNC_ALERT_BACKOFF_SECS", value_delimiter = ',', value_parser = parse_secs,
          default_values_t = app::domain::alerts::DEFAULT_BACKOFF_SECS.map(|s| s as f64))]
    pub alert_backoff_secs: Vec<f64>,

    /// Milliseconds between the alert task's looks for finished runs and alerts due.
    #[arg(long, env = "SYNC_ALERT_POLL_MS", default_value_t = 2_000)]
    pub alert_poll_ms: u64,

    /// Seconds a webhook has to answer an alert before the attempt counts as failed.
    #[arg(long, env = "SYNC_ALERT_TIMEOUT_SECS", default_value_t = 10)]
    pub alert_timeout_secs: u64,

    #[command(flatten)]
    pub salesforce: SalesforceArgs,
}

/// A real Salesforce org. With a client id the server syncs with that org (and never starts the
/// local one); without, `--demo` decides.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "A real Salesforce org")]
pub struct SalesforceArgs {
    /// The connected app's consumer key. Set: sync with that org instead of the local one.
    #[arg(long = "salesforce-client-id", env = "SALESFORCE_CLIENT_ID")]
    pub client_id: Option<String>,

    /// The connected app's consumer secret.
    #[arg(
        long = "salesforce-client-secret",
        env = "SALESFORCE_CLIENT_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    pub client_secret: Secret,

    /// `https://login.salesforce.com`, `https://test.salesforce.com` for a sandbox, or a My
    /// Domain URL.
    #[arg(
        long = "salesforce-login-url",
        env = "SALESFORCE_LOGIN_URL",
        default_value = "https://login.salesforce.com"
    )]
    pub login_url: String,

    /// A refresh token obtained elsewhere; without it, the one saved by an earlier Connect, or
    /// Connect on the Overview.
    #[arg(
        long = "salesforce-refresh-token",
        env = "SALESFORCE_REFRESH_TOKEN",
        hide_env_values = true,
        default_value = ""
    )]
    pub refresh_token: Secret,

    /// REST API version, `62.0` or `v62.0` (default: the client's, 62.0).
    #[arg(long = "salesforce-api-version", env = "SALESFORCE_API_VERSION")]
    pub api_version: Option<String>,

    /// The callback registered in the connected app (default: this server's address as the
    /// browser reaches it, plus `/settings/crm/salesforce/callback`).
    #[arg(long = "salesforce-redirect-uri", env = "SALESFORCE_REDIRECT_URI")]
    pub redirect_uri: Option<String>,
}

impl Config {
    /// The alert task's settings; `addr`: where the server listens (the default public address).
    pub fn alerts(&self, addr: std::net::SocketAddr) -> crate::alerts::AlertsConfig {
        let public_url = match self.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://localhost:{}", addr.port()),
        };
        crate::alerts::AlertsConfig {
            poll: std::time::Duration::from_millis(self.alert_poll_ms.max(10)),
            backoff: self
                .alert_backoff_secs
                .iter()
                .map(|s| std::time::Duration::from_secs_f64(*s))
                .collect(),
            timeout: std::time::Duration::from_secs(self.alert_timeout_secs.max(1)),
            public_url,
            instance: self.instance_name.clone(),
            lease_ttl_ms: i64::try_from(self.lease_secs.max(1).saturating_mul(1_000))
                .unwrap_or(i64::MAX),
        }
    }

    /// Where the database is (`--database`): a SQLite file or a PostgreSQL address.
    pub fn location(&self) -> app::store::Location {
        match self.database.to_str() {
            Some(s) => app::store::Location::parse(s),
            None => app::store::Location::File(self.database.clone()),
        }
    }

    /// The path the server's own files are named after (`<this>.keys`, `<this>.first-admin`): the
    /// SQLite file, or for a PostgreSQL database `data/<its name>` (servers sharing a database on
    /// one machine then share those files too).
    pub fn files_base(&self) -> PathBuf {
        match self.location() {
            app::store::Location::File(path) => path,
            app::store::Location::Postgres(url) => {
                let name = url
                    .split('?')
                    .next()
                    .and_then(|u| u.rsplit_once('/'))
                    .map(|(_, db)| db)
                    .filter(|db| !db.is_empty() && !db.contains('@') && !db.contains(':'))
                    .unwrap_or("postgres");
                PathBuf::from("data").join(name)
            }
        }
    }
}

impl SalesforceArgs {
    /// The client's configuration, when a client id is given.
    pub fn client_config(&self) -> Option<ClientConfig> {
        let client_id = self.client_id.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        let mut config =
            ClientConfig::new(self.login_url.trim(), client_id, self.client_secret.clone());
        if let Some(v) = self.api_version.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            config.api_version = v.trim_start_matches('v').to_string();
        }
        config.redirect_uri = self.redirect_uri.clone().filter(|s| !s.is_empty());
        Some(config)
    }
}

/// A wait in seconds (fractions allowed): not negative, at most a day.
fn parse_secs(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err("seconds from 0 to 86400, e.g. 10,60,300,1800".to_string()),
    }
}

fn parse_role(s: &str) -> Result<app::domain::access::Role, String> {
    app::domain::access::Role::parse(s).ok_or_else(|| "admin or member".to_string())
}

/// The first workspace's id unless `--workspace` names another.
pub const DEFAULT_WORKSPACE: &str = "acme";

/// A workspace id as its addresses carry it: 1 to 40 lowercase letters, digits and dashes.
pub fn parse_workspace(s: &str) -> Result<String, String> {
    let ok = (1..=40).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-');
    if ok {
        Ok(s.to_string())
    } else {
        Err("1 to 40 lowercase letters, digits and dashes, e.g. acme".to_string())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seal every stored secret with the active key (after adding a new key in front), then exit.
    Rekey,
    /// Add a workspace (its id as --workspace takes it, and its display name), then exit.
    Addworkspace {
        #[arg(value_parser = parse_workspace)]
        id: String,
        /// The name the product bar shows.
        #[arg(long)]
        name: String,
    },
    /// Add a person to the workspace (--workspace), or set a new password and role for one who
    /// has an account. The password is read from SYNC_PASSWORD, else from the first line of
    /// standard input.
    Adduser {
        /// Their email, which they sign in with.
        email: String,
        /// Their name, as the product bar shows it (default: the email's part before the @).
        #[arg(long)]
        name: Option<String>,
        /// admin (connects Salesforce, changes settings) or member (reads everything).
        #[arg(long, default_value = "member", value_parser = parse_role)]
        role: app::domain::access::Role,
    },
    /// Print a new key entry (`ID:base64`) for --keys or a key file, then exit.
    Keygen {
        /// The key's id, e.g. the month it was made: 2026-12.
        id: String,
    },
    /// Run the local Salesforce org on its own and print its credentials as one JSON line.
    #[cfg(feature = "local-org")]
    FakeOrg(Box<crate::fake_org::FakeOrgArgs>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn salesforce_settings_come_from_flags_and_their_secrets_stay_out_of_debug() {
        let config = Config::try_parse_from([
            "server",
            "--salesforce-client-id",
            "3MVG9",
            "--salesforce-client-secret",
            "s3cr3t",
            "--salesforce-refresh-token",
            "5Aep861",
            "--salesforce-api-version",
            "v61.0",
        ])
        .unwrap();
        let client = config.salesforce.client_config().expect("a client id makes a client");
        assert_eq!((client.client_id.as_str(), client.api_version.as_str()), ("3MVG9", "61.0"));
        assert_eq!(client.client_secret.expose(), "s3cr3t");
        assert_eq!(config.salesforce.refresh_token.expose(), "5Aep861");
        let printed = format!("{config:?} {client:?}");
        assert!(!printed.contains("s3cr3t") && !printed.contains("5Aep861"), "{printed}");
    }

    #[test]
    fn alerts_take_a_backoff_schedule_and_a_public_address() {
        let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let default = Config::try_parse_from(["server"]).unwrap().alerts(addr);
        let secs: Vec<u64> = default.backoff.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, [10, 60, 300, 1_800]);
        assert_eq!(default.public_url, "http://localhost:3000");
        let given = Config::try_parse_from([
            "server",
            "--alert-backoff-secs",
            "0.5,2",
            "--public-url",
            "https://sync.example.com/",
        ])
        .unwrap()
        .alerts(addr);
        assert_eq!(given.backoff, [Duration::from_millis(500), Duration::from_secs(2)]);
        assert_eq!(given.public_url, "https://sync.example.com");
        assert!(Config::try_parse_from(["server", "--alert-backoff-secs", "10,-1"]).is_err());
    }

    #[test]
    fn without_a_client_id_there_is_no_real_org() {
        let config = Config::try_parse_from(["server"]).unwrap();
        assert!(config.salesforce.client_config().is_none());
    }
}
