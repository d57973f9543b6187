//! The Overview tab's connection, rate limits and sync settings.

use crate::domain::connection::ConnectionView;
use crate::domain::settings::SyncSettings;
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
    Ok(ConnectionResponse { connection, settings, default_interval_secs: st.default_interval_secs, as_of: st.now_ms() })
}

/// `POST /api/settings/save` (a form): saves the sync settings; the engine reads them at its next
/// run, and its scheduler is woken so a new schedule counts from the last run rather than after
/// the old interval. A checkbox that is absent is off. Invalid values are refused with a message
/// ([`SyncSettings::validate`], as for the JSON API): a normal answer (`Err(message)` inside
/// `Ok`), since a person's typo is not a server failure.
#[server(prefix = "/api", endpoint = "settings/save")]
#[allow(clippy::too_many_arguments)]
pub async fn save_sync_settings(
    write_contacts: Option<String>,
    write_companies: Option<String>,
    write_events: Option<String>,
    write_mode: Option<String>,
    excluded_domains: Option<String>,
    field_email: Option<String>,
    field_first_name: Option<String>,
    field_last_name: Option<String>,
    field_title: Option<String>,
    company_field_name: Option<String>,
    company_field_website: Option<String>,
    company_field_industry: Option<String>,
    interval_secs: Option<String>,
    inbound_contact: Option<String>,
    inbound_lead: Option<String>,
    inbound_company: Option<String>,
    inbound_opportunity: Option<String>,
    inbound_opportunity_contact_role: Option<String>,
    inbound_event: Option<String>,
) -> Result<Result<SyncSettings, String>, ServerFnError> {
    use super::ssr::{internal, state};
    use crate::domain::settings::parse_domains;
    use crate::store;

    let st = state()?;
    let update_only = match write_mode.as_deref().unwrap_or("upsert") {
        "upsert" => false,
        "update_only" => true,
        other => return Ok(Err(format!("\u{201c}{other}\u{201d} is not a write mode: choose create and update, or update only."))),
    };
    let excluded_domains = match parse_domains(excluded_domains.as_deref().unwrap_or("")) {
        Ok(d) => d,
        Err(message) => return Ok(Err(message)),
    };
    let on = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty() && v != "false" && v != "off");
    let contact_fields = [("email", &field_email), ("first_name", &field_first_name), ("last_name", &field_last_name), ("title", &field_title)]
        .iter()
        .filter(|(_, v)| on(v))
        .map(|(name, _)| name.to_string())
        .collect();
    let company_fields = [("name", &company_field_name), ("website", &company_field_website), ("industry", &company_field_industry)]
        .iter()
        .filter(|(_, v)| on(v))
        .map(|(name, _)| name.to_string())
        .collect();
    let interval_secs = match interval_secs.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None | Some("default") => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return Ok(Err(format!("\u{201c}{v}\u{201d} is not one of the schedules offered."))),
        },
    };
    let inbound_objects = [
        ("company", &inbound_company),
        ("contact", &inbound_contact),
        ("lead", &inbound_lead),
        ("opportunity", &inbound_opportunity),
        ("opportunity_contact_role", &inbound_opportunity_contact_role),
        ("event", &inbound_event),
    ]
    .iter()
    .filter(|(_, v)| on(v))
    .map(|(code, _)| code.to_string())
    .collect();
    let settings = SyncSettings {
        inbound_objects,
        interval_secs,
        write_contacts: on(&write_contacts),
        write_companies: on(&write_companies),
        write_events: on(&write_events),
        update_only,
        excluded_domains,
        contact_fields,
        company_fields,
    };
    if let Err(message) = settings.validate() {
        return Ok(Err(message));
    }
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
