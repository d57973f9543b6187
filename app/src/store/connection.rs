//! The Salesforce connection row of a workspace (`sync_connection`, owned here): state, org,
//! user, API usage, refresh token, the daily limit's pause.
//!
//! Its state is one type, [`ConnectionState`], for the engine, the status endpoint and the pages.
//!
//! ## A workspace without a row
//!
//! A missing row means **no connection was ever recorded**, and every reader reads it the same
//! way: [`ConnectionState::Disconnected`], with no org. Nothing syncs until something records a
//! connection: a server's start with an org (`server::sync::connection::on_start`), a completed
//! Connect. Disconnect, a failed authentication and the daily limit's pause only change a row
//! that exists, or record the state they set.

use super::keyring::{KeyError, Keyring, Sealed};
use super::{Db, StoreError, WorkspaceId};
use crate::domain::connection::{ApiUsageView, ConnectionState, ConnectionView};

/// A workspace without a row (see the module's documentation).
const UNRECORDED: ConnectionState = ConnectionState::Disconnected;

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

/// What the Overview shows. A workspace without a row has never connected: disconnected, no org.
pub async fn connection_view(db: &Db, ws: &WorkspaceId) -> Result<ConnectionView, StoreError> {
    on_db!(db, |pool| {
        let row: Option<Row> = sqlx::query_as(
            "SELECT state, detail, limit_paused_until, instance_url, username, connected_since, api_used, api_max, api_measured_at \
             FROM sync_connection WHERE workspace_id = $1",
        )
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await?;
        Ok(match row {
            None => ConnectionView {
                state: UNRECORDED,
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
    })
}

/// A completed OAuth flow (or the first start against a configured org): connected from now. The
/// refresh token is kept sealed ([`Keyring::seal`]).
pub async fn save_connected(
    db: &Db,
    ws: &WorkspaceId,
    instance_url: &str,
    username: Option<&str>,
    refresh_token: Option<&Sealed>,
    now: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_connection (workspace_id, state, updated_at, instance_url, username, connected_since, refresh_token) \
             VALUES ($1, 'connected', $2, $3, $4, $2, $5) \
             ON CONFLICT (workspace_id) DO UPDATE SET state = 'connected', detail = NULL, limit_paused_until = NULL, \
             updated_at = $2, instance_url = $3, username = COALESCE($4, sync_connection.username), connected_since = $2, \
             refresh_token = COALESCE($5, sync_connection.refresh_token)",
        )
        .bind(ws.as_str())
        .bind(now)
        .bind(instance_url)
        .bind(username)
        .bind(refresh_token.map(|t| t.0.as_str()))
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// The refresh token an earlier Connect saved, sealed, unless the workspace disconnected since.
pub async fn saved_refresh_token(db: &Db, ws: &WorkspaceId) -> Result<Option<Sealed>, StoreError> {
    on_db!(db, |pool| {
        let token: Option<Option<String>> =
            sqlx::query_scalar("SELECT refresh_token FROM sync_connection WHERE workspace_id = $1 AND state != 'disconnected'")
                .bind(ws.as_str())
                .fetch_optional(pool)
                .await?;
        Ok(token.flatten().filter(|t| !t.is_empty()).map(Sealed))
    })
}

/// Why the stored secrets could not all be sealed again.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("workspace {workspace}: {error}")]
    Key { workspace: String, error: KeyError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Seals every stored refresh token with the keyring's active key: those sealed with an older key
/// (after a rotation) and any kept in plain text by a version before sealing. Each row is replaced
/// only if it still holds what was read. Returns how many were sealed again.
pub async fn reseal_refresh_tokens(db: &Db, ring: &Keyring) -> Result<usize, ResealError> {
    on_db!(db, |pool| {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT workspace_id, refresh_token FROM sync_connection WHERE refresh_token IS NOT NULL AND refresh_token <> ''",
        )
        .fetch_all(pool)
        .await?;
        let mut resealed = 0;
        for (workspace, stored) in rows {
            let ws = WorkspaceId(workspace);
            let stored = Sealed(stored);
            let plain = match stored.key_id() {
                Some(id) if id == ring.active_id() => continue,
                Some(_) => ring
                    .open(&ws, &stored)
                    .map_err(|error| ResealError::Key { workspace: ws.0.clone(), error })?,
                // Kept before tokens were sealed.
                None => stored.0.clone(),
            };
            let sealed = ring.seal(&ws, &plain);
            let done = sqlx::query(
                "UPDATE sync_connection SET refresh_token = $1 WHERE workspace_id = $2 AND refresh_token = $3",
            )
            .bind(&sealed.0)
            .bind(ws.as_str())
            .bind(&stored.0)
            .execute(pool)
            .await?;
            resealed += done.rows_affected() as usize;
        }
        Ok(resealed)
    })
}

/// Disconnect (or never connected yet): stop syncing and forget the tokens.
pub async fn save_disconnected(db: &Db, ws: &WorkspaceId, now: i64) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_connection (workspace_id, state, updated_at) VALUES ($2, 'disconnected', $1) \
             ON CONFLICT (workspace_id) DO UPDATE SET state = 'disconnected', detail = NULL, refresh_token = NULL, updated_at = $1",
        )
        .bind(now)
        .bind(ws.as_str())
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// The last API usage measured (from `Sforce-Limit-Info` or `/limits`).
pub async fn record_api_usage(
    db: &Db,
    ws: &WorkspaceId,
    used: i64,
    max: i64,
    now: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query("UPDATE sync_connection SET api_used = $1, api_max = $2, api_measured_at = $3 WHERE workspace_id = $4")
            .bind(used)
            .bind(max)
            .bind(now)
            .bind(ws.as_str())
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// The connection as the engine and the status endpoint see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncConnection {
    pub state: ConnectionState,
    /// Why the connection needs attention, in words.
    pub detail: Option<String>,
    /// No API calls before this instant (the daily limit was exceeded).
    pub limit_paused_until: Option<i64>,
}

impl SyncConnection {
    pub fn needs_reconnect(&self) -> bool {
        self.state == ConnectionState::ReconnectNeeded
    }
}

/// The engine's reading of the row. A workspace without one is disconnected (see the module's
/// documentation).
pub async fn sync_connection(db: &Db, ws: &WorkspaceId) -> Result<SyncConnection, StoreError> {
    on_db!(db, |pool| {
        let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT state, detail, limit_paused_until FROM sync_connection WHERE workspace_id = $1",
        )
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await?;
        Ok(match row {
            Some((state, detail, limit_paused_until)) => {
                SyncConnection { state: ConnectionState::parse(&state), detail, limit_paused_until }
            }
            None => SyncConnection { state: UNRECORDED, detail: None, limit_paused_until: None },
        })
    })
}

/// Sets the state and its detail (the org, user, tokens and pause stay as they are).
pub async fn set_connection_state(
    db: &Db,
    ws: &WorkspaceId,
    state: ConnectionState,
    detail: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_connection (workspace_id, state, detail, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at",
        )
        .bind(ws.as_str())
        .bind(state.as_str())
        .bind(detail)
        .bind(now)
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// An authentication failure: the connection needs reconnecting, unless the person has
/// disconnected meanwhile (one statement, so a disconnect cannot slip in between).
pub async fn mark_reconnect_needed(
    db: &Db,
    ws: &WorkspaceId,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO sync_connection (workspace_id, state, detail, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at \
             WHERE sync_connection.state <> $5",
        )
        .bind(ws.as_str())
        .bind(ConnectionState::ReconnectNeeded.as_str())
        .bind(detail)
        .bind(now)
        .bind(ConnectionState::Disconnected.as_str())
        .execute(pool)
        .await?;
        Ok(())
    })
}

/// No API calls before `until` (None: the limit is clear). Only a recorded connection is paused:
/// without one, nothing calls Salesforce to be paused.
pub async fn set_limit_pause(
    db: &Db,
    ws: &WorkspaceId,
    until: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE sync_connection SET limit_paused_until = $1, updated_at = $2 WHERE workspace_id = $3",
        )
        .bind(until)
        .bind(now)
        .bind(ws.as_str())
        .execute(pool)
        .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ensure_workspace, testing};

    const T0: i64 = 1_764_000_000_000;

    async fn db() -> (testing::TestDb, WorkspaceId) {
        let pool = testing::test_db().await.expect("test database");
        let ws = WorkspaceId("ws-a".into());
        ensure_workspace(&pool, &ws, "A", T0).await.unwrap();
        (pool, ws)
    }

    #[tokio::test]
    async fn a_workspace_without_a_row_is_disconnected_for_the_pages_and_the_engine_alike() {
        let (pool, ws) = db().await;
        assert_eq!(connection_view(&pool, &ws).await.unwrap().state, ConnectionState::Disconnected);
        let engine = sync_connection(&pool, &ws).await.unwrap();
        assert_eq!(
            engine,
            SyncConnection {
                state: ConnectionState::Disconnected,
                detail: None,
                limit_paused_until: None
            }
        );
        // The limit's pause records no connection of its own.
        set_limit_pause(&pool, &ws, Some(T0 + 60_000), T0).await.unwrap();
        assert_eq!(sync_connection(&pool, &ws).await.unwrap(), engine);
        // Once connected, the pause holds.
        save_connected(&pool, &ws, "https://org.example", None, None, T0).await.unwrap();
        set_limit_pause(&pool, &ws, Some(T0 + 60_000), T0).await.unwrap();
        let paused = sync_connection(&pool, &ws).await.unwrap();
        assert_eq!(
            (paused.state, paused.limit_paused_until),
            (ConnectionState::Connected, Some(T0 + 60_000))
        );
    }

    #[tokio::test]
    async fn tokens_are_kept_sealed_and_a_rotation_seals_them_again() {
        let (pool, ws) = db().await;
        let stored = || async {
            let (t,): (String,) = on_db!(pool.db(), |p| sqlx::query_as(
                "SELECT refresh_token FROM sync_connection WHERE workspace_id = $1"
            )
            .bind(ws.as_str())
            .fetch_one(p)
            .await
            .unwrap());
            t
        };
        let old_entry = Keyring::generate_entry("old");
        let old = Keyring::parse(&old_entry).unwrap();
        let sealed = old.seal(&ws, "5Aep861token");
        save_connected(&pool, &ws, "https://org.example", None, Some(&sealed), T0).await.unwrap();
        assert!(!stored().await.contains("5Aep861token"));
        let saved = saved_refresh_token(&pool, &ws).await.unwrap().unwrap();
        assert_eq!(old.open(&ws, &saved).unwrap(), "5Aep861token");

        // A new key in front: the start seals again with it; the old key is no longer needed.
        let new_entry = Keyring::generate_entry("new");
        let rotated = Keyring::parse(&format!("{new_entry}\n{old_entry}")).unwrap();
        assert_eq!(reseal_refresh_tokens(&pool, &rotated).await.unwrap(), 1);
        assert_eq!(reseal_refresh_tokens(&pool, &rotated).await.unwrap(), 0);
        let new_only = Keyring::parse(&new_entry).unwrap();
        let saved = saved_refresh_token(&pool, &ws).await.unwrap().unwrap();
        assert_eq!(saved.key_id(), Some("new"));
        assert_eq!(new_only.open(&ws, &saved).unwrap(), "5Aep861token");

        // A token kept in plain text by a version before sealing is sealed at the next start.
        on_db!(pool.db(), |p| sqlx::query(
            "UPDATE sync_connection SET refresh_token = 'plain-token'"
        )
        .execute(p)
        .await
        .map(|_| ())
        .unwrap());
        assert_eq!(reseal_refresh_tokens(&pool, &new_only).await.unwrap(), 1);
        let saved = saved_refresh_token(&pool, &ws).await.unwrap().unwrap();
        assert_eq!(new_only.open(&ws, &saved).unwrap(), "plain-token");

        // A keyring without the key that sealed it refuses, and changes nothing.
        let other = Keyring::ephemeral();
        assert!(matches!(
            reseal_refresh_tokens(&pool, &other).await,
            Err(ResealError::Key { error: KeyError::UnknownKey(_), .. })
        ));
        assert_eq!(saved_refresh_token(&pool, &ws).await.unwrap().unwrap(), saved);
    }

    #[tokio::test]
    async fn both_readers_see_the_same_state_once_it_is_written() {
        let (pool, ws) = db().await;
        for state in [
            ConnectionState::ReconnectNeeded,
            ConnectionState::Disconnected,
            ConnectionState::Connected,
        ] {
            set_connection_state(&pool, &ws, state, Some("why"), T0).await.unwrap();
            assert_eq!(sync_connection(&pool, &ws).await.unwrap().state, state);
            assert_eq!(connection_view(&pool, &ws).await.unwrap().state, state);
        }
        mark_reconnect_needed(&pool, &ws, "expired", T0).await.unwrap();
        assert!(sync_connection(&pool, &ws).await.unwrap().needs_reconnect());
        // A disconnect is not turned into "needs reconnection" by a run still in flight.
        save_disconnected(&pool, &ws, T0).await.unwrap();
        mark_reconnect_needed(&pool, &ws, "expired", T0).await.unwrap();
        assert_eq!(sync_connection(&pool, &ws).await.unwrap().state, ConnectionState::Disconnected);
    }
}
