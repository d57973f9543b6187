//! The backfill of a large object through a Bulk API 2.0 query job: a handful of API requests for
//! any number of records, where REST query pages cost one per 2,000.
//!
//! A `SELECT COUNT()` decides: past `bulk_threshold` records, the backfill is one job, and each
//! set of its results (up to `backfill_batch_size` records, ~50,000) is one backfill run, written
//! in slices as a REST page is. The job, the set to read next and how much of it is written are
//! the backfill's cursor, committed with each slice, so a restart reads on from the same job and
//! skips what was written. Salesforce keeps a job for 7 days: past that (or after the API version
//! changed, or a job failed), a new job with the same query replaces it, and the records the
//! backfill's runs already reported (same id, same `SystemModstamp`) are dropped from its results.
//!
//! Bulk results come in no particular order (Salesforce advises against `ORDER BY` in query jobs):
//! the cursor's position only ever moves forward to the newest record written, and only the job
//! (never the position) says where a Bulk backfill stands until it is done.

use super::inbound::{commit_chunk, inbound_run, next_slice, select, since, InboundOutcome};
use super::lease::Held;
use super::mapping::SfRecord;
use super::state::{self, BulkCursor, BulkJobRef, Cursor};
use super::{Engine, SyncError};
use crate::salesforce::bulk::RecordSet;
use crate::salesforce::SalesforceError;
use app::domain::{ObjectType, RunId, Trigger};
use app::store;
use std::collections::HashMap;
use tracing::Instrument;

/// Whether the backfill of `object` reads a Bulk job: one is under way, or the object holds more
/// than `bulk_threshold` records from `from` on (then the backfill's Bulk cursor is committed,
/// and its job is made by [`backfill`]).
pub(super) async fn chosen(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    cursor: &mut Cursor,
    from: Option<i64>,
) -> Result<bool, SyncError> {
    if cursor.bulk.is_some() {
        return Ok(true);
    }
    let Some(threshold) = engine.config().bulk_threshold else { return Ok(false) };
    let count = format!("SELECT COUNT() FROM {}{}", object.sobject(), since(from));
    let mut counted = engine.client().query::<serde_json::Value>(count);
    counted.next_page().await?;
    if counted.total_size().unwrap_or(0) <= threshold {
        return Ok(false);
    }
    let bulk = BulkCursor { since: from, began: engine.now_ms(), ..BulkCursor::default() };
    save(engine, held, object, cursor, Cursor { bulk: Some(bulk), ..cursor.clone() }).await?;
    Ok(true)
}

/// How reading a job's results ended.
enum Sets {
    /// Every set is written: the backfill is done.
    Done,
    /// The server is stopping, or the run failed as a whole (in `out.failure`).
    Stopped,
    /// The job is gone (expired, deleted): another must replace it.
    Gone,
}

/// Runs the backfill of `object` through its Bulk job under `held`, from where `cursor` says.
pub(super) async fn backfill(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    cursor: &mut Cursor,
    seen: &mut HashMap<String, i64>,
    settings: &state::Settings,
) -> Result<InboundOutcome, SyncError> {
    let client = engine.client();
    let mut out = InboundOutcome::default();
    let started = engine.now_ms();
    // One replacement per sync at most: a job that vanishes twice in a row is a failure.
    let mut replaced_now = false;
    loop {
        let Some(bulk) = cursor.bulk.clone() else { return Ok(out) };
        let job = match bulk.job.clone().filter(|j| j.api_version == client.config().api_version) {
            Some(job) => job,
            None => match new_job(engine, held, object, cursor).await {
                Ok(job) => job,
                Err(e) => return fail(engine, held, object, None, started, &e, out).await,
            },
        };
        let waited = client.wait_for_query_job(&job.id, engine.config().bulk_polling).await;
        let ended = match waited {
            Ok(_) => {
                read_sets(engine, held, object, &job, cursor, seen, settings, &mut out)
                    .instrument(tracing::info_span!("bulk job", id = %job.id, %object))
                    .await?
            }
            Err(e) if is_gone(&e) => Sets::Gone,
            Err(e) => {
                if matches!(e, SalesforceError::BulkJob { .. }) {
                    // The next sync makes a new job with the same query.
                    let dropped = Cursor { bulk: Some(drop_job(bulk)), ..cursor.clone() };
                    save(engine, held, object, cursor, dropped).await?;
                }
                return fail(engine, held, object, None, started, &e.into(), out).await;
            }
        };
        match ended {
            Sets::Done | Sets::Stopped => return Ok(out),
            Sets::Gone if !replaced_now => {
                tracing::info!(job = %job.id, %object, "the backfill's Bulk job is gone: a new one replaces it");
                replaced_now = true;
                let dropped = Cursor { bulk: Some(drop_job(bulk)), ..cursor.clone() };
                save(engine, held, object, cursor, dropped).await?;
            }
            Sets::Gone => {
                let e = SyncError::Salesforce(SalesforceError::BulkJob {
                    id: job.id,
                    state: "gone".into(),
                    message: "the job that replaced an expired one is gone too".into(),
                });
                return fail(engine, held, object, None, started, &e, out).await;
            }
        }
    }
}

/// Makes the job the backfill's cursor asks for, and commits it to the cursor.
async fn new_job(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    cursor: &mut Cursor,
) -> Result<BulkJobRef, SyncError> {
    let client = engine.client();
    let bulk = drop_job(cursor.bulk.clone().unwrap_or_default());
    // The backfill reads live records, as its REST form does.
    let created = client.create_query_job(&select(object, bulk.since), false).await?;
    let job = BulkJobRef { id: created.id, api_version: client.config().api_version.clone() };
    let next =
        Cursor { bulk: Some(BulkCursor { job: Some(job.clone()), ..bulk }), ..cursor.clone() };
    save(engine, held, object, cursor, next).await?;
    Ok(job)
}

/// The cursor without its job: the next one starts from the first set, and must drop the records
/// written from this one's if any were.
fn drop_job(bulk: BulkCursor) -> BulkCursor {
    BulkCursor {
        job: None,
        locator: None,
        offset: 0,
        replaced: bulk.replaced || bulk.locator.is_some() || bulk.offset > 0,
        ..bulk
    }
}

/// A job Salesforce no longer has (404): deleted, or past the 7 days it keeps one.
fn is_gone(e: &SalesforceError) -> bool {
    matches!(e, SalesforceError::Api { status: 404, .. })
}

/// Reads and writes the job's sets from the cursor's on; the next set is fetched while the
/// current one is written.
#[allow(clippy::too_many_arguments)]
async fn read_sets(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    job: &BulkJobRef,
    cursor: &mut Cursor,
    seen: &mut HashMap<String, i64>,
    settings: &state::Settings,
    out: &mut InboundOutcome,
) -> Result<Sets, SyncError> {
    let (client, cfg) = (engine.client(), engine.config());
    let Some(bulk) = cursor.bulk.clone() else { return Ok(Sets::Done) };
    let written = if bulk.replaced {
        store::reported_since(engine.pool(), engine.workspace(), object, bulk.began).await?
    } else {
        HashMap::new()
    };
    let max = cfg.backfill_batch_size.max(1);
    let mut fetch_started = engine.now_ms();
    let mut fetched = client.query_job_records(&job.id, bulk.locator.as_deref(), max).await;
    let mut slice = cfg.commit_size.clamp(1, super::inbound::FIRST_SLICE);
    loop {
        if engine.is_cancelled() {
            return Ok(Sets::Stopped);
        }
        let set_started = fetch_started;
        let set = match fetched {
            Ok(set) => set,
            Err(e) if is_gone(&e) => return Ok(Sets::Gone),
            Err(e) => {
                *out =
                    fail(engine, held, object, None, set_started, &e.into(), std::mem::take(out))
                        .await?;
                return Ok(Sets::Stopped);
            }
        };
        let next_locator = set.next.clone();
        let skip = cursor.bulk.as_ref().map_or(0, |b| b.offset) as usize;
        let set: RecordSet<SfRecord> = set;
        let rows = set.records.into_iter().enumerate().skip(skip);
        // Records written before (by this job's slices before a restart, or by a job this one
        // replaced, or inside the overlap of a REST backfill it continues) are dropped.
        let (positions, records): (Vec<usize>, Vec<SfRecord>) = rows
            .filter(|(_, r)| match (r.id.as_deref(), r.modstamp()) {
                (Some(id), Some(m)) => seen.get(id) != Some(&m) && written.get(id) != Some(&m),
                _ => true,
            })
            .unzip();
        let write_set = write_set(
            engine,
            held,
            object,
            cursor,
            seen,
            settings,
            out,
            (&records, &positions),
            (set_started, next_locator.clone()),
            &mut slice,
        );
        let fetch_next = async {
            match &next_locator {
                None => Ok(None),
                Some(l) => {
                    fetch_started = engine.now_ms();
                    client.query_job_records(&job.id, Some(l), max).await.map(Some)
                }
            }
        };
        let (written_set, next) = tokio::join!(write_set, fetch_next);
        if !written_set? {
            return Ok(Sets::Stopped);
        }
        match next.transpose() {
            None => {
                out.backfill_finished = true;
                // Its results are all written: Salesforce need not keep them.
                if let Err(e) = client.delete_query_job(&job.id).await {
                    tracing::info!(job = %job.id, error = %e, "the finished Bulk job could not be deleted; Salesforce deletes it after 7 days");
                }
                return Ok(Sets::Done);
            }
            Some(next) => fetched = next,
        }
    }
}

/// Writes one set's `records` (`positions`: their rows in the set) as one backfill run, in
/// slices; the last moves the cursor to the set after (`next`), or ends the backfill. False when
/// the run failed as a whole (`out.failure`).
#[allow(clippy::too_many_arguments)]
async fn write_set(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    cursor: &mut Cursor,
    seen: &mut HashMap<String, i64>,
    settings: &state::Settings,
    out: &mut InboundOutcome,
    (records, positions): (&[SfRecord], &[usize]),
    (started_at, next): (i64, Option<String>),
    slice: &mut usize,
) -> Result<bool, SyncError> {
    let cfg = engine.config();
    // Where the cursor stands once `upto` records of the set are written.
    let moved = |cursor: &Cursor, upto: usize| {
        let mut c = cursor.clone();
        if upto < records.len() {
            if let Some(b) = c.bulk.as_mut() {
                b.offset = positions[upto - 1] as u64 + 1;
            }
        } else if next.is_some() {
            if let Some(b) = c.bulk.as_mut() {
                b.locator = next.clone();
                b.offset = 0;
            }
        } else {
            c.backfill_done = true;
            c.bulk = None;
        }
        c
    };
    if records.is_empty() {
        // Every record of the set was written before: only the cursor moves.
        let next = moved(cursor, 0);
        save(engine, held, object, cursor, next).await?;
        return Ok(true);
    }
    let expected = Some(records.len() as i64);
    let run: RunId = held
        .begin_run(&inbound_run(object, Trigger::Backfill, started_at, expected), engine.now_ms())
        .await?;
    out.runs.push(run);
    let mut done = 0;
    while done < records.len() {
        if engine.is_cancelled() {
            // What is written is committed with the cursor: the run ends with it, and the next
            // start reads on from the cursor.
            held.finish_run(run).await?;
            return Ok(false);
        }
        let take = (*slice).min(records.len() - done);
        let writing = std::time::Instant::now();
        let chunk = &records[done..done + take];
        let next = moved(cursor, done + take);
        let committed =
            commit_chunk(engine, held, object, run, chunk, cursor, next, seen, settings)
                .instrument(tracing::info_span!("run", id = %run, direction = "inbound", %object))
                .await;
        if let Err(e) = committed {
            let failure = inbound_run(object, Trigger::Backfill, started_at, None);
            out.failure = Some(engine.fail_whole_run(held, Some(run), failure, &e).await?);
            return Ok(false);
        }
        *slice = next_slice(take, writing.elapsed(), cfg.progress_every, cfg.commit_size);
        done += take;
        out.records += take;
    }
    held.finish_run(run).await?;
    Ok(true)
}

/// Commits `next` as the object's cursor, fenced by the lease; `cursor` becomes it.
async fn save(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    cursor: &mut Cursor,
    next: Cursor,
) -> Result<(), SyncError> {
    let mut tx = held.begin().await?;
    state::save_cursor(&mut tx, engine.workspace(), object, &next).await?;
    tx.commit().await?;
    *cursor = next;
    Ok(())
}

/// Fails the backfill's run as a whole (a new one carries the failure when none is open).
async fn fail(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    run: Option<RunId>,
    started_at: i64,
    e: &SyncError,
    mut out: InboundOutcome,
) -> Result<InboundOutcome, SyncError> {
    let failure = inbound_run(object, Trigger::Backfill, started_at, None);
    out.failure = Some(engine.fail_whole_run(held, run, failure, e).await?);
    Ok(out)
}
