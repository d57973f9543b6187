//! How far back a workspace's sync history goes and how long it is kept (the Overview's History
//! card), and what a link to a run past it says.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryView {
    /// Days of history kept.
    pub days: i64,
    /// When the oldest kept run started (none: no runs yet).
    pub oldest_at: Option<i64>,
    pub can_change: bool,
}

/// `GET /api/history`: the history kept and how far back it goes.
#[server(prefix = "/api", endpoint = "history", input = GetUrl)]
pub async fn get_history() -> Result<HistoryView, ServerFnError> {
    use super::ssr::{internal, no_cache, state, viewer};
    use crate::store;

    no_cache();
    let st = state()?;
    let days = store::load_retention_days(&st.pool, &st.workspace).await.map_err(internal)?;
    let oldest_at = store::oldest_run_at(&st.pool, &st.workspace).await.map_err(internal)?;
    Ok(HistoryView { days, oldest_at, can_change: viewer()?.is_admin() })
}

/// The History card's form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionForm {
    pub retention_days: String,
}

/// `POST /api/history/save` (admins): keeps 7, 30, 90 or 365 days of history from the next
/// retention pass on. Another value is refused with a message.
#[server(prefix = "/api", endpoint = "history/save")]
pub async fn save_retention(
    #[server(flatten)] form: RetentionForm,
) -> Result<Result<i64, String>, ServerFnError> {
    use super::ssr::{internal, require_admin, state};
    use crate::domain::retention::{parse_days, RETENTION_CHOICES};
    use crate::store;

    let viewer = require_admin()?;
    let st = state()?;
    let Some(days) = parse_days(&form.retention_days) else {
        return Ok(Err(format!(
            "Choose how many days of history to keep: one of {RETENTION_CHOICES:?}."
        )));
    };
    let before = store::load_retention_days(&st.pool, &st.workspace).await.map_err(internal)?;
    store::save_retention_days(&st.pool, &st.workspace, days).await.map_err(internal)?;
    if before != days {
        let actor = store::audit::Actor::Person { user_id: viewer.user_id, email: &viewer.email };
        let action = crate::domain::access::AuditAction::SettingsChanged;
        let detail = format!("History kept: {before} → {days} days");
        if let Err(e) =
            store::audit::record(&st.pool, &st.workspace, st.now_ms(), actor, action, &detail).await
        {
            tracing::error!(error = %e, "the audit trail could not be written");
        }
    }
    Ok(Ok(days))
}

/// `GET /api/run/expired?id=…`'s parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredQuery {
    pub id: String,
}

/// `GET /api/run/expired?id=…`: for a run id the workspace no longer has, whether it started
/// before the history kept ("This run is older than your 90-day history"), or `null`.
#[server(prefix = "/api", endpoint = "run/expired", input = GetUrl)]
pub async fn run_expired(
    #[server(flatten)] query: ExpiredQuery,
) -> Result<Option<String>, ServerFnError> {
    use super::ssr::{internal, state};
    use crate::domain::retention::{cutoff_ms, expired_message};
    use crate::domain::RunId;

    let st = state()?;
    let Some(id) = RunId::parse(&query.id) else { return Ok(None) };
    let days =
        crate::store::load_retention_days(&st.pool, &st.workspace).await.map_err(internal)?;
    Ok((id.timestamp_ms() < cutoff_ms(st.now_ms(), days)).then(|| expired_message(days)))
}
