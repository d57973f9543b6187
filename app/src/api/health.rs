//! The Recent sync health card on the Overview tab.

use crate::domain::health::SyncHealth;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// The card summarises this much recent history.
pub const HEALTH_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub health: SyncHealth,
    pub as_of: i64,
}

/// `GET /api/health`: the last 24 hours at a glance.
#[server(prefix = "/api", endpoint = "health", input = GetUrl)]
pub async fn get_sync_health() -> Result<HealthResponse, ServerFnError> {
    use super::ssr::{internal, no_store, state};
    use crate::store;

    no_store();
    let st = state()?;
    let now = st.now_ms();
    let health = store::health(&st.pool, &st.workspace, now - HEALTH_WINDOW_MS, now).await.map_err(internal)?;
    Ok(HealthResponse { health, as_of: now })
}
