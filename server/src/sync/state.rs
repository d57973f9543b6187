//! The engine's own rows: inbound cursors and the overlap window's seen set, the connection state
//! and the workspace's sync settings. Short named queries on a pool or an open transaction.

use app::domain::ObjectType;
use app::store::{StoreError, WorkspaceId};
use sqlx::{SqliteConnection, SqlitePool};
use std::collections::HashMap;

/// Where inbound sync of one object stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    pub backfill_done: bool,
    /// Last committed `(SystemModstamp, Id)`.
    pub position: Option<(i64, String)>,
}

pub async fn load_cursor(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<Cursor, StoreError> {
    let row: Option<(i64, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT backfill_done, modstamp, last_id FROM sync_cursors WHERE workspace_id = ? AND object_type = ?")
            .bind(ws.as_str())
            .bind(object.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        None => Cursor::default(),
        Some((done, m, id)) => Cursor { backfill_done: done != 0, position: m.zip(id) },
    })
}

pub async fn save_cursor(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    c: &Cursor,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_cursors (workspace_id, object_type, backfill_done, modstamp, last_id) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (workspace_id, object_type) DO UPDATE SET backfill_done = excluded.backfill_done, \
         modstamp = excluded.modstamp, last_id = excluded.last_id",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .bind(c.backfill_done as i64)
    .bind(c.position.as_ref().map(|p| p.0))
    .bind(c.position.as_ref().map(|p| p.1.clone()))
    .execute(conn)
    .await?;
    Ok(())
}

/// The records processed inside the overlap window (modstamp at or after `from`).
pub async fn load_seen(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    object: ObjectType,
    from: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT salesforce_id, modstamp FROM sync_seen WHERE workspace_id = ? AND object_type = ? AND modstamp >= ?",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .bind(from)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Remembers `seen` records and forgets those that fell out of the window (before `from`).
pub async fn save_seen(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    seen: &[(String, i64)],
    from: i64,
) -> Result<(), StoreError> {
    for chunk in seen.chunks(200) {
        let mut qb = sqlx::QueryBuilder::new(
            "INSERT INTO sync_seen (workspace_id, object_type, salesforce_id, modstamp) ",
        );
        qb.push_values(chunk, |mut b, (id, m)| {
            b.push_bind(ws.as_str())
                .push_bind(object.as_str())
                .push_bind(id.as_str())
                .push_bind(*m);
        });
        qb.push(" ON CONFLICT (workspace_id, object_type, salesforce_id) DO UPDATE SET modstamp = excluded.modstamp");
        qb.build().execute(&mut *conn).await?;
    }
    sqlx::query(
        "DELETE FROM sync_seen WHERE workspace_id = ? AND object_type = ? AND modstamp < ?",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The connection as the status endpoint and the scheduler see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    /// `connected`, `reconnect_needed` or `disconnected`.
    pub state: String,
    pub detail: Option<String>,
    pub limit_paused_until: Option<i64>,
}

impl Connection {
    pub fn needs_reconnect(&self) -> bool {
        self.state == "reconnect_needed"
    }
}

pub async fn connection(pool: &SqlitePool, ws: &WorkspaceId) -> Result<Connection, StoreError> {
    let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT state, detail, limit_paused_until FROM sync_connection WHERE workspace_id = ?",
    )
    .bind(ws.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((state, detail, limit_paused_until)) => {
            Connection { state, detail, limit_paused_until }
        }
        None => Connection { state: "connected".into(), detail: None, limit_paused_until: None },
    })
}

pub async fn set_connection(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    state: &str,
    detail: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_connection (workspace_id, state, detail, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (workspace_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at",
    )
    .bind(ws.as_str())
    .bind(state)
    .bind(detail)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// An authentication failure: the connection needs reconnecting, unless the person has
/// disconnected meanwhile (one statement, so a disconnect cannot slip in between).
pub async fn mark_reconnect_needed(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    detail: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_connection (workspace_id, state, detail, updated_at) VALUES (?, 'reconnect_needed', ?, ?) \
         ON CONFLICT (workspace_id) DO UPDATE SET state = excluded.state, detail = excluded.detail, updated_at = excluded.updated_at \
         WHERE sync_connection.state <> 'disconnected'",
    )
    .bind(ws.as_str())
    .bind(detail)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// No API calls before `until` (None: the limit is clear).
pub async fn set_limit_pause(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    until: Option<i64>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_connection (workspace_id, state, limit_paused_until, updated_at) VALUES (?, 'connected', ?, ?) \
         ON CONFLICT (workspace_id) DO UPDATE SET limit_paused_until = excluded.limit_paused_until, updated_at = excluded.updated_at",
    )
    .bind(ws.as_str())
    .bind(until)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// A workspace's sync rules and write settings: the same ones the Overview tab edits.
pub use app::domain::settings::SyncSettings as Settings;
pub use app::store::{load_settings as settings, save_settings};
