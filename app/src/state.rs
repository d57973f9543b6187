//! Server state handed to every server function through Leptos context (server only).

use crate::store::{StorageHealth, WorkspaceId};
use sqlx::SqlitePool;
use std::sync::Arc;

/// Where "now" comes from: the system clock in production, a fixed one in tests.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub pool: SqlitePool,
    /// The workspace this server shows. Access control will resolve it per request; every query
    /// already takes it.
    pub workspace: WorkspaceId,
    /// Its display name, shown in the product bar.
    pub workspace_name: Arc<str>,
    pub clock: Arc<dyn Clock>,
    /// Rung when the sync settings are saved, so the engine's scheduler re-reads its interval
    /// instead of sleeping out the old one. The server wires it to its engine.
    pub settings_saved: SettingsSaved,
    /// The inbound schedule when the settings name none (`--sync-interval-secs`), shown beside
    /// "Server default".
    pub default_interval_secs: u64,
    /// Whether the database can be written, as the server last found it: the health card shows
    /// a problem, and a change it refuses answers 503.
    pub storage: StorageHealth,
}

/// A handle on the sync engine's wake-up. Without an engine (`--demo false`) nobody listens and
/// ringing it does nothing.
#[derive(Clone, Default)]
pub struct SettingsSaved(pub Arc<tokio::sync::Notify>);

impl SettingsSaved {
    /// Wakes whatever waits now, and the next one to wait if nobody does (a loop that is busy
    /// running a pass still sees it when it next sleeps).
    pub fn ring(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
