//! What the API handlers share, and how a change the database refused is answered.

use super::error::ApiError;
use crate::sync::{Engine, Engines};
use app::state::Clock;
use app::store::Db;
use app::store::{StorageHealth, StoreError, WorkspaceId};
use std::sync::Arc;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub pool: Db,
    pub clock: Arc<dyn Clock>,
    /// Each workspace's engine (none on a server without an org: `--demo false`).
    pub engines: Engines,
    /// Where a storage failure met by a change is reported (the health card shows it).
    pub storage: StorageHealth,
    /// Connects started and not yet come back from Salesforce.
    pub oauth_flows: super::oauth::PendingFlows,
    /// Failed password checks by email, shared with the sign-in page: an invitation for an
    /// existing account asks for its password, and must not be a way around the sign-in's limit.
    pub throttle: super::auth::Throttle,
    /// This server's name among several on one database (`--instance-name`).
    pub instance: String,
    /// The alert task (woken when a test alert is queued) and the keys webhook secrets are
    /// sealed with.
    pub alerts: crate::alerts::Alerts,
}

impl ApiState {
    /// The workspace's engine, or the answer of a server that runs without one.
    pub async fn engine(&self, ws: &WorkspaceId) -> Result<Engine, ApiError> {
        match self.engines.engine(ws).await {
            Ok(Some(engine)) => Ok(engine),
            Ok(None) => Err(ApiError::no_engine()),
            Err(e) => {
                tracing::error!(error = %e, workspace = %ws, "the workspace's sync engine could not start");
                Err(ApiError::Unavailable {
                    message:
                        "The sync engine of this workspace could not start. Try again in a minute."
                            .into(),
                    retry_after_secs: Some(60),
                })
            }
        }
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
