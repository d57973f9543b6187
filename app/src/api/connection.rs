//! The Overview tab's connection, rate limits and sync settings.

use crate::domain::access::{ApiTokenView, AuditEvent};
use crate::domain::connection::ConnectionView;
use crate::domain::settings::{SettingsForm, SyncSettings};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionResponse {
    pub connection: ConnectionView,
    pub settings: SyncSettings,
    /// What "Server default" means for the inbound schedule, in seconds.
    pub default_interval_secs: u64,
    pub as_of: i64,
    /// Whether the signed-in person may change the connection and the settings (an admin).
    #[serde(default)]
    pub can_change: bool,
    /// The workspace's audit trail, newest first ([`AUDIT_SHOWN`] entries): for admins only.
    #[serde(default)]
    pub audit: Option<Vec<AuditEvent>>,
    /// The workspace's API tokens (never the tokens themselves): for admins only.
    #[serde(default)]
    pub tokens: Option<Vec<ApiTokenView>>,
}

/// How many audit entries the Overview shows.
pub const AUDIT_SHOWN: u32 = 20;

/// `GET /api/connection`: the Salesforce connection, API usage and sync settings.
#[server(prefix = "/api", endpoint = "connection", input = GetUrl)]
pub async fn get_connection() -> Result<ConnectionResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::store;

    no_cache();
    let st = state()?;
    let can_change = super::ssr::viewer()?.is_admin();
    let connection = store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?;
    let settings = store::load_settings(&st.pool, &st.workspace).await.map_err(internal)?;
    let (audit, tokens) = if can_change {
        let audit = store::audit::recent(&st.pool, &st.workspace, AUDIT_SHOWN);
        let tokens = store::api_tokens::list(&st.pool, &st.workspace);
        (Some(audit.await.map_err(internal)?), Some(tokens.await.map_err(internal)?))
    } else {
        (None, None)
    };
    Ok(ConnectionResponse {
        connection,
        settings,
        default_interval_secs: st.default_interval_secs,
        as_of: st.now_ms(),
        can_change,
        audit,
        tokens,
    })
}

/// `POST /api/settings/save` (a form): saves the sync settings; the engine reads them at its next
/// run, and its scheduler is woken so a new schedule counts from the last run rather than after
/// the old interval. A checkbox that is absent is off. Invalid values are refused with a message
/// ([`SyncSettings::validate`], as for the JSON API): a normal answer (`Err(message)` inside
/// `Ok`), since a person's typo is not a server failure.
#[server(prefix = "/api", endpoint = "settings/save")]
pub async fn save_sync_settings(
    #[server(flatten)] form: SettingsForm,
) -> Result<Result<SyncSettings, String>, ServerFnError> {
    use super::ssr::{internal, state};
    use crate::store;

    let viewer = super::ssr::require_admin()?;
    let st = state()?;
    let settings = match form.read() {
        Ok(settings) => settings,
        Err(message) => return Ok(Err(message)),
    };
    let before = store::load_settings(&st.pool, &st.workspace).await.ok();
    if let Err(e) = store::save_settings(&st.pool, &st.workspace, &settings).await {
        if st.storage.report(&e, st.now_ms()).is_some() {
            // Not the server's bug and not the person's: the database cannot be written now.
            super::ssr::unavailable();
            return Err(ServerFnError::new(
                "The settings were not saved: Conversion's database cannot be written right now. Try again in a few minutes.",
            ));
        }
        return Err(internal(e));
    }
    st.settings_saved.ring(&st.workspace);
    let changed = before.map(|b| settings.changes_from(&b)).unwrap_or_default();
    if !changed.is_empty() {
        let actor = store::audit::Actor::Person { user_id: viewer.user_id, email: &viewer.email };
        let action = crate::domain::access::AuditAction::SettingsChanged;
        let detail = changed.join(", ");
        let recorded =
            store::audit::record(&st.pool, &st.workspace, st.now_ms(), actor, action, &detail);
        if let Err(e) = recorded.await {
            tracing::error!(error = %e, "the audit trail could not be written");
        }
    }
    Ok(Ok(settings))
}
