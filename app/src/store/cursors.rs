//! Where inbound sync of each object stands: its cursor (`sync_cursors`) and the records already
//! processed inside the overlap window (`sync_seen`). This module owns both tables.

use super::{Db, StoreError, Tx, WorkspaceId};
use crate::domain::ObjectType;
use sqlx::QueryBuilder;
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
    /// The Bulk API 2.0 query job a backfill is reading, when it reads one.
    pub bulk: Option<BulkCursor>,
}

/// Where a backfill through a Bulk API 2.0 query job stands: the job and how far its results
/// have been written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkCursor {
    /// The job being read; `None` when the last one failed and the next sync makes another.
    pub job: Option<BulkJobRef>,
    /// The set of results to read next; `None`: the first.
    pub locator: Option<String>,
    /// Records of that set already committed.
    pub offset: u64,
    /// The `SystemModstamp` the job's query starts from; `None`: every record.
    pub since: Option<i64>,
    /// When the backfill's first job was made (Unix ms).
    pub began: i64,
    /// This job replaced one that expired or failed after some of its results were written: its
    /// results include records written already (see `runs::records::reported_since`).
    pub replaced: bool,
}

/// A Bulk API 2.0 query job, and the API version its results must be read with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkJobRef {
    pub id: String,
    pub api_version: String,
}

pub async fn load_cursor(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<Cursor, StoreError> {
    on_db!(db, |pool| {
        let row: Option<CursorRow> = sqlx::query_as(
            "SELECT backfill_done, modstamp, last_id, bulk_job_id, bulk_api_version, bulk_locator, \
             bulk_offset, bulk_since, bulk_began, bulk_replaced \
             FROM sync_cursors WHERE workspace_id = $1 AND object_type = $2",
        )
        .bind(ws.as_str())
        .bind(object.as_str())
        .fetch_optional(pool)
        .await?;
        Ok(row.map(Cursor::from).unwrap_or_default())
    })
}

#[derive(sqlx::FromRow)]
struct CursorRow {
    backfill_done: i64,
    modstamp: Option<i64>,
    last_id: Option<String>,
    bulk_job_id: Option<String>,
    bulk_api_version: Option<String>,
    bulk_locator: Option<String>,
    bulk_offset: i64,
    bulk_since: Option<i64>,
    bulk_began: Option<i64>,
    bulk_replaced: i64,
}

impl From<CursorRow> for Cursor {
    fn from(r: CursorRow) -> Self {
        let bulk = r.bulk_began.map(|began| BulkCursor {
            job: r
                .bulk_job_id
                .zip(r.bulk_api_version)
                .map(|(id, api_version)| BulkJobRef { id, api_version }),
            locator: r.bulk_locator,
            offset: r.bulk_offset.max(0) as u64,
            since: r.bulk_since,
            began,
            replaced: r.bulk_replaced != 0,
        });
        Cursor { backfill_done: r.backfill_done != 0, position: r.modstamp.zip(r.last_id), bulk }
    }
}

/// Saves the cursor inside the transaction that wrote what it counts.
pub async fn save_cursor(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    c: &Cursor,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO sync_cursors (workspace_id, object_type, backfill_done, modstamp, last_id, \
             bulk_job_id, bulk_api_version, bulk_locator, bulk_offset, bulk_since, bulk_began, bulk_replaced) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (workspace_id, object_type) DO UPDATE SET backfill_done = excluded.backfill_done, \
             modstamp = excluded.modstamp, last_id = excluded.last_id, bulk_job_id = excluded.bulk_job_id, \
             bulk_api_version = excluded.bulk_api_version, bulk_locator = excluded.bulk_locator, \
             bulk_offset = excluded.bulk_offset, bulk_since = excluded.bulk_since, \
             bulk_began = excluded.bulk_began, bulk_replaced = excluded.bulk_replaced",
        )
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(c.backfill_done as i64)
        .bind(c.position.as_ref().map(|p| p.0))
        .bind(c.position.as_ref().map(|p| p.1.as_str()))
        .bind(c.bulk.as_ref().and_then(|b| b.job.as_ref()).map(|j| j.id.as_str()))
        .bind(c.bulk.as_ref().and_then(|b| b.job.as_ref()).map(|j| j.api_version.as_str()))
        .bind(c.bulk.as_ref().and_then(|b| b.locator.as_deref()))
        .bind(c.bulk.as_ref().map_or(0, |b| b.offset as i64))
        .bind(c.bulk.as_ref().and_then(|b| b.since))
        .bind(c.bulk.as_ref().map(|b| b.began))
        .bind(c.bulk.as_ref().is_some_and(|b| b.replaced) as i64)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// The records processed inside the overlap window (modstamp at or after `from`), by Salesforce
/// id.
pub async fn load_seen(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
    from: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT salesforce_id, modstamp FROM sync_seen WHERE workspace_id = $1 AND object_type = $2 AND modstamp >= $3",
        )
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(from)
        .fetch_all(pool)
        .await?;
        Ok(rows.into_iter().collect())
    })
}

/// Remembers `seen` records (`(Salesforce id, modstamp)`) and forgets those that fell out of the
/// window (before `from`).
pub async fn save_seen(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    seen: &[(String, i64)],
    from: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        for chunk in seen.chunks(SEEN_CHUNK) {
            let mut qb: QueryBuilder<_> = QueryBuilder::new(
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
            "DELETE FROM sync_seen WHERE workspace_id = $1 AND object_type = $2 AND modstamp < $3",
        )
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(from)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}
