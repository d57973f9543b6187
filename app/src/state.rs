//! Server state handed to every server function through Leptos context (server only).

use crate::store::WorkspaceId;
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
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
