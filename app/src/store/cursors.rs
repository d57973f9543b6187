//! Where inbound sync of each object stands: its cursor (`sync_cursors`) and the records already
//! processed inside the overlap window (`sync_seen`). This module owns both tables.

use super::{StoreError, WorkspaceId};
use crate::domain::ObjectType;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::HashMap;

/// Seen records per INSERT statement (4 parameters each).
const SEEN_CHUNK: usize = 200;

/// Where inbound sync of one object stands. A workspace without a row for the object has not
/// started it: no backfill done, no position.
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
    let row: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT backfill_done, modstamp, last_id FROM sync_cursors WHERE workspace_id = ? AND object_type = ?",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Cursor::default(),
        Some((done, m, id)) => Cursor { backfill_done: done != 0, position: m.zip(id) },
    })
}

/// Saves the cursor inside the transaction that wrote what it counts.
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
    .bind(c.position.as_ref().map(|p| p.1.as_str()))
    .execute(conn)
    .await?;
    Ok(())
}

/// The records processed inside the overlap window (modstamp at or after `from`), by Salesforce
/// id.
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

/// Remembers `seen` records (`(Salesforce id, modstamp)`) and forgets those that fell out of the
/// window (before `from`).
pub async fn save_seen(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    seen: &[(String, i64)],
    from: i64,
) -> Result<(), StoreError> {
    for chunk in seen.chunks(SEEN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
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
