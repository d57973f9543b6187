//! The Recent sync health card's figures: runs, records and messages of a window, by hour.

use super::{RunRow, RUN_COLUMNS};
use crate::domain::health::{FailureGroup, HourBucket, SyncHealth};
use crate::domain::{Direction, RunId, RunMessage, SyncRun};
use crate::store::{Db, StoreError, WorkspaceId};
use uuid::Uuid;

/// A message group: code, records, runs, newest run, directions (count, one of them), object
/// types (count, one of them).
type GroupRow = (String, i64, i64, Uuid, i64, String, i64, String);

/// The Recent sync health card: runs started since `since_ms`; `now_ms` ends the chart.
pub async fn health(
    db: &Db,
    ws: &WorkspaceId,
    since_ms: i64,
    now_ms: i64,
) -> Result<SyncHealth, StoreError> {
    let since = RunId::lower_bound(since_ms).0;
    // Sums are cast back to integers: PostgreSQL sums BIGINTs as NUMERIC.
    let (completed, failed, in_progress, created, updated, deleted, skipped, rec_failed): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT CAST(COUNT(*) FILTER (WHERE status = 'completed') AS BIGINT), \
                    CAST(COUNT(*) FILTER (WHERE status = 'failed') AS BIGINT), \
                    CAST(COUNT(*) FILTER (WHERE status = 'in_progress') AS BIGINT), \
                    CAST(COALESCE(SUM(created), 0) AS BIGINT), CAST(COALESCE(SUM(updated), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(deleted), 0) AS BIGINT), CAST(COALESCE(SUM(skipped), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(failed), 0) AS BIGINT) \
             FROM sync_runs WHERE workspace_id = $1 AND id >= $2",
        )
        .bind(ws.as_str())
        .bind(since)
        .fetch_one(pool)
        .await
    })?;
    let mut last = Vec::new();
    for d in [Direction::Inbound, Direction::Outbound] {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs r WHERE workspace_id = $1 AND direction = $2 ORDER BY id DESC LIMIT 1"
        );
        let row: Option<RunRow> = on_db!(db, |pool| {
            sqlx::query_as(&sql).bind(ws.as_str()).bind(d.as_str()).fetch_optional(pool).await?
        });
        last.push(row.map(SyncRun::try_from).transpose()?);
    }
    // From the message index, not the records: a window holding a backfill of 50,000 records
    // costs what any other does. Its rows with records (not a whole-run failure's) are the
    // skipped and failed records by message; the direction and object type come along when a
    // message is specific to one of them, so its link can narrow the activity to them.
    // PostgreSQL has no MAX of a UUID: the newest run is the first of them in descending order.
    let groups: Vec<GroupRow> = on_db!(db, |pool, pg| {
        sqlx::query_as(&format!(
        "SELECT code, CAST(SUM(records) AS BIGINT), COUNT(*), {newest}, \
                COUNT(DISTINCT direction), MIN(direction), COUNT(DISTINCT object_type), MIN(object_type) \
         FROM run_messages WHERE workspace_id = $1 AND run_id >= $2 AND records > 0 \
         GROUP BY code ORDER BY SUM(records) DESC",
        newest = if pg { "(array_agg(run_id ORDER BY run_id DESC))[1]" } else { "MAX(run_id)" },
    ))
    .bind(ws.as_str())
    .bind(since)
    .fetch_all(pool)
    .await
    })?;
    let run_failures: Vec<(String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT failure_code, COUNT(*) FROM sync_runs WHERE workspace_id = $1 AND id >= $2 \
         AND status = 'failed' GROUP BY failure_code ORDER BY COUNT(*) DESC",
    )
    .bind(ws.as_str())
    .bind(since)
    .fetch_all(pool)
    .await)?;
    let hours: Vec<(i64, i64, i64, i64, i64)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT started_at / 3600000 * 3600000 AS hour, CAST(SUM(created + updated + deleted) AS BIGINT), \
                CAST(SUM(skipped) AS BIGINT), CAST(SUM(failed) AS BIGINT), \
                COUNT(*) FILTER (WHERE status = 'failed') \
         FROM sync_runs WHERE workspace_id = $1 AND id >= $2 GROUP BY hour ORDER BY hour",
    )
    .bind(ws.as_str())
    .bind(since)
    .fetch_all(pool)
    .await
    })?;
    let mut last = last.into_iter();
    Ok(SyncHealth {
        hourly: hourly_buckets(now_ms, &hours),
        since_ms,
        runs_completed: completed,
        runs_failed: failed,
        runs_in_progress: in_progress,
        records_synced: created + updated + deleted,
        records_skipped: skipped,
        records_failed: rec_failed,
        last_inbound: last.next().flatten(),
        last_outbound: last.next().flatten(),
        record_messages: groups
            .into_iter()
            .filter_map(|(code, records, runs, latest, directions, direction, objects, object)| {
                crate::domain::RecordMessage::from_code(&code).map(|message| FailureGroup {
                    message,
                    records,
                    runs,
                    latest_run: RunId(latest),
                    direction: if directions == 1 { Direction::parse(&direction) } else { None },
                    object: if objects == 1 {
                        crate::domain::ObjectType::parse(&object)
                    } else {
                        None
                    },
                })
            })
            .collect(),
        run_failures: run_failures
            .into_iter()
            .filter_map(|(code, runs)| RunMessage::from_code(&code).map(|m| (m, runs)))
            .collect(),
        storage: None,
    })
}

/// The chart's 24 hours, the last one holding `now_ms`, zeros where nothing ran. The window
/// starts part-way through the hour before the first bar: its runs count in the first bar, so
/// the bars add up to the card's numbers.
pub(crate) fn hourly_buckets(now_ms: i64, rows: &[(i64, i64, i64, i64, i64)]) -> Vec<HourBucket> {
    const HOUR: i64 = 3_600_000;
    let first = now_ms.div_euclid(HOUR) * HOUR - 23 * HOUR;
    let mut out: Vec<HourBucket> = (0..24)
        .map(|i| HourBucket {
            hour_ms: first + i * HOUR,
            synced: 0,
            skipped: 0,
            failed: 0,
            failed_runs: 0,
        })
        .collect();
    for &(hour, synced, skipped, failed, failed_runs) in rows {
        let i = usize::try_from((hour - first).div_euclid(HOUR)).unwrap_or(0).min(23);
        let b = &mut out[i];
        b.synced += synced;
        b.skipped += skipped;
        b.failed += failed;
        b.failed_runs += failed_runs;
    }
    out
}
