//! Server state handed to every server function through Leptos context (server only).

use crate::store::{StorageHealth, WorkspaceId};
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
    pub pool: crate::store::Db,
    /// The workspace this server shows. Access control will resolve it per request; every query
    /// already takes it.
    pub workspace: WorkspaceId,
    /// Its display name, shown in the product bar.
    pub workspace_name: Arc<str>,
    pub clock: Arc<dyn Clock>,
    /// Rung when a workspace's sync settings are saved, so its engine's scheduler re-reads its
    /// interval instead of sleeping out the old one. The server wires it to its engines.
    pub settings_saved: SettingsSaved,
    /// The inbound schedule when the settings name none (`--sync-interval-secs`), shown beside
    /// "Server default".
    pub default_interval_secs: u64,
    /// Whether the database can be written, as the server last found it: the health card shows
    /// a problem, and a change it refuses answers 503.
    pub storage: StorageHealth,
    /// The keys stored secrets are sealed with (an alert webhook's signing secret is sealed when
    /// the Overview saves it).
    pub keyring: crate::store::keyring::Keyring,
}

/// A handle on the sync engines' wake-up. Without engines (no org) nobody listens and ringing
/// it does nothing.
#[derive(Clone, Default)]
pub struct SettingsSaved(Option<Arc<Ring>>);

/// What ringing does: wake the named workspace's engine.
type Ring = dyn Fn(&WorkspaceId) + Send + Sync;

impl SettingsSaved {
    pub fn new(ring: impl Fn(&WorkspaceId) + Send + Sync + 'static) -> SettingsSaved {
        SettingsSaved(Some(Arc::new(ring)))
    }

    /// Wakes the workspace's engine.
    pub fn ring(&self, ws: &WorkspaceId) {
        if let Some(ring) = &self.0 {
            ring(ws);
        }
    }
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
