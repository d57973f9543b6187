//! `server fake-org`: the local org on its own, for demos and for pointing other Salesforce
//! clients at it. Prints one JSON line of credentials once it listens.

use super::faults::{FaultCommand, ValidationRule};
use super::OrgConfig;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct FakeOrgArgs {
    /// Address to listen on.
    #[arg(long, env = "FAKE_ORG_ADDR", default_value = "127.0.0.1:7700")]
    pub addr: SocketAddr,

    /// Records generated at start (up to 1,000,000 for benchmarks).
    #[arg(long, env = "FAKE_ORG_RECORDS", default_value_t = 5_000)]
    pub records: usize,

    /// Seed of the generated data and of the refresh token (same seed, same org).
    #[arg(long, env = "FAKE_ORG_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Connected app consumer key.
    #[arg(long, env = "FAKE_ORG_CLIENT_ID", default_value = "3MVG9LocalOrgConversionSyncClientId")]
    pub client_id: String,

    /// Connected app consumer secret.
    #[arg(long, env = "FAKE_ORG_CLIENT_SECRET", default_value = "local-org-secret")]
    pub client_secret: String,

    /// API requests allowed in any rolling 24 hours.
    #[arg(long, env = "FAKE_ORG_DAILY_API_LIMIT", default_value_t = 100_000)]
    pub daily_api_limit: u64,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "FAKE_ORG_SESSION_TIMEOUT_SECS", default_value_t = 7_200)]
    pub session_timeout_secs: u64,

    /// Records created, updated or deleted per minute by simulated users.
    #[arg(long, env = "FAKE_ORG_ACTIVITY_PER_MINUTE", default_value_t = 30)]
    pub activity_per_minute: u32,

    /// Fault: milliseconds added to every API response.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,

    /// Fault: the first N API requests answer 500.
    #[arg(long, default_value_t = 0)]
    pub fail_next: u32,

    /// Fault: an object the integration user may not read (repeatable).
    #[arg(long = "unreadable")]
    pub unreadable: Vec<String>,

    /// Fault: an object the integration user may not write (repeatable).
    #[arg(long = "readonly")]
    pub readonly: Vec<String>,

    /// Fault: a record ID locked for every write (repeatable).
    #[arg(long = "lock")]
    pub lock: Vec<String>,

    /// Fault: a validation rule, `Object:Field:blank|equals=V|contains=V:Message` (repeatable).
    #[arg(long = "validation-rule", value_parser = ValidationRule::parse_cli)]
    pub validation_rules: Vec<ValidationRule>,

    /// Fault: start with the daily API allowance used up.
    #[arg(long)]
    pub exhaust_daily_limit: bool,

    /// Fault: start with every token revoked, the printed refresh token included, so the first
    /// refresh fails with `invalid_grant` (what a client sees after an admin revokes access).
    #[arg(long)]
    pub revoke_tokens: bool,

    /// Fault: milliseconds every API response is held after the org has done the work (a slow
    /// or lost answer whose write still happened).
    #[arg(long, default_value_t = 0)]
    pub delay_responses_ms: u64,
}

impl FakeOrgArgs {
    pub fn org_config(&self) -> OrgConfig {
        let mut faults: Vec<FaultCommand> = Vec::new();
        if self.latency_ms > 0 {
            faults.push(FaultCommand::SetLatency { ms: self.latency_ms });
        }
        if self.fail_next > 0 {
            faults.push(FaultCommand::FailNext { count: self.fail_next });
        }
        faults.extend(
            self.unreadable.iter().map(|o| FaultCommand::MakeUnreadable { object: o.clone() }),
        );
        faults
            .extend(self.readonly.iter().map(|o| FaultCommand::MakeReadonly { object: o.clone() }));
        if !self.lock.is_empty() {
            faults.push(FaultCommand::LockRecords { ids: self.lock.clone(), attempts: None });
        }
        faults.extend(
            self.validation_rules
                .iter()
                .map(|r| FaultCommand::AddValidationRule { rule: r.clone() }),
        );
        if self.exhaust_daily_limit {
            faults.push(FaultCommand::ExhaustDailyLimit);
        }
        if self.delay_responses_ms > 0 {
            faults.push(FaultCommand::DelayResponses { ms: self.delay_responses_ms });
        }
        // Last, so that it also revokes the refresh token issued while the org was built.
        if self.revoke_tokens {
            faults.push(FaultCommand::RevokeTokens);
        }
        OrgConfig {
            records: self.records,
            seed: self.seed,
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            daily_api_limit: self.daily_api_limit,
            session_timeout: Duration::from_secs(self.session_timeout_secs),
            activity_per_minute: self.activity_per_minute,
            faults,
            ..OrgConfig::default()
        }
    }
}

/// Runs the org until Ctrl-C, after printing its credentials as one JSON line on stdout.
pub async fn run_standalone(
    args: FakeOrgArgs,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Logs go to stderr: stdout carries only the credentials line, for scripts to read.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let org = super::bind(args.addr, args.org_config()).await?;
    println!("{}", serde_json::to_string(org.credentials())?);
    tracing::info!(addr = %org.addr(), records = args.records, "local Salesforce org listening");
    tokio::signal::ctrl_c().await?;
    org.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        org: FakeOrgArgs,
    }

    fn faults(args: &[&str]) -> Vec<FaultCommand> {
        let cli = Cli::try_parse_from(std::iter::once("fake-org").chain(args.iter().copied()));
        match cli {
            Ok(cli) => cli.org.org_config().faults,
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    #[test]
    fn every_fault_flag_becomes_its_command() {
        assert!(faults(&[]).is_empty());
        assert_eq!(faults(&["--revoke-tokens"]), vec![FaultCommand::RevokeTokens]);
        assert_eq!(
            faults(&["--delay-responses-ms", "250"]),
            vec![FaultCommand::DelayResponses { ms: 250 }]
        );
        let all = faults(&[
            "--latency-ms",
            "5",
            "--fail-next",
            "2",
            "--unreadable",
            "Contact",
            "--readonly",
            "Account",
            "--lock",
            "003x",
            "--validation-rule",
            "Lead:Title:blank:Needs a title",
            "--exhaust-daily-limit",
            "--revoke-tokens",
        ]);
        assert_eq!(all.len(), 8, "{all:?}");
        assert_eq!(
            all.last(),
            Some(&FaultCommand::RevokeTokens),
            "revocation comes after everything else"
        );
        assert!(all.contains(&FaultCommand::ExhaustDailyLimit));
        assert!(all.contains(&FaultCommand::FailNext { count: 2 }));
    }
}
