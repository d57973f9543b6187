//! Deleting history older than a workspace keeps: its runs with their records, touches and message
//! rows, and the record directory's entries whose latest run is gone. Done in small steps, each
//! its own short transaction, so the live pages and a running backfill never wait on a pass for
//! more than one step's time.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::RunId;

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

/// The oldest expired runs a step works on: those still in progress stay until they end.
const OLDEST_EXPIRED: &str = "SELECT id FROM sync_runs WHERE workspace_id = $1 AND id < $2 \
     AND status <> 'in_progress' ORDER BY id LIMIT $3";

/// One step of deleting the workspace's history from before `cutoff_ms` (Unix ms): up to
/// [`STEP_ROWS`] records of the oldest expired runs (up to [`STEP_ROWS`] runs, so a minute's small
/// runs go a thousand records at a time, not a run at a time), or else their touches, or else
/// those runs themselves, now empty (their message rows go with them); once no expired run is
/// left, the directory's entries whose latest run is older.
pub async fn delete_expired_step(
    db: &Db,
    ws: &WorkspaceId,
    cutoff_ms: i64,
) -> Result<Step, StoreError> {
    let bound = RunId::lower_bound(cutoff_ms);
    // Rows are deleted by key, found through the oldest runs' ids (no order within them needed:
    // every one of them goes).
    let records = delete_rows(
        db,
        ws,
        bound,
        &format!(
            "DELETE FROM run_records WHERE (run_id, seq) IN \
             (SELECT run_id, seq FROM run_records WHERE run_id IN ({OLDEST_EXPIRED}) LIMIT $3)"
        ),
    )
    .await?;
    if records > 0 {
        return Ok(Step { records, ..Step::default() });
    }
    let touches = delete_rows(
        db,
        ws,
        bound,
        &format!(
            "DELETE FROM record_touches WHERE workspace_id = $1 AND (record_key, run_id, seq) IN \
             (SELECT record_key, run_id, seq FROM record_touches WHERE run_id IN ({OLDEST_EXPIRED}) LIMIT $3)"
        ),
    )
    .await?;
    if touches > 0 {
        return Ok(Step { index_rows: touches, ..Step::default() });
    }
    // A run that ended since the records' delete may still hold some: it waits for the next step.
    let runs = delete_rows(
        db,
        ws,
        bound,
        &format!(
            "DELETE FROM sync_runs WHERE id IN ({OLDEST_EXPIRED}) \
             AND NOT EXISTS (SELECT 1 FROM run_records r WHERE r.run_id = sync_runs.id) \
             AND NOT EXISTS (SELECT 1 FROM record_touches t WHERE t.run_id = sync_runs.id)"
        ),
    )
    .await?;
    if runs > 0 {
        return Ok(Step { runs, ..Step::default() });
    }
    // The runs are gone: the directory's entries for records no kept run touched go too.
    let n = delete_rows(
        db,
        ws,
        bound,
        "DELETE FROM sync_records WHERE workspace_id = $1 AND record_key IN \
         (SELECT record_key FROM sync_records WHERE workspace_id = $1 AND last_run_id < $2 \
          ORDER BY last_run_id LIMIT $3)",
    )
    .await?;
    // Done when nothing was left, unless a run is still in progress past the cutoff: it is not
    // expired yet (it waits for a later pass), so it does not hold this one.
    Ok(Step { index_rows: n, done: n == 0, ..Step::default() })
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

/// Runs one of a step's deletes (`$1` the workspace, `$2` the cutoff's lowest run id, `$3`
/// [`STEP_ROWS`]) in a transaction of its own, and says how many rows went.
async fn delete_rows(
    db: &Db,
    ws: &WorkspaceId,
    bound: RunId,
    sql: &str,
) -> Result<u64, StoreError> {
    Ok(on_db!(db, |pool| {
        sqlx::query(sql)
            .bind(ws.as_str())
            .bind(bound.0)
            .bind(STEP_ROWS)
            .execute(pool)
            .await?
            .rows_affected()
    }))
}
