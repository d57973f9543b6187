//! The Recent sync health card on the Overview tab.

use crate::domain::health::{ConnectionPulse, SyncHealth};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// The card summarises this much recent history.
pub const HEALTH_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub health: SyncHealth,
    /// The connection in brief, for the card to notice a change during a visit.
    pub pulse: ConnectionPulse,
    pub as_of: i64,
}

/// `GET /api/health`: the last 24 hours at a glance.
#[server(prefix = "/api", endpoint = "health", input = GetUrl)]
pub async fn get_sync_health() -> Result<HealthResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::store;

    no_cache();
    let st = state()?;
    let now = st.now_ms();
    let mut health =
        store::health(&st.pool, &st.workspace, now - HEALTH_WINDOW_MS, now).await.map_err(|e| {
            st.storage.report(&e, now);
            internal(e)
        })?;
    health.storage = st.storage.problem();
    let c = store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?;
    let pulse = ConnectionPulse {
        state: c.state,
        limit_exceeded: c.limit_paused_until.is_some_and(|t| t > now)
            || c.api.is_some_and(|a| a.exceeded()),
    };
    Ok(HealthResponse { health, pulse, as_of: now })
}

/// The card as the Overview shows it, rendered on the server, for the live card to swap in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthCard {
    /// The card's body, the same HTML the page was served with.
    pub html: String,
    /// Whether a run of the window is in progress (the card then asks again every few seconds).
    pub in_progress: bool,
    pub pulse: ConnectionPulse,
}

/// `GET /api/health/card`: the Recent sync health card's body as HTML. The numbers, the chart and
/// the groups are drawn by the server's own code: the browser only swaps them in.
#[server(prefix = "/api", endpoint = "health/card", input = GetUrl)]
pub async fn get_health_card() -> Result<HealthCard, ServerFnError> {
    let h = get_sync_health().await?;
    let html = crate::components::health_card::health_html(&h.health, h.as_of);
    Ok(HealthCard { html, in_progress: h.health.runs_in_progress > 0, pulse: h.pulse })
}
