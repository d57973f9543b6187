//! The Salesforce connection row of a workspace: state, org, user, API usage, refresh token.

use super::{StoreError, WorkspaceId};
use crate::domain::connection::{ApiUsageView, ConnectionState, ConnectionView};
use sqlx::SqlitePool;

type Row = (
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// What the Overview shows. A workspace without a row has never connected.
pub async fn connection_view(
    pool: &SqlitePool,
    ws: &WorkspaceId,
) -> Result<ConnectionView, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT state, detail, limit_paused_until, instance_url, username, connected_since, api_used, api_max, api_measured_at \
         FROM sync_connection WHERE workspace_id = ?",
    )
    .bind(ws.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => ConnectionView {
            state: ConnectionState::Disconnected,
            detail: None,
            instance_url: None,
            username: None,
            connected_since: None,
            limit_paused_until: None,
            api: None,
        },
        Some((
            state,
            detail,
            limit_paused_until,
            instance_url,
            username,
            connected_since,
            used,
            max,
            at,
        )) => ConnectionView {
            state: ConnectionState::parse(&state),
            detail,
            instance_url,
            username,
            connected_since,
            limit_paused_until,
            api: match (used, max, at) {
                (Some(used), Some(max), Some(measured_at)) => {
                    Some(ApiUsageView { used, max, measured_at })
                }
                _ => None,
            },
        },
    })
}

/// A completed OAuth flow (or the first start against a configured org): connected from now.
pub async fn save_connected(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    instance_url: &str,
    username: Option<&str>,
    refresh_token: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_connection (workspace_id, state, updated_at, instance_url, username, connected_since, refresh_token) \
         VALUES (?1, 'connected', ?2, ?3, ?4, ?2, ?5) \
         ON CONFLICT (workspace_id) DO UPDATE SET state = 'connected', detail = NULL, limit_paused_until = NULL, \
         updated_at = ?2, instance_url = ?3, username = COALESCE(?4, username), connected_since = ?2, \
         refresh_token = COALESCE(?5, refresh_token)",
    )
    .bind(ws.as_str())
    .bind(now)
    .bind(instance_url)
    .bind(username)
    .bind(refresh_token)
    .execute(pool)
    .await?;
    Ok(())
}

/// The refresh token an earlier Connect saved, unless the workspace disconnected since.
pub async fn saved_refresh_token(
    pool: &SqlitePool,
    ws: &WorkspaceId,
) -> Result<Option<String>, StoreError> {
    let token: Option<Option<String>> =
        sqlx::query_scalar("SELECT refresh_token FROM sync_connection WHERE workspace_id = ? AND state != 'disconnected'")
            .bind(ws.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(token.flatten().filter(|t| !t.is_empty()))
}

/// Disconnect (or never connected yet): stop syncing and forget the tokens.
pub async fn save_disconnected(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_connection (workspace_id, state, updated_at) VALUES (?2, 'disconnected', ?1) \
         ON CONFLICT (workspace_id) DO UPDATE SET state = 'disconnected', detail = NULL, refresh_token = NULL, updated_at = ?1",
    )
    .bind(now)
    .bind(ws.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// The last API usage measured (from `Sforce-Limit-Info` or `/limits`).
pub async fn record_api_usage(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    used: i64,
    max: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sync_connection SET api_used = ?, api_max = ?, api_measured_at = ? WHERE workspace_id = ?")
        .bind(used)
        .bind(max)
        .bind(now)
        .bind(ws.as_str())
        .execute(pool)
        .await?;
    Ok(())
}
