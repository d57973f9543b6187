//! Sync settings of a workspace (defaults when none were saved).

use super::{Db, StoreError, WorkspaceId};
use crate::domain::settings::SyncSettings;

/// A list column: a JSON array of codes (or domains).
fn list<T: serde::de::DeserializeOwned>(s: &str) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Decode(Box::new(e)))
}

fn json<T: serde::Serialize>(v: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Decode(Box::new(e)))
}

/// The columns in the order `load_settings` selects them.
type Row = (i64, i64, i64, String, String, String, String, Option<i64>, String);

pub async fn load_settings(db: &Db, ws: &WorkspaceId) -> Result<SyncSettings, StoreError> {
    on_db!(db, |pool| {
        let row: Option<Row> = sqlx::query_as(
            "SELECT write_contacts, write_companies, write_events, inbound_write_mode, excluded_domains, contact_fields, \
             inbound_objects, interval_secs, company_fields FROM sync_settings WHERE workspace_id = $1",
        )
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await?;
        let Some((wc, wco, we, mode, domains, fields, objects, interval, company_fields)) = row
        else {
            return Ok(SyncSettings::default());
        };
        Ok(SyncSettings {
            write_contacts: wc != 0,
            write_companies: wco != 0,
            write_events: we != 0,
            update_only: mode == "update_only",
            excluded_domains: list(&domains)?,
            contact_fields: list(&fields)?,
            company_fields: list(&company_fields)?,
            inbound_objects: list(&objects)?,
            interval_secs: interval.and_then(|i| u64::try_from(i).ok()),
        })
    })
}

pub async fn save_settings(db: &Db, ws: &WorkspaceId, s: &SyncSettings) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_settings (workspace_id, write_contacts, write_companies, write_events, inbound_write_mode, \
             excluded_domains, contact_fields, inbound_objects, interval_secs, company_fields) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (workspace_id) DO UPDATE SET \
             write_contacts = excluded.write_contacts, write_companies = excluded.write_companies, \
             write_events = excluded.write_events, inbound_write_mode = excluded.inbound_write_mode, \
             excluded_domains = excluded.excluded_domains, contact_fields = excluded.contact_fields, \
             inbound_objects = excluded.inbound_objects, interval_secs = excluded.interval_secs, \
             company_fields = excluded.company_fields",
        )
        .bind(ws.as_str())
        .bind(s.write_contacts as i64)
        .bind(s.write_companies as i64)
        .bind(s.write_events as i64)
        .bind(if s.update_only { "update_only" } else { "upsert" })
        .bind(json(&s.excluded_domains)?)
        .bind(json(&s.contact_fields)?)
        .bind(json(&s.inbound_objects)?)
        .bind(s.interval_secs.and_then(|i| i64::try_from(i).ok()))
        .bind(json(&s.company_fields)?)
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// How many days of sync history the workspace keeps.
pub async fn load_retention_days(db: &Db, ws: &WorkspaceId) -> Result<i64, StoreError> {
    let days: Option<(i64,)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT retention_days FROM sync_settings WHERE workspace_id = $1")
            .bind(ws.as_str())
            .fetch_optional(pool)
            .await?
    });
    Ok(days.map_or(crate::domain::retention::DEFAULT_RETENTION_DAYS, |(d,)| d))
}

/// Keeps `days` of sync history from now on (the other settings keep their values, or their
/// defaults when none were saved).
pub async fn save_retention_days(db: &Db, ws: &WorkspaceId, days: i64) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_settings (workspace_id, retention_days) VALUES ($1, $2) \
             ON CONFLICT (workspace_id) DO UPDATE SET retention_days = excluded.retention_days",
        )
        .bind(ws.as_str())
        .bind(days)
        .execute(pool)
        .await?;
        Ok(())
    })
}
