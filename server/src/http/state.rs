//! What the API handlers share, and how a change the database refused is answered.

use super::error::ApiError;
use crate::sync::Engine;
use app::state::Clock;
use app::store::{StorageHealth, StoreError, WorkspaceId};
use sqlx::SqlitePool;
use std::sync::Arc;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub pool: SqlitePool,
    pub workspace: WorkspaceId,
    pub clock: Arc<dyn Clock>,
    /// Absent when the server runs without the engine (`--demo false`).
    pub engine: Option<Engine>,
    /// Where a storage failure met by a change is reported (the health card shows it).
    pub storage: StorageHealth,
    /// Connects started and not yet come back from Salesforce.
    pub oauth_flows: super::oauth::PendingFlows,
}

impl ApiState {
    /// The engine, or the answer of a server that runs without one.
    pub fn engine(&self) -> Result<&Engine, ApiError> {
        self.engine.as_ref().ok_or_else(ApiError::no_engine)
    }

    /// A change the database did not take (`refused`: "The change was not saved"). While it
    /// cannot be written (a full disk, a read-only or damaged file) that is a 503 the caller can
    /// retry, with what happened in words; anything else is the server's own failure, logged, and
    /// a 500.
    pub fn not_saved(&self, e: &StoreError, refused: &str) -> ApiError {
        tracing::error!(error = %e, "{refused}");
        match self.storage.report(e, self.clock.now_ms()) {
            Some(failure) => ApiError::Unavailable {
                message: format!("{refused}: {}. Try again in a few minutes.", failure.cause()),
                retry_after_secs: Some(60),
            },
            None => ApiError::Internal(format!("{refused}.")),
        }
    }
}
