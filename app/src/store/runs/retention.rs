//! Deleting history older than a workspace keeps: its runs with their records, touches and message
//! rows, and the record directory's entries whose latest run is gone. Done in small steps, each
//! its own short transaction, so the live pages and a running backfill never wait on a pass for
//! more than one step's time.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::RunId;
use uuid::Uuid;

/// Rows deleted per step.
pub const STEP_ROWS: i64 = 1_000;

/// What one step deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub runs: u64,
    pub records: u64,
    /// Touches and directory entries.
    pub index_rows: u64,
    /// Nothing older than the cutoff is left.
    pub done: bool,
}

/// One step of deleting the workspace's history from before `cutoff_ms` (Unix ms; a run still in
/// progress stays until it ends): up to
/// [`STEP_ROWS`] records of the oldest such run, or its touches, or the run itself once it is
/// empty (its message rows go with it); then the directory entries whose latest run is older.
pub async fn delete_expired_step(
    db: &Db,
    ws: &WorkspaceId,
    cutoff_ms: i64,
) -> Result<Step, StoreError> {
    let bound = RunId::lower_bound(cutoff_ms);
    let oldest: Option<(Uuid,)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id FROM sync_runs WHERE workspace_id = $1 AND id < $2 AND status <> 'in_progress' \
             ORDER BY id LIMIT 1",
        )
        .bind(ws.as_str())
        .bind(bound.0)
        .fetch_optional(pool)
        .await?
    });
    let mut step = Step::default();
    let Some((run,)) = oldest else {
        // The runs are gone: the directory's entries for records no kept run touched go too.
        let n = on_db!(db, |pool| {
            sqlx::query(
                "DELETE FROM sync_records WHERE workspace_id = $1 AND record_key IN \
                 (SELECT record_key FROM sync_records WHERE workspace_id = $1 AND last_run_id < $2 \
                  ORDER BY last_run_id LIMIT $3)",
            )
            .bind(ws.as_str())
            .bind(bound.0)
            .bind(STEP_ROWS)
            .execute(pool)
            .await?
            .rows_affected()
        });
        step.index_rows = n;
        step.done = n == 0;
        return Ok(step);
    };
    let records = on_db!(db, |pool| {
        sqlx::query(
            "DELETE FROM run_records WHERE run_id = $1 AND seq IN \
             (SELECT seq FROM run_records WHERE run_id = $1 ORDER BY seq LIMIT $2)",
        )
        .bind(run)
        .bind(STEP_ROWS)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if records > 0 {
        step.records = records;
        return Ok(step);
    }
    let touches = on_db!(db, |pool| {
        sqlx::query(
            "DELETE FROM record_touches WHERE run_id = $1 AND record_key IN \
             (SELECT record_key FROM record_touches WHERE run_id = $1 LIMIT $2)",
        )
        .bind(run)
        .bind(STEP_ROWS)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if touches > 0 {
        step.index_rows = touches;
        return Ok(step);
    }
    step.runs = on_db!(db, |pool| {
        sqlx::query("DELETE FROM sync_runs WHERE workspace_id = $1 AND id = $2")
            .bind(ws.as_str())
            .bind(run)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(step)
}

/// When the workspace's oldest kept run started: how far back its history goes.
pub async fn oldest_run_at(db: &Db, ws: &WorkspaceId) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT started_at FROM sync_runs WHERE workspace_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(|(t,)| t))
}
