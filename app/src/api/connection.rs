//! The Overview tab's connection, rate limits and sync settings.

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
}

/// `GET /api/connection`: the Salesforce connection, API usage and sync settings.
#[server(prefix = "/api", endpoint = "connection", input = GetUrl)]
pub async fn get_connection() -> Result<ConnectionResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::store;

    no_cache();
    let st = state()?;
    let connection = store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?;
    let settings = store::load_settings(&st.pool, &st.workspace).await.map_err(internal)?;
    Ok(ConnectionResponse {
        connection,
        settings,
        default_interval_secs: st.default_interval_secs,
        as_of: st.now_ms(),
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

    super::ssr::require_admin()?;
    let st = state()?;
    let settings = match form.read() {
        Ok(settings) => settings,
        Err(message) => return Ok(Err(message)),
    };
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
    st.settings_saved.ring();
    Ok(Ok(settings))
}
