//! The sync engine between Conversion and Salesforce. Every run it makes is written through the
//! store API, so the Sync activity view shows real activity.
//!
//! - [`inbound`]: Salesforce → Conversion, incremental by `(SystemModstamp, Id)` with an overlap,
//!   one run per batch; the first sync of an object is a backfill in larger batches.
//! - [`apply`] + [`objects`] (one file per object type) + [`mapping`]: what each record becomes,
//!   or the article's message for why not.
//! - [`outbound`]: Conversion → Salesforce from the outbox, sObject Collections, one run per batch.
//! - [`scheduler`]: the cancellable loops; [`batching`]: sizes, backoff and failure classes.
//! - [`state`]: cursors, connection state and sync settings (their SQL in the store); [`connection`]: the connection at
//!   start-up; [`usage`]: the org's API usage for Rate limits.

pub mod apply;
pub mod batching;
pub mod bulk_backfill;
pub mod connection;
pub mod engines;
pub mod inbound;
pub mod lease;
pub mod mapping;
pub mod objects;
pub mod outbound;
pub mod retry;
pub mod scheduler;
pub mod state;
pub mod usage;

use crate::salesforce::{SalesforceClient, SalesforceError};
use app::domain::connection::ConnectionState;
use app::domain::ObjectType;
use app::state::Clock;
use app::store::Db;
use app::store::{StorageHealth, StoreError, WorkspaceId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use batching::{default_instance_name, EngineConfig};
pub use engines::{Engines, OrgSource};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error("database error: {0}")]
    Store(#[from] StoreError),
    #[error("{} are already syncing", .0.plural())]
    AlreadyRunning(ObjectType),
    #[error("the Salesforce connection must be reconnected")]
    ReconnectNeeded,
    /// Another server took over this work (`{0}`) after this one stopped renewing its lease:
    /// nothing more is written under it.
    #[error("another server took over {0}")]
    LeaseLost(String),
}

/// The engine of one workspace. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Db,
    ws: WorkspaceId,
    client: SalesforceClient,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Rung when the outbox has work.
    outbox: Notify,
    /// Rung by a reconnect and by saved settings: the loops re-read their schedule.
    wake: Wake,
    /// Inbound objects being synced right now: never the same one twice at once.
    running: Mutex<HashSet<ObjectType>>,
    /// Base URL of the in-process local org, when there is one.
    org_url: Option<String>,
    cancel: CancellationToken,
    /// Where storage failures met by the engine are reported ([`Engine::report_storage_to`]).
    storage: Mutex<StorageHealth>,
}

/// An engine's wake-up: rung when its settings are saved or it is reconnected.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// Wakes whatever waits now, and the next one to wait if nobody does (a loop that is busy
    /// running a pass still sees it when it next sleeps).
    pub fn ring(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }
}

/// Holds an object's inbound slot; frees it when dropped (also on panic or cancellation).
pub struct Claim {
    engine: Engine,
    object: ObjectType,
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&self.engine.inner.running).remove(&self.object);
    }
}

// A std Mutex is right here: it guards a tiny set and is never held across an await.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    pub fn new(
        pool: Db,
        ws: WorkspaceId,
        client: SalesforceClient,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        org_url: Option<String>,
        cancel: CancellationToken,
    ) -> Self {
        Engine {
            inner: Arc::new(Inner {
                pool,
                ws,
                client,
                clock,
                config,
                outbox: Notify::new(),
                wake: Wake::default(),
                running: Mutex::new(HashSet::new()),
                org_url,
                cancel,
                storage: Mutex::new(StorageHealth::default()),
            }),
        }
    }

    pub fn pool(&self) -> &Db {
        &self.inner.pool
    }
    pub fn workspace(&self) -> &WorkspaceId {
        &self.inner.ws
    }
    pub fn client(&self) -> &SalesforceClient {
        &self.inner.client
    }
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
    pub fn org_url(&self) -> Option<&str> {
        self.inner.org_url.as_deref()
    }
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.inner.cancel
    }
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Storage failures the engine meets are reported to `storage` (the server's, which the health
    /// card shows and whose watcher notices when writing works again).
    pub fn report_storage_to(&self, storage: StorageHealth) {
        *lock(&self.inner.storage) = storage;
    }
    pub(crate) fn storage(&self) -> StorageHealth {
        lock(&self.inner.storage).clone()
    }

    /// Tells the outbound worker that changes are waiting.
    pub fn outbox_changed(&self) {
        self.inner.outbox.notify_one();
    }
    pub(crate) fn outbox_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.outbox.notified()
    }
    /// Wakes the loops to re-read their schedule (saved settings, a reconnect). Inbound does not
    /// run at once for it: only if its interval, counted from its last pass, is already over.
    pub fn wake(&self) {
        self.inner.wake.ring();
    }
    /// The handle saved settings ring (through [`Engines::wake`] from the pages' form).
    pub fn settings_saved(&self) -> Wake {
        self.inner.wake.clone()
    }
    pub(crate) fn wake_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.wake.0.notified()
    }

    /// Takes the inbound slot of `object`, or says it is taken.
    pub fn claim(&self, object: ObjectType) -> Result<Claim, SyncError> {
        if !lock(&self.inner.running).insert(object) {
            return Err(SyncError::AlreadyRunning(object));
        }
        Ok(Claim { engine: self.clone(), object })
    }

    pub fn running(&self) -> Vec<ObjectType> {
        lock(&self.inner.running).iter().copied().collect()
    }

    /// Marks the connection usable again and wakes the loops.
    pub async fn reconnected(&self) -> Result<(), SyncError> {
        state::set_connection(
            self.pool(),
            self.workspace(),
            ConnectionState::Connected,
            None,
            self.now_ms(),
        )
        .await?;
        state::set_limit_pause(self.pool(), self.workspace(), None, self.now_ms()).await?;
        self.wake();
        self.outbox_changed();
        Ok(())
    }

    /// Salesforce has requests to spare again before the limit's pause ended: the pause is lifted
    /// and the loops woken, so what waited for it runs now.
    pub async fn limit_cleared(&self) -> Result<(), SyncError> {
        state::set_limit_pause(self.pool(), self.workspace(), None, self.now_ms()).await?;
        self.wake();
        self.outbox_changed();
        Ok(())
    }

    /// Whether the daily limit pauses API calls right now (connected, a pause not yet over).
    pub async fn limit_paused(&self) -> Result<bool, SyncError> {
        let c = state::connection(self.pool(), self.workspace()).await?;
        Ok(c.state == ConnectionState::Connected
            && c.limit_paused_until.is_some_and(|t| t > self.now_ms()))
    }

    /// Whether API calls are allowed now (connected, and not paused by the daily limit).
    pub async fn may_call(&self) -> Result<bool, SyncError> {
        let c = state::connection(self.pool(), self.workspace()).await?;
        // Disconnected or waiting for a reconnect: no calls at all.
        Ok(c.state == ConnectionState::Connected
            && c.limit_paused_until.is_none_or(|t| t <= self.now_ms()))
    }
}

/// A failed run's detail when its batch could not be saved.
fn not_saved_detail(direction: app::domain::Direction) -> &'static str {
    match direction {
        app::domain::Direction::Inbound => {
            "Conversion could not save this batch: its database could not be written. The records listed here \
             were saved; the rest are synced again on the next run."
        }
        app::domain::Direction::Outbound => {
            "Conversion could not save this push: its database could not be written. The changes not listed here \
             stay queued and are pushed again on the next run."
        }
    }
}

/// The detail of a run whose end could not be written, failed once writing works again.
pub(crate) fn abandoned_detail(direction: app::domain::Direction) -> &'static str {
    match direction {
        app::domain::Direction::Inbound => {
            "Conversion could not save the end of this run: its database could not be written for a while. \
             The records listed here were saved; the rest are synced again on the next run."
        }
        app::domain::Direction::Outbound => {
            "Conversion could not save the end of this push: its database could not be written for a while. \
             The changes not listed here stay queued and are pushed again on the next run."
        }
    }
}

/// A duration as i64 milliseconds.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Engine {
    /// Fails a whole run (starting one to carry the failure if none was started yet) and applies
    /// what the failure means for the connection: an authentication failure pauses syncing until
    /// reconnected; an exceeded limit pauses API calls for `limit_pause`.
    pub(crate) async fn fail_whole_run(
        &self,
        held: &lease::Held,
        run: Option<app::domain::RunId>,
        new_run: app::store::NewRun,
        error: &SyncError,
    ) -> Result<app::domain::RunFailure, SyncError> {
        use app::domain::{RunFailure, RunMessage};
        if let SyncError::LeaseLost(work) = error {
            // Another server does this work now: its run, not this one, says how it went.
            return Err(SyncError::LeaseLost(work.clone()));
        }
        let message = match error {
            SyncError::Salesforce(e) => batching::run_message(e),
            SyncError::ReconnectNeeded => RunMessage::AuthenticationFailure,
            _ => RunMessage::UnknownError,
        };
        let now = self.now_ms();
        let detail = match error {
            // The database could not be written: its own words mean nothing to a person; the run
            // says what it means for its records.
            SyncError::Store(e) if self.storage().report(e, now).is_some() => {
                not_saved_detail(new_run.direction).to_string()
            }
            _ => error.to_string(),
        };
        let failure = RunFailure { message, detail };
        match message {
            RunMessage::AuthenticationFailure => {
                // A run still in flight when the person disconnected fails for want of tokens:
                // that must not turn "disconnected" into "needs reconnection".
                state::mark_reconnect_needed(self.pool(), self.workspace(), &failure.detail, now)
                    .await?;
            }
            RunMessage::ApiLimitExceeded => {
                state::set_limit_pause(
                    self.pool(),
                    self.workspace(),
                    Some(now + millis(self.config().limit_pause)),
                    now,
                )
                .await?;
            }
            _ => {}
        }
        let mut tx = held.begin().await?;
        let id = match run {
            Some(id) => id,
            // Listed now, started when its work did (the fetch that failed, with its retries).
            None => {
                app::store::begin_run_listed_at(&mut tx, self.workspace(), &new_run, now).await?
            }
        };
        app::store::fail_run(&mut tx, self.workspace(), id, now, &failure).await?;
        tx.commit().await?;
        tracing::warn!(run = %id, object = %new_run.object_type, direction = %new_run.direction, error = %error, "sync run failed");
        Ok(failure)
    }
}
