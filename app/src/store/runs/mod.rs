//! Runs: the store API the sync engine writes through, and the list queries the pages read. This
//! module owns the runs aggregate (`sync_runs`, `run_records`, `run_messages`): a run's records
//! are in [`records`], the health card's figures in [`health`].

pub mod health;
pub mod records;
pub mod retention;
pub mod touches;

use super::{Db, Exec, StoreError, Tx, WorkspaceId};
use crate::domain::{
    Counts, Direction, ObjectType, RunFailure, RunFilters, RunId, RunMessage, RunStatus, SyncRun,
    Trigger,
};
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

/// Runs per page of the list.
pub const PAGE_SIZE: i64 = crate::domain::RUNS_PAGE_SIZE;
/// A poll watches at most this many runs (a page's worth, with room for arrivals).
const MAX_WATCHED: usize = 100;

/// A run's columns, of `sync_runs r` (qualified: `run_messages` has a direction and object type too).
pub(super) const RUN_COLUMNS: &str = "r.id, r.direction, r.object_type, r.trigger, r.status, r.started_at, r.finished_at, \
    r.expected_total, r.created, r.updated, r.deleted, r.skipped, r.failed, r.failure_code, r.failure_detail, r.retry_of";

#[derive(sqlx::FromRow)]
pub(super) struct RunRow {
    id: Uuid,
    direction: String,
    object_type: String,
    trigger: String,
    status: String,
    started_at: i64,
    finished_at: Option<i64>,
    expected_total: Option<i64>,
    created: i64,
    updated: i64,
    deleted: i64,
    skipped: i64,
    failed: i64,
    failure_code: Option<String>,
    failure_detail: Option<String>,
    retry_of: Option<Uuid>,
}

fn decode_err(what: &str, value: &str) -> StoreError {
    StoreError::Decode(format!("unknown {what} code {value:?} in sync_runs").into())
}

impl TryFrom<RunRow> for SyncRun {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        let failure = match r.failure_code.as_deref() {
            None => None,
            Some(code) => Some(RunFailure {
                message: RunMessage::from_code(code).ok_or_else(|| decode_err("failure", code))?,
                detail: r.failure_detail.unwrap_or_default(),
            }),
        };
        Ok(SyncRun {
            id: RunId(r.id),
            direction: Direction::parse(&r.direction)
                .ok_or_else(|| decode_err("direction", &r.direction))?,
            object_type: ObjectType::parse(&r.object_type)
                .ok_or_else(|| decode_err("object type", &r.object_type))?,
            trigger: Trigger::parse(&r.trigger).ok_or_else(|| decode_err("trigger", &r.trigger))?,
            status: RunStatus::parse(&r.status).ok_or_else(|| decode_err("status", &r.status))?,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: Counts {
                created: r.created,
                updated: r.updated,
                deleted: r.deleted,
                skipped: r.skipped,
                failed: r.failed,
            },
            expected_total: r.expected_total,
            failure,
            retry_of: r.retry_of.map(RunId),
        })
    }
}

fn into_runs(rows: Vec<RunRow>) -> Result<Vec<SyncRun>, StoreError> {
    rows.into_iter().map(SyncRun::try_from).collect()
}

/// What the engine knows when a batch starts.
#[derive(Clone, Debug)]
pub struct NewRun {
    pub direction: Direction,
    pub object_type: ObjectType,
    pub trigger: Trigger,
    pub started_at: i64,
    pub expected_total: Option<i64>,
}

/// Starts a run (status in progress, all counts zero).
pub async fn begin_run(db: &Db, ws: &WorkspaceId, run: &NewRun) -> Result<RunId, StoreError> {
    begin_run_listed_at(db, ws, run, run.started_at).await
}

/// Starts a run whose work began before it could be listed: an inbound batch starts with the fetch
/// of its first page, and is known to hold records only once that page is in hand. Its start
/// (`run.started_at`) is when the work began; its id is taken at `listed_at` (now), so the list,
/// ordered by id, receives it after every run already listed, and a live page that asks for runs
/// newer than its newest still gets it.
pub async fn begin_run_listed_at<'a>(
    on: impl Into<Exec<'a>>,
    ws: &WorkspaceId,
    run: &NewRun,
    listed_at: i64,
) -> Result<RunId, StoreError> {
    let id = RunId::new_at(listed_at.max(run.started_at));
    on_exec!(on.into(), |e| {
        sqlx::query(
        "INSERT INTO sync_runs (id, workspace_id, direction, object_type, trigger, status, started_at, expected_total) \
         VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7)",
    )
    .bind(id.0)
    .bind(ws.as_str())
    .bind(run.direction.as_str())
    .bind(run.object_type.as_str())
    .bind(run.trigger.as_str())
    .bind(run.started_at)
    .bind(run.expected_total)
    .execute(e)
    .await
    .map(|_| ())
    })?;
    Ok(id)
}

/// Links a run started by "Retry" to the run whose records it retries.
pub async fn link_retry<'a>(
    on: impl Into<Exec<'a>>,
    ws: &WorkspaceId,
    run: RunId,
    retry_of: RunId,
) -> Result<(), StoreError> {
    on_exec!(on.into(), |e| sqlx::query(
        "UPDATE sync_runs SET retry_of = $1 WHERE workspace_id = $2 AND id = $3"
    )
    .bind(retry_of.0)
    .bind(ws.as_str())
    .bind(run.0)
    .execute(e)
    .await
    .map(|_| ()))
}

/// Marks a run completed. Returns false if it was not in progress (already finished or failed).
pub async fn finish_run<'a>(
    on: impl Into<Exec<'a>>,
    ws: &WorkspaceId,
    id: RunId,
    finished_at: i64,
) -> Result<bool, StoreError> {
    let done = on_exec!(on.into(), |e| sqlx::query(
        "UPDATE sync_runs SET status = 'completed', finished_at = $1 \
         WHERE workspace_id = $2 AND id = $3 AND status = 'in_progress'",
    )
    .bind(finished_at)
    .bind(ws.as_str())
    .bind(id.0)
    .execute(e)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Marks a whole run failed with one of the article's whole-run messages.
pub async fn fail_run<'a>(
    on: impl Into<Exec<'a>>,
    ws: &WorkspaceId,
    id: RunId,
    finished_at: i64,
    failure: &RunFailure,
) -> Result<bool, StoreError> {
    let done = on_exec!(on.into(), |e| {
        sqlx::query(
        "UPDATE sync_runs SET status = 'failed', finished_at = $1, failure_code = $2, failure_detail = $3 \
         WHERE workspace_id = $4 AND id = $5 AND status = 'in_progress'",
    )
    .bind(finished_at)
    .bind(failure.message.code())
    .bind(&failure.detail)
    .bind(ws.as_str())
    .bind(id.0)
    .execute(e)
    .await?
    .rows_affected()
    });
    Ok(done == 1)
}

/// At start-up: the workspace's runs left in progress whose work no live server holds (a previous
/// process's, or this server's previous life's, whose leases it has let go) can never finish; they
/// fail, each saying what it had saved: a batch commits as it goes, so those records stay (and
/// stay counted), and only the rest is done again by whoever owns the work. A run whose work a
/// live server holds is left to it; if that server is gone, whoever takes its lease fails the run.
pub async fn fail_interrupted_runs(
    db: &Db,
    ws: &WorkspaceId,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    // A run whose work is leased to a live server is that server's to finish (several servers
    // share one database).
    let left: Vec<(Uuid, String, i64, Option<i64>)> = on_tx!(&mut tx, |c| {
        sqlx::query_as(
        "SELECT id, direction, created + updated + deleted + skipped + failed, expected_total FROM sync_runs r \
         WHERE workspace_id = $1 AND status = 'in_progress' AND NOT EXISTS (\
           SELECT 1 FROM sync_leases l WHERE l.workspace_id = r.workspace_id AND l.holder IS NOT NULL \
           AND l.expires_at > $2 AND l.work = CASE r.direction WHEN 'inbound' THEN 'inbound:' || r.object_type \
           ELSE 'outbound' END)",
    )
    .bind(ws.as_str())
    .bind(now_ms)
    .fetch_all(c)
    .await
    })?;
    fail_left_in(&mut tx, ws, &left, now_ms, None).await?;
    tx.commit().await?;
    Ok(left.len() as u64)
}

/// Fails the runs of one piece of work (`direction`, and `object` for inbound) that `server` left
/// in progress when it stopped and its lease ran out, in the transaction of whoever took the work
/// over (fenced by its new lease). Each says what it had saved, and which server stopped.
pub async fn fail_taken_over_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    direction: Direction,
    object: Option<ObjectType>,
    now_ms: i64,
    server: &str,
) -> Result<u64, StoreError> {
    let left: Vec<(Uuid, String, i64, Option<i64>)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT id, direction, created + updated + deleted + skipped + failed, expected_total FROM sync_runs \
         WHERE workspace_id = $1 AND status = 'in_progress' AND direction = $2 AND ($3 IS NULL OR object_type = $3)",
    )
    .bind(ws.as_str())
    .bind(direction.as_str())
    .bind(object.map(|o| o.as_str()))
    .fetch_all(c)
    .await
    })?;
    fail_left_in(tx, ws, &left, now_ms, Some(server)).await?;
    Ok(left.len() as u64)
}

async fn fail_left_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    left: &[(Uuid, String, i64, Option<i64>)],
    now_ms: i64,
    server: Option<&str>,
) -> Result<(), StoreError> {
    for (id, direction, saved, expected) in left {
        let direction =
            Direction::parse(direction).ok_or_else(|| decode_err("direction", direction))?;
        let detail =
            crate::domain::interrupted::interrupted_on(direction, *saved, *expected, server);
        on_tx!(&mut *tx, |c| {
            sqlx::query(
            "UPDATE sync_runs SET status = 'failed', finished_at = $1, failure_code = $2, failure_detail = $3 \
             WHERE workspace_id = $4 AND id = $5",
        )
        .bind(now_ms)
        .bind(RunMessage::UnknownError.code())
        .bind(&detail)
        .bind(ws.as_str())
        .bind(id)
        .execute(c)
        .await
        .map(|_| ())
        })?;
    }
    Ok(())
}

/// Fails the runs of `direction` (of `object`, when given) still in progress although nobody works
/// on them any more: their sync stopped on a storage error before it could write their end. Only
/// called by whoever holds the lease of that work (the object's inbound sync, or the outbox), in
/// its fenced transaction, so a run being worked on is never touched.
pub async fn fail_abandoned_runs(
    tx: &mut Tx,
    ws: &WorkspaceId,
    direction: Direction,
    object: Option<ObjectType>,
    now_ms: i64,
    detail: &str,
) -> Result<u64, StoreError> {
    let abandoned: Vec<(Uuid,)> = on_tx!(&mut *tx, |c| {
        sqlx::query_as(
        "SELECT id FROM sync_runs WHERE workspace_id = $1 AND status = 'in_progress' AND direction = $2 \
         AND ($3 IS NULL OR object_type = $3)",
    )
    .bind(ws.as_str())
    .bind(direction.as_str())
    .bind(object.map(|o| o.as_str()))
    .fetch_all(c)
    .await
    })?;
    let failure = RunFailure { message: RunMessage::UnknownError, detail: detail.to_string() };
    let mut failed = 0;
    for (id,) in abandoned {
        failed += u64::from(fail_run(&mut *tx, ws, RunId(id), now_ms, &failure).await?);
    }
    Ok(failed)
}

/// Whether the workspace has a run of `direction` in progress (the in-progress index: a few rows).
pub async fn has_runs_in_progress(
    db: &Db,
    ws: &WorkspaceId,
    direction: Direction,
) -> Result<bool, StoreError> {
    let (any,): (bool,) = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM sync_runs WHERE workspace_id = $1 AND status = 'in_progress' \
         AND direction = $2)",
    )
    .bind(ws.as_str())
    .bind(direction.as_str())
    .fetch_one(pool)
    .await
    })?;
    Ok(any)
}

pub async fn get_run(db: &Db, ws: &WorkspaceId, id: RunId) -> Result<Option<SyncRun>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs r WHERE workspace_id = $1 AND id = $2");
    let row: Option<RunRow> = on_db!(db, |pool| {
        sqlx::query_as(&sql).bind(ws.as_str()).bind(id.0).fetch_optional(pool).await?
    });
    row.map(SyncRun::try_from).transpose()
}

/// Which index drives a filtered scan. Every choice reads the runs in id order (start time), so
/// the cursor and the date range are ranges on it and no page is sorted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// `sync_runs` by one of its `(workspace_id, [direction,] [object_type,] id)` indexes.
    Runs,
    /// `sync_runs_by_status`: failed and in-progress runs are few, so they drive, and a message
    /// is then a primary-key probe of `run_messages`.
    Status,
    /// `run_messages` for one message (with its copies of direction and object type), each run then
    /// fetched by primary key: a rare message costs what a common one does.
    Message,
}

fn driver(f: &RunFilters) -> Driver {
    match (f.status, f.message) {
        (Some(RunStatus::Failed | RunStatus::InProgress), _) => Driver::Status,
        (_, Some(_)) => Driver::Message,
        _ => Driver::Runs,
    }
}

/// The column a filtered query orders and pages by.
fn id_col(f: &RunFilters) -> &'static str {
    if driver(f) == Driver::Message {
        "m.run_id"
    } else {
        "r.id"
    }
}

/// `SELECT … FROM` the runs matching `f` (never the cursor), in `pg`'s dialect or SQLite's.
fn filtered<'a, DB>(
    select: &str,
    ws: &'a WorkspaceId,
    f: &RunFilters,
    pg: bool,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    Uuid: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(select);
    let by = driver(f);
    match by {
        Driver::Message => {
            let m = f.message.expect("the message driver has a message");
            // SQLite's CROSS JOIN keeps run_messages the outer loop; PostgreSQL's planner picks
            // the order from its statistics.
            qb.push(if pg {
                " FROM run_messages m JOIN sync_runs r ON r.id = m.run_id WHERE m.workspace_id = "
            } else {
                " FROM run_messages m CROSS JOIN sync_runs r ON r.id = m.run_id WHERE m.workspace_id = "
            })
                .push_bind(ws.as_str())
                .push(" AND m.code = ")
                .push_bind(m.code())
                .push(" AND r.workspace_id = ")
                .push_bind(ws.as_str());
        }
        Driver::Status => {
            qb.push(if pg {
                " FROM sync_runs r WHERE r.workspace_id = "
            } else {
                " FROM sync_runs r INDEXED BY sync_runs_by_status WHERE r.workspace_id = "
            })
            .push_bind(ws.as_str());
            if let Some(m) = f.message {
                qb.push(" AND EXISTS (SELECT 1 FROM run_messages m WHERE m.workspace_id = r.workspace_id AND m.code = ")
                    .push_bind(m.code())
                    .push(" AND m.run_id = r.id)");
            }
        }
        Driver::Runs => {
            qb.push(" FROM sync_runs r WHERE r.workspace_id = ").push_bind(ws.as_str());
        }
    }
    // With the message driver the copies in run_messages narrow the scan itself.
    let t = if by == Driver::Message { "m" } else { "r" };
    if let Some(d) = f.direction {
        qb.push(format!(" AND {t}.direction = ")).push_bind(d.as_str());
    }
    if let Some(o) = f.object_type {
        qb.push(format!(" AND {t}.object_type = ")).push_bind(o.as_str());
    }
    if let Some(s) = f.status {
        qb.push(" AND r.status = ").push_bind(s.as_str());
    }
    let id = id_col(f);
    if let Some(from) = f.from_ms {
        qb.push(format!(" AND {id} >= ")).push_bind(RunId::lower_bound(from).0);
    }
    if let Some(to) = f.to_ms {
        qb.push(format!(" AND {id} < ")).push_bind(RunId::lower_bound(to).0);
    }
    qb
}

/// Whether any run matching `f` lies beyond `run` (older when `older`, else newer).
async fn exists_beyond(
    db: &Db,
    ws: &WorkspaceId,
    f: &RunFilters,
    run: RunId,
    older: bool,
) -> Result<bool, StoreError> {
    let id = id_col(f);
    // Ordered by the key it is a range on, so the nearest run is read from the index whatever the
    // plan: PostgreSQL reuses a plan made without the bound values after a few executions, and
    // without the order that plan can be a scan of the whole table (hundreds of ms at a million
    // runs; docs/BENCHMARKS.md).
    let (op, order) = if older { ("<", "DESC") } else { (">", "ASC") };
    let found = on_db!(db, |pool, pg| {
        let mut qb = filtered("SELECT 1", ws, f, pg);
        qb.push(format!(" AND {id} {op} "))
            .push_bind(run.0)
            .push(format!(" ORDER BY {id} {order} LIMIT 1"));
        qb.build().fetch_optional(pool).await?.is_some()
    });
    Ok(found)
}

/// One page of the list, newest first, with the cursors of its neighbours.
#[derive(Clone, Debug)]
pub struct RunsPage {
    pub runs: Vec<SyncRun>,
    /// Set when newer runs exist: the previous page is `after=<this>`.
    pub newer: Option<RunId>,
    /// Set when older runs exist: the next page is `before=<this>`.
    pub older: Option<RunId>,
}

/// A page of runs by keyset: `before` / `after` in `f` position it; the cost does not depend on
/// how deep the page is.
pub async fn list_runs(
    db: &Db,
    ws: &WorkspaceId,
    f: &RunFilters,
    limit: i64,
) -> Result<RunsPage, StoreError> {
    let id = id_col(f);
    let ascending = f.after.is_some() && f.before.is_none();
    let select = format!("SELECT {RUN_COLUMNS}");
    let rows: Vec<RunRow> = on_db!(db, |pool, pg| {
        let mut qb = filtered(&select, ws, f, pg);
        if let Some(before) = f.before {
            qb.push(format!(" AND {id} < ")).push_bind(before.0);
        } else if let Some(after) = f.after {
            qb.push(format!(" AND {id} > ")).push_bind(after.0);
        }
        qb.push(format!(" ORDER BY {id} {}", if ascending { "ASC" } else { "DESC" }));
        qb.push(" LIMIT ").push_bind(limit);
        qb.build_query_as().fetch_all(pool).await?
    });
    let mut runs = into_runs(rows)?;
    if ascending {
        runs.reverse();
    }
    let (newer, older) = match (runs.first(), runs.last()) {
        (Some(first), Some(last)) => (
            exists_beyond(db, ws, f, first.id, false).await?.then_some(first.id),
            exists_beyond(db, ws, f, last.id, true).await?.then_some(last.id),
        ),
        _ => (None, None),
    };
    Ok(RunsPage { runs, newer, older })
}

/// A run a live page shows in progress, with how many records it showed for it (when known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchedRun {
    pub id: RunId,
    pub processed: Option<i64>,
}

impl WatchedRun {
    /// Still in progress with the same records: the page already shows it exactly. Counts only
    /// grow, and any other change (status, finish time, failure) takes the run out of progress.
    fn unchanged(&self, run: &SyncRun) -> bool {
        run.id == self.id
            && run.status == RunStatus::InProgress
            && self.processed == Some(run.counts.processed())
    }

    /// `<run id>` or `<run id>~<records shown>`, as a poll's `watch` list carries it.
    pub fn parse(s: &str) -> Option<Self> {
        let (id, processed) = match s.split_once('~') {
            Some((id, n)) => (id, Some(n.trim().parse().ok()?)),
            None => (s, None),
        };
        Some(Self { id: RunId::parse(id)?, processed })
    }
}

/// What a live page needs since it last looked: runs newer than `newest` that match the filters
/// (newest first, at most a page), and the current state of the runs it `watch`es that changed
/// since (so a poll where nothing moved answers with nothing). Its cost grows
/// with what the page shows, not with the history.
pub async fn poll_runs(
    db: &Db,
    ws: &WorkspaceId,
    f: &RunFilters,
    newest: Option<RunId>,
    watch: &[WatchedRun],
) -> Result<Vec<SyncRun>, StoreError> {
    let mut out = Vec::new();
    if let Some(newest) = newest {
        let select = format!("SELECT {RUN_COLUMNS}");
        let id = id_col(f);
        let rows: Vec<RunRow> = on_db!(db, |pool, pg| {
            let mut qb = filtered(&select, ws, f, pg);
            qb.push(format!(" AND {id} > ")).push_bind(newest.0);
            qb.push(format!(" ORDER BY {id} DESC LIMIT ")).push_bind(PAGE_SIZE);
            qb.build_query_as().fetch_all(pool).await?
        });
        out = into_runs(rows)?;
    }
    let watch: Vec<WatchedRun> = watch
        .iter()
        .copied()
        .filter(|w| !out.iter().any(|r| r.id == w.id))
        .take(MAX_WATCHED)
        .collect();
    if !watch.is_empty() {
        let rows: Vec<RunRow> = on_db!(db, |pool| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs r WHERE workspace_id = "
            ));
            qb.push_bind(ws.as_str()).push(" AND id IN (");
            let mut sep = qb.separated(", ");
            for w in &watch {
                sep.push_bind(w.id.0);
            }
            qb.push(") ORDER BY id DESC");
            qb.build_query_as().fetch_all(pool).await?
        });
        let current = into_runs(rows)?;
        out.extend(current.into_iter().filter(|r| !watch.iter().any(|w| w.unchanged(r))));
    }
    Ok(out)
}

/// Whether the workspace has any run at all (tells "no sync activity yet" from "filters hide all").
pub async fn workspace_has_runs(db: &Db, ws: &WorkspaceId) -> Result<bool, StoreError> {
    let found =
        on_db!(db, |pool| sqlx::query("SELECT 1 FROM sync_runs WHERE workspace_id = $1 LIMIT 1")
            .bind(ws.as_str())
            .fetch_optional(pool)
            .await?
            .is_some());
    Ok(found)
}
