//! Store functions the sync engine needs beyond the runs API: appending a run's records inside a
//! transaction the engine already holds, so that Conversion's data, the inbound cursor and the
//! records that report them commit together (a crash can never count a record twice).

use super::{StoreError, WorkspaceId};
use crate::domain::{Counts, RecordMessage, RunId};
use super::NewRecord;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

const INSERT_CHUNK: usize = 200;

/// Like [`super::append_records`], on the caller's connection (inside its transaction).
pub async fn append_records_in(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    run: RunId,
    records: &[NewRecord],
) -> Result<Counts, StoreError> {
    let (next_seq, status): (i64, String) =
        sqlx::query_as("SELECT next_seq, status FROM sync_runs WHERE workspace_id = ? AND id = ?")
            .bind(ws.as_str())
            .bind(run.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::RowNotFound)?;
    if status != "in_progress" {
        return Err(StoreError::Protocol(format!("run {run} is {status}; records can only be added while in progress")));
    }
    let mut delta = Counts::default();
    for (chunk_no, chunk) in records.chunks(INSERT_CHUNK).enumerate() {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO run_records (run_id, seq, status, action, message_code, detail, salesforce_id, \
             conversion_id, label, external_created_at, external_updated_at) ",
        );
        let base = next_seq + (chunk_no * INSERT_CHUNK) as i64;
        qb.push_values(chunk.iter().enumerate(), |mut b, (i, r)| {
            b.push_bind(run.0)
                .push_bind(base + i as i64)
                .push_bind(r.status.as_str())
                .push_bind(r.action.as_str())
                .push_bind(r.message.map(RecordMessage::code))
                .push_bind(r.detail.clone())
                .push_bind(r.salesforce_id.clone())
                .push_bind(r.conversion_id.clone())
                .push_bind(r.label.clone())
                .push_bind(r.external_created_at)
                .push_bind(r.external_updated_at);
        });
        qb.build().execute(&mut *conn).await?;
        for r in chunk {
            delta.add(r.status, r.action);
        }
    }
    let c: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "UPDATE sync_runs SET created = created + ?, updated = updated + ?, deleted = deleted + ?, \
         skipped = skipped + ?, failed = failed + ?, next_seq = next_seq + ? \
         WHERE workspace_id = ? AND id = ? RETURNING created, updated, deleted, skipped, failed",
    )
    .bind(delta.created)
    .bind(delta.updated)
    .bind(delta.deleted)
    .bind(delta.skipped)
    .bind(delta.failed)
    .bind(records.len() as i64)
    .bind(ws.as_str())
    .bind(run.0)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Counts { created: c.0, updated: c.1, deleted: c.2, skipped: c.3, failed: c.4 })
}
