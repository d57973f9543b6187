//! Inbound: Salesforce → Conversion for one object type.
//!
//! Incremental by `(SystemModstamp, Id)`: each query starts `overlap` before the last committed
//! position (a transaction that commits late still has its records read), and records already
//! processed inside that window are recognised by the seen set and dropped, so none is counted
//! twice. Pages of ~2,000 are split into runs of up to ~5,000 (~50,000 for the first sync, the
//! backfill). Each slice of a page (at most `commit_size` records) commits Conversion's rows, the
//! run's records and the cursor in one transaction: the cursor never moves past work that did not
//! commit, and an in-progress run's counts grow slice by slice.

use super::apply;
use super::lease::Held;
use super::mapping::SfRecord;
use super::state::{self, Cursor};
use super::{millis, Engine, SyncError};
use app::domain::{Direction, ObjectType, RunFailure, RunId, Trigger};
use app::store::leases::{self, Due, Refused};
use app::store::{self, NewRun};

use std::collections::HashMap;
use std::time::Duration;
use tracing::Instrument;

/// What one call to [`sync_object`] did.
#[derive(Debug, Default, Clone)]
pub struct InboundOutcome {
    pub runs: Vec<RunId>,
    /// Records reported in runs (dropped duplicates of the overlap not included).
    pub records: usize,
    /// Set when the last run failed as a whole.
    pub failure: Option<RunFailure>,
    /// The backfill of this object finished during this call.
    pub backfill_finished: bool,
}

/// The current run and how many records it holds.
struct Open {
    id: RunId,
    records: usize,
}

fn soql(object: ObjectType, from: Option<i64>) -> String {
    format!("{} ORDER BY SystemModstamp, Id", select(object, from))
}

/// The query of every field the engine reads of `object`, from `SystemModstamp` `from` on.
pub(super) fn select(object: ObjectType, from: Option<i64>) -> String {
    format!(
        "SELECT {} FROM {}{}",
        super::objects::soql_fields(object),
        object.sobject(),
        since(from)
    )
}

/// The `WHERE` clause of a query from `SystemModstamp` `from` on (none: every record).
pub(super) fn since(from: Option<i64>) -> String {
    from.map(|ms| format!(" WHERE SystemModstamp >= {}", soql_datetime(ms))).unwrap_or_default()
}

/// A SOQL datetime literal with milliseconds: `2024-01-01T00:00:00.000Z`.
pub fn soql_datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Syncs everything new of `object`: a backfill until the first one completes, then incremental.
/// [`SyncError::AlreadyRunning`] when this server or another is syncing it.
pub async fn sync_object(
    engine: &Engine,
    object: ObjectType,
    requested: Trigger,
) -> Result<InboundOutcome, SyncError> {
    match sync_object_if(engine, object, requested, Due::Now).await? {
        Ok(outcome) => Ok(outcome),
        Err(_) => Err(SyncError::AlreadyRunning(object)),
    }
}

/// [`sync_object`] when `due` (the schedule: its interval has passed since any server last synced
/// it) and no server is syncing it; otherwise why not.
pub async fn sync_object_if(
    engine: &Engine,
    object: ObjectType,
    requested: Trigger,
    due: Due,
) -> Result<Result<InboundOutcome, Refused>, SyncError> {
    let _claim = engine.claim(object)?;
    let mut held = match engine.claim_work(leases::inbound_work(object), due).await? {
        Ok(held) => held,
        Err(refused) => return Ok(Err(refused)),
    };
    let synced = sync_held(engine, &held, object, requested).await;
    // Synced, or failed for a reason of its own (retried at the next interval). A failure that
    // pauses the whole sync (the daily limit, a reconnect) leaves it due: when the pause is
    // lifted early, the pass that was held back syncs it at once. So does a stop midway (the
    // server shutting down): the objects after it wait for it to be caught up.
    let paused = |o: &InboundOutcome| {
        o.failure.as_ref().is_some_and(|f| super::batching::stops_the_pass(f.message))
    };
    if synced.as_ref().is_ok_and(|o| !paused(o)) && !engine.is_cancelled() {
        held.done();
    }
    held.release().await;
    synced.map(Ok)
}

/// Syncs `object` under its lease, `held`: every write is fenced by it.
async fn sync_held(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    requested: Trigger,
) -> Result<InboundOutcome, SyncError> {
    held.fail_left_runs(Direction::Inbound, Some(object)).await?;
    let (pool, ws, cfg) = (engine.pool(), engine.workspace(), engine.config());
    let mut cursor = state::load_cursor(pool, ws, object).await?;
    let backfill = !cursor.backfill_done;
    let trigger = if backfill { Trigger::Backfill } else { requested };
    let batch = if backfill { cfg.backfill_batch_size } else { cfg.batch_size }.max(1);
    let overlap = millis(cfg.overlap);
    let from = cursor.position.as_ref().map(|(m, _)| m - overlap);
    let mut seen = match from {
        Some(f) => state::load_seen(pool, ws, object, f).await?,
        None => HashMap::new(),
    };
    let settings = state::settings(pool, ws).await?;
    if backfill {
        let started = engine.now_ms();
        let bulk = super::bulk_backfill::Backfill { engine, held, object };
        match bulk.chosen(&mut cursor, from).await {
            Ok(false) => {}
            Ok(true) => return bulk.run(&mut cursor, &mut seen, &settings).await,
            Err(e) => {
                let run = inbound_run(object, trigger, started, None);
                let failure = engine.fail_whole_run(held, None, run, &e).await?;
                return Ok(InboundOutcome { failure: Some(failure), ..Default::default() });
            }
        }
    }
    let query = soql(object, from);
    // The backfill reads live records; afterwards queryAll also brings deletions.
    let mut stream = if backfill {
        engine.client().query::<SfRecord>(query)
    } else {
        engine.client().query_all::<SfRecord>(query)
    }
    .batch_size(cfg.page_size);

    let mut out = InboundOutcome::default();
    let mut open: Option<Open> = None;
    let mut consumed: u64 = 0;
    // A run covers the wait for Salesforce as well as the writing: it starts when the fetch of its
    // first page starts (`started_at`), though it is listed only once that page is in hand and
    // known to hold records (an incremental sync that finds nothing makes no run).
    let new_run =
        |started_at: i64, expected: Option<i64>| inbound_run(object, trigger, started_at, expected);
    // The next page is fetched while the current one commits: the org's answer and its decoding
    // overlap SQLite's work instead of adding to it.
    let mut fetch_started = engine.now_ms();
    let mut fetched = stream.next_page().await;
    // Records per transaction: a small first slice measures how quick writing is; then a whole
    // page while writing one is quick, fewer when it is slow.
    let mut slice = cfg.commit_size.clamp(1, FIRST_SLICE);
    loop {
        // SIGTERM: the page in hand has been committed or rolled back; stop here.
        if engine.is_cancelled() {
            break;
        }
        // When the fetch of the page in hand began: the start of a run that begins with it.
        let page_started = fetch_started;
        let page = match fetched {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(e) => {
                let e = SyncError::from(e);
                out.failure = Some(
                    engine
                        .fail_whole_run(
                            held,
                            open.take().map(|o| o.id),
                            new_run(page_started, None),
                            &e,
                        )
                        .await?,
                );
                return Ok(out);
            }
        };
        let total = stream.total_size().unwrap_or(0);
        let last_page = page.done;
        let page_len = page.records.len() as u64;
        let records: Vec<SfRecord> = page
            .records
            .into_iter()
            .filter(|r| match (r.id.as_deref(), r.modstamp()) {
                (Some(id), Some(m)) => seen.get(id) != Some(&m),
                _ => true,
            })
            .collect();
        // The backfill reads live records only; incremental syncs may drop deletions.
        let (records, unheard) = if backfill {
            (records, None)
        } else {
            drop_unheard_deletions(engine, object, records).await?
        };
        let commit_page = async {
            let mut rest = &records[..];
            let slice = &mut slice;
            while !rest.is_empty() {
                let current = match open.take() {
                    Some(o) => o,
                    None => {
                        let remaining = total.saturating_sub(consumed).min(batch as u64) as i64;
                        let expected = Some(remaining.max(rest.len().min(batch) as i64));
                        let id = held
                            .begin_run(&new_run(page_started, expected), engine.now_ms())
                            .await?;
                        out.runs.push(id);
                        Open { id, records: 0 }
                    }
                };
                // A batch commits in slices: each holds the records, their run rows and the
                // cursor, so the run's counts grow as it is written and a crash loses nothing.
                let take = (batch - current.records).min(rest.len()).min(*slice);
                let writing = std::time::Instant::now();
                let (chunk, tail) = rest.split_at(take);
                rest = tail;
                let finishes_backfill = backfill && last_page && rest.is_empty();
                let mut next = cursor.clone();
                next.backfill_done |= finishes_backfill;
                if let Err(e) = commit_chunk(
                    engine,
                    held,
                    object,
                    current.id,
                    chunk,
                    &mut cursor,
                    next,
                    &mut seen,
                    &settings,
                )
                .instrument(
                    tracing::info_span!("run", id = %current.id, direction = "inbound", %object),
                )
                .await
                {
                    return Ok(Some(
                        engine
                            .fail_whole_run(held, Some(current.id), new_run(page_started, None), &e)
                            .await?,
                    ));
                }
                *slice = next_slice(take, writing.elapsed(), cfg.progress_every, cfg.commit_size);
                consumed += take as u64;
                out.records += take;
                out.backfill_finished |= finishes_backfill;
                let holds = current.records + take;
                if holds >= batch {
                    held.finish_run(current.id).await?;
                } else {
                    open = Some(Open { id: current.id, records: holds });
                }
            }
            Ok::<_, SyncError>(None)
        };
        let fetch_next = async {
            if last_page {
                Ok(None)
            } else {
                fetch_started = engine.now_ms();
                stream.next_page().await
            }
        };
        let (committed, next) = tokio::join!(commit_page, fetch_next);
        if let Some(failure) = committed? {
            out.failure = Some(failure);
            return Ok(out);
        }
        fetched = next;
        consumed += page_len - records.len() as u64;
        // The position moves past deletions that were not reported, as past those that were.
        if let Some(passed) = unheard.filter(|p| cursor.position.as_ref().is_none_or(|c| p > c)) {
            cursor.position = Some(passed);
            let mut tx = held.begin().await?;
            state::save_cursor(&mut tx, ws, object, &cursor).await?;
            tx.commit().await?;
        }
        if last_page {
            if backfill && !cursor.backfill_done {
                // The backfill ended on dropped records or an empty object.
                cursor.backfill_done = true;
                let mut tx = held.begin().await?;
                state::save_cursor(&mut tx, ws, object, &cursor).await?;
                tx.commit().await?;
                out.backfill_finished = true;
            }
            break;
        }
    }
    if let Some(o) = open {
        held.finish_run(o.id).await?;
    }
    Ok(out)
}

/// Drops from `records` the deletions of records that no sync has brought into Conversion or
/// reported: `queryAll` returns every record deleted since the position (less the overlap), which
/// includes records deleted before the backfill read them and records made and deleted between
/// two syncs. Conversion has nothing to delete and the activity nothing to tell of them, so they
/// are left out of the runs. A deletion is kept when Conversion holds the record, when a run has
/// reported it (its story ends with it), or when it carries Conversion's id (a record Conversion
/// pushed, whose row may not have its Salesforce ID yet). Returns the records kept and the newest
/// `(SystemModstamp, Id)` of those dropped, which the cursor moves past.
async fn drop_unheard_deletions(
    engine: &Engine,
    object: ObjectType,
    records: Vec<SfRecord>,
) -> Result<(Vec<SfRecord>, Option<(i64, String)>), SyncError> {
    let candidates: Vec<&str> = records.iter().filter_map(bare_deletion).collect();
    if candidates.is_empty() {
        return Ok((records, None));
    }
    let ws = engine.workspace();
    let mut tx = engine.pool().begin_read().await?;
    let table = store::conversion::Table::of(object);
    let held = store::conversion::known_by(
        &mut tx,
        ws,
        table,
        store::conversion::Key::SalesforceId,
        &candidates,
    )
    .await?;
    let reported = store::reported(&mut tx, ws, &candidates).await?;
    let unheard: std::collections::HashSet<String> = candidates
        .into_iter()
        .filter(|id| !held.contains_key(*id) && !reported.contains(*id))
        .map(str::to_string)
        .collect();
    tx.rollback().await?;
    if unheard.is_empty() {
        return Ok((records, None));
    }
    let mut newest = None;
    let kept = records
        .into_iter()
        .filter(|r| {
            let dropped = bare_deletion(r).is_some_and(|id| unheard.contains(id));
            if dropped {
                if let (Some(m), Some(id)) = (r.modstamp(), r.id.clone()) {
                    newest = newest.take().max(Some((m, id)));
                }
            }
            !dropped
        })
        .collect();
    Ok((kept, newest))
}

/// The ID of a deletion that does not carry Conversion's id: whether it is reported depends on
/// what Conversion and the runs know of the record ([`drop_unheard_deletions`]).
fn bare_deletion(r: &SfRecord) -> Option<&str> {
    if r.deleted() && super::mapping::present(&r.conversion_id).is_none() {
        super::mapping::present(&r.id)
    } else {
        None
    }
}

/// An inbound run of `object` that started at `started_at`, expecting `expected` records.
pub(super) fn inbound_run(
    object: ObjectType,
    trigger: Trigger,
    started_at: i64,
    expected: Option<i64>,
) -> NewRun {
    NewRun {
        direction: Direction::Inbound,
        object_type: object,
        trigger,
        started_at,
        expected_total: expected,
    }
}

/// The first slice of a sync: small, so a slow disk shows progress from the start.
pub(super) const FIRST_SLICE: usize = 250;

/// The fewest records a slice holds: below this, transactions cost more than progress is worth.
const MIN_SLICE: usize = 100;

/// How many records the next slice holds, from how long the last one (`took` for `records`) took
/// to write: as many as fit in `progress_every`, so a run's counts move at least that often
/// while a page is written, but never more than `max` (a whole page commits at once when
/// writing is quick: every slice is a transaction, and transactions are what a backfill pays for).
pub fn next_slice(records: usize, took: Duration, progress_every: Duration, max: usize) -> usize {
    let max = max.max(1);
    let per_record = took.as_secs_f64() / records.max(1) as f64;
    if per_record <= 0.0 {
        return max;
    }
    let fits = (progress_every.as_secs_f64() / per_record) as usize;
    fits.clamp(MIN_SLICE.min(max), max)
}

/// Writes one chunk: Conversion's rows, the run's records, the cursor and the seen set, in one
/// transaction. The cursor saved is `next` (what the caller's reading moved on to) with its
/// position moved to the chunk's newest record; `cursor` becomes it once committed.
#[allow(clippy::too_many_arguments)]
pub(super) async fn commit_chunk(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    run: RunId,
    chunk: &[SfRecord],
    cursor: &mut Cursor,
    mut next: Cursor,
    seen: &mut HashMap<String, i64>,
    settings: &state::Settings,
) -> Result<(), SyncError> {
    let ws = engine.workspace();
    let now = engine.now_ms();
    // Fenced by the lease, and IMMEDIATE: the write lock is taken up front rather than failing
    // on upgrade under contention.
    let mut tx = held.begin().await?;
    let applied = apply::decide(&mut tx, ws, object, chunk, settings, now).await?;
    store::conversion::synced::upsert(&mut tx, ws, applied.upserts).await?;
    let table = store::conversion::Table::of(object);
    store::conversion::synced::delete(&mut tx, ws, table, &applied.deletes).await?;
    store::append_records_in(&mut tx, ws, run, applied.records).await?;
    // Rows modified while the query was paged carry a newer stamp than their place in the order:
    // the position only ever moves forward.
    if let Some(last) = chunk.iter().filter_map(|r| Some((r.modstamp()?, r.id.clone()?))).max() {
        if next.position.as_ref().is_none_or(|p| last > *p) {
            next.position = Some(last);
        }
    }
    state::save_cursor(&mut tx, ws, object, &next).await?;
    if let Some((m, _)) = &next.position {
        let window = m - millis(engine.config().overlap);
        let recent: Vec<(String, i64)> = chunk
            .iter()
            .filter_map(|r| Some((r.id.clone()?, r.modstamp()?)))
            .filter(|(_, t)| *t >= window)
            .collect();
        state::save_seen(&mut tx, ws, object, &recent, window).await?;
        tx.commit().await?;
        seen.retain(|_, t| *t >= window);
        seen.extend(recent);
    } else {
        tx.commit().await?;
    }
    *cursor = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_shrink_when_writing_is_slow_and_stay_whole_when_it_is_quick() {
        let every = Duration::from_millis(250);
        // 2,000 records in 50 ms: a whole page fits in a quarter second.
        assert_eq!(next_slice(2_000, Duration::from_millis(50), every, 2_000), 2_000);
        // 2,000 in a second: 500 fit in a quarter second.
        assert_eq!(next_slice(2_000, Duration::from_secs(1), every, 2_000), 500);
        // Very slow: never below the floor, nor above the page.
        assert_eq!(next_slice(100, Duration::from_secs(60), every, 2_000), MIN_SLICE);
        assert_eq!(next_slice(100, Duration::from_secs(60), every, 40), 40);
        // Nothing measured yet: the largest.
        assert_eq!(next_slice(0, Duration::ZERO, every, 2_000), 2_000);
    }
}
