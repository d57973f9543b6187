//! Alerts to a workspace's webhook (README, "Alerts"): one small loop for the server, which
//! every `--alert-poll-ms` (or at once when woken: a test alert) goes round the workspaces that
//! have a webhook and, under the workspace's `alerts` lease (so that of several servers on one
//! database one does it at a time):
//!
//! 1. queues the digests of the messages whose hour is over with alerts held back;
//! 2. looks at the runs that finished since its last scan, and queues or folds their alerts
//!    (`app::store::alerts`: each run is looked at once, whoever looks);
//! 3. makes the attempts that are due ([`deliver`]), and schedules the next on the backoff
//!    schedule (`--alert-backoff-secs`) or gives up.
//!
//! It hooks into nothing of the engine: a run ends as it always did, and the scan finds it.

pub mod deliver;

use app::domain::alerts::{retry_delay, AlertBody, AlertWorkspace, DEFAULT_BACKOFF_SECS};
use app::state::Clock;
use app::store::alerts::deliveries::{self, After, Attempt, Due};
use app::store::alerts::{self as store, Checked, Webhook};
use app::store::keyring::Keyring;
use app::store::leases::{self, Due as LeaseDue};
use app::store::{Db, StoreError, WorkspaceId};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The lease of a workspace's alert work.
pub const ALERTS_WORK: &str = "alerts";
/// Runs looked at per workspace per round (the rest in the next round).
const RUNS_PER_ROUND: i64 = 200;
/// Deliveries attempted per workspace per round.
const DELIVERIES_PER_ROUND: i64 = 20;

/// How the alert task runs (`--alert-*`, `--public-url`).
#[derive(Clone, Debug)]
pub struct AlertsConfig {
    /// Between rounds.
    pub poll: Duration,
    /// The waits between a failed delivery's attempts; after the last, it gives up.
    pub backoff: Vec<Duration>,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// Where people reach the server: the run links start with it.
    pub public_url: String,
    /// This server's name on the leases it takes (`--instance-name`).
    pub instance: String,
    pub lease_ttl_ms: i64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            poll: Duration::from_secs(2),
            backoff: DEFAULT_BACKOFF_SECS.iter().map(|s| Duration::from_secs(*s)).collect(),
            timeout: Duration::from_secs(10),
            public_url: "http://localhost:3000".into(),
            instance: crate::sync::default_instance_name(),
            lease_ttl_ms: 30_000,
        }
    }
}

/// The alert task's handle: cheap to clone; the API wakes it after queuing a test alert.
#[derive(Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Db,
    clock: Arc<dyn Clock>,
    keyring: Keyring,
    http: reqwest::Client,
    config: AlertsConfig,
    wake: Notify,
}

/// What a round did, for tests and logs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub queued: usize,
    pub folded: usize,
    pub attempts: usize,
}

impl Alerts {
    pub fn new(
        pool: Db,
        clock: Arc<dyn Clock>,
        keyring: Keyring,
        config: AlertsConfig,
    ) -> Result<Alerts, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Conversion-Sync-Alerts/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Alerts {
            inner: Arc::new(Inner { pool, clock, keyring, http, config, wake: Notify::new() }),
        })
    }

    /// The keys webhook secrets are sealed with.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.inner.config
    }

    /// Makes the next round start now (a test alert was queued).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Rounds until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self.round().await {
                Ok(r) if r != Round::default() => tracing::debug!(?r, "alerts round"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the alerts round stopped on a database error")
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.inner.config.poll) => {}
                _ = self.inner.wake.notified() => {}
            }
        }
    }

    /// One round over every workspace with a webhook.
    pub async fn round(&self) -> Result<Round, StoreError> {
        let mut total = Round::default();
        for (ws, name) in store::workspaces_with_webhooks(&self.inner.pool).await? {
            match self.round_in(&ws, &name).await {
                Ok(r) => {
                    total.queued += r.queued;
                    total.folded += r.folded;
                    total.attempts += r.attempts;
                }
                Err(e) => {
                    tracing::warn!(workspace = %ws, error = %e, "alerts of this workspace wait for the next round")
                }
            }
        }
        Ok(total)
    }

    /// One workspace's round, under its lease (another server holding it does it instead).
    async fn round_in(&self, ws: &WorkspaceId, name: &str) -> Result<Round, StoreError> {
        let (pool, cfg) = (&self.inner.pool, &self.inner.config);
        let now = self.now();
        let claimed = leases::claim(
            pool,
            ws,
            ALERTS_WORK,
            &cfg.instance,
            now,
            cfg.lease_ttl_ms,
            LeaseDue::Now,
        )
        .await?;
        let Ok(lease) = claimed else { return Ok(Round::default()) };
        let done = self.work(ws, name, lease.fence).await;
        if let Err(e) = leases::release(pool, ws, ALERTS_WORK, lease.fence, None).await {
            tracing::warn!(workspace = %ws, error = %e, "could not let go of the alerts lease; it runs out");
        }
        done
    }

    async fn work(&self, ws: &WorkspaceId, name: &str, fence: i64) -> Result<Round, StoreError> {
        let pool = &self.inner.pool;
        let Some(hook) = store::webhook(pool, ws).await? else { return Ok(Round::default()) };
        let mut round = Round::default();
        if hook.enabled {
            round.queued += store::queue_digests(pool, ws, self.now()).await?.len();
            for run in store::runs_to_check(pool, ws, &hook, RUNS_PER_ROUND).await? {
                match store::check_run(pool, ws, &run, hook.failed_threshold, self.now()).await? {
                    Checked::Queued(_) => round.queued += 1,
                    Checked::Folded => round.folded += 1,
                    Checked::Nothing | Checked::AlreadyChecked => {}
                }
            }
            store::advance_scan(pool, ws, self.now()).await?;
        }
        let workspace = AlertWorkspace { id: ws.to_string(), name: name.to_string() };
        for due in deliveries::due(pool, ws, self.now(), DELIVERIES_PER_ROUND).await? {
            // Each attempt may take the receiver's whole timeout: the lease is kept meanwhile,
            // and a server that lost it stops.
            let ttl = self.inner.config.lease_ttl_ms;
            if !leases::renew(pool, ws, ALERTS_WORK, fence, self.now(), ttl).await? {
                break;
            }
            self.attempt(ws, &workspace, &hook, &due).await?;
            round.attempts += 1;
        }
        Ok(round)
    }

    /// Makes one attempt at a delivery and records it.
    async fn attempt(
        &self,
        ws: &WorkspaceId,
        workspace: &AlertWorkspace,
        hook: &Webhook,
        due: &Due,
    ) -> Result<(), StoreError> {
        let pool = &self.inner.pool;
        let body = match &due.body {
            Some(body) => body.clone(),
            None => {
                let body = self.body(ws, workspace, hook, due).await?;
                deliveries::keep_body(pool, ws, due.id, &body).await?;
                body
            }
        };
        let at = self.now();
        let answer = match self.inner.keyring.open(ws, &hook.secret) {
            Ok(secret) => {
                let http = &self.inner.http;
                deliver::post(http, &hook.url, &secret, at / 1000, due.id, body).await
            }
            Err(e) => {
                tracing::error!(workspace = %ws, error = %e, "the webhook's signing secret does not open with the keyring");
                deliver::Answer {
                    status: None,
                    error: Some("the signing secret could not be read on this server (its key is missing: docs/SECURITY.md)".into()),
                    took: Duration::ZERO,
                }
            }
        };
        let number = u32::try_from(due.attempts + 1).unwrap_or(u32::MAX);
        let after = if answer.delivered() {
            After::Delivered
        } else {
            match retry_delay(number, &self.inner.config.backoff) {
                Some(wait) => After::RetryAt(self.now() + crate::sync::millis(wait)),
                None => After::GiveUp,
            }
        };
        if !answer.delivered() {
            tracing::warn!(workspace = %ws, delivery = due.id, attempt = number, status = ?answer.status, error = ?answer.error, ?after, "an alert was not delivered");
        }
        let attempt = Attempt {
            at,
            status_code: answer.status.map(i64::from),
            error: answer.error,
            duration_ms: i64::try_from(answer.took.as_millis()).unwrap_or(i64::MAX),
        };
        deliveries::record_attempt(pool, ws, due.id, &attempt, after).await?;
        Ok(())
    }

    /// The alert's JSON, made at its first attempt.
    async fn body(
        &self,
        ws: &WorkspaceId,
        workspace: &AlertWorkspace,
        hook: &Webhook,
        due: &Due,
    ) -> Result<String, StoreError> {
        let run = match due.run {
            Some(id) => app::store::get_run(&self.inner.pool, ws, id).await?,
            None => None,
        };
        let body = AlertBody::new(
            due.id,
            due.reason,
            workspace.clone(),
            run.as_ref(),
            hook.failed_threshold,
            due.folded,
            &self.inner.config.public_url,
            due.created_at,
        );
        serde_json::to_string(&body).map_err(|e| StoreError::Decode(Box::new(e)))
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
