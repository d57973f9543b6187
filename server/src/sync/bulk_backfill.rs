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
use app::domain::{ObjectType, RunFailure, RunId, Trigger};
use app::store;
use std::collections::HashMap;
use tracing::Instrument;

/// One object's backfill under its lease: what every step of it reads.
#[derive(Clone, Copy)]
pub(super) struct Backfill<'a> {
    pub engine: &'a Engine,
    /// Every write is fenced by it.
    pub held: &'a Held,
    pub object: ObjectType,
}

/// One set of results to write: its records that were not written before, each with its row in
/// the set, when its fetch began, and the locator of the set after it.
struct SetToWrite {
    records: Vec<SfRecord>,
    rows: Vec<usize>,
    started_at: i64,
    next: Option<String>,
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

impl Backfill<'_> {
    /// Whether the backfill reads a Bulk job: one is under way, or the object holds more than
    /// `bulk_threshold` records from `from` on (then the backfill's Bulk cursor is committed, and
    /// its job is made by [`Self::run`]).
    pub(super) async fn chosen(
        self,
        cursor: &mut Cursor,
        from: Option<i64>,
    ) -> Result<bool, SyncError> {
        if cursor.bulk.is_some() {
            return Ok(true);
        }
        let Some(threshold) = self.engine.config().bulk_threshold else { return Ok(false) };
        let count = format!("SELECT COUNT() FROM {}{}", self.object.sobject(), since(from));
        let mut counted = self.engine.client().query::<serde_json::Value>(count);
        counted.next_page().await?;
        if counted.total_size().unwrap_or(0) <= threshold {
            return Ok(false);
        }
        let bulk = BulkCursor { since: from, began: self.engine.now_ms(), ..BulkCursor::default() };
        self.save(cursor, Cursor { bulk: Some(bulk), ..cursor.clone() }).await?;
        Ok(true)
    }

    /// Runs the backfill through its Bulk job, from where `cursor` says.
    pub(super) async fn run(
        self,
        cursor: &mut Cursor,
        seen: &mut HashMap<String, i64>,
        settings: &state::Settings,
    ) -> Result<InboundOutcome, SyncError> {
        let (engine, object) = (self.engine, self.object);
        let client = engine.client();
        let mut out = InboundOutcome::default();
        let started = engine.now_ms();
        // One replacement per sync at most: a job that vanishes twice in a row is a failure.
        let mut replaced_now = false;
        loop {
            let Some(bulk) = cursor.bulk.clone() else { return Ok(out) };
            let current = bulk.job.clone().filter(|j| j.api_version == client.config().api_version);
            let job = match current {
                Some(job) => job,
                None => match self.new_job(cursor).await {
                    Ok(job) => job,
                    Err(e) => {
                        out.failure = Some(self.fail(None, started, &e).await?);
                        return Ok(out);
                    }
                },
            };
            let ended = match client.wait_for_query_job(&job.id, engine.config().bulk_polling).await
            {
                Ok(_) => {
                    self.read_sets(&job, cursor, seen, settings, &mut out)
                        .instrument(tracing::info_span!("bulk job", id = %job.id, %object))
                        .await?
                }
                Err(e) if is_gone(&e) => Sets::Gone,
                Err(e) => {
                    if matches!(e, SalesforceError::BulkJob { .. }) {
                        // The next sync makes a new job with the same query.
                        let dropped = Cursor { bulk: Some(drop_job(bulk)), ..cursor.clone() };
                        self.save(cursor, dropped).await?;
                    }
                    out.failure = Some(self.fail(None, started, &e.into()).await?);
                    return Ok(out);
                }
            };
            match ended {
                Sets::Done | Sets::Stopped => return Ok(out),
                Sets::Gone if !replaced_now => {
                    tracing::info!(job = %job.id, %object, "the backfill's Bulk job is gone: a new one replaces it");
                    replaced_now = true;
                    let dropped = Cursor { bulk: Some(drop_job(bulk)), ..cursor.clone() };
                    self.save(cursor, dropped).await?;
                }
                Sets::Gone => {
                    let e = SyncError::Salesforce(SalesforceError::BulkJob {
                        id: job.id,
                        state: "gone".into(),
                        message: "the job that replaced an expired one is gone too".into(),
                    });
                    out.failure = Some(self.fail(None, started, &e).await?);
                    return Ok(out);
                }
            }
        }
    }

    /// Makes the job the backfill's cursor asks for, and commits it to the cursor.
    async fn new_job(self, cursor: &mut Cursor) -> Result<BulkJobRef, SyncError> {
        let client = self.engine.client();
        let bulk = drop_job(cursor.bulk.clone().unwrap_or_default());
        // The backfill reads live records, as its REST form does.
        let created = client.create_query_job(&select(self.object, bulk.since), false).await?;
        let job = BulkJobRef { id: created.id, api_version: client.config().api_version.clone() };
        let bulk = BulkCursor { job: Some(job.clone()), ..bulk };
        self.save(cursor, Cursor { bulk: Some(bulk), ..cursor.clone() }).await?;
        Ok(job)
    }

    /// Reads and writes the job's sets from the cursor's on; the next set is fetched while the
    /// current one is written.
    async fn read_sets(
        self,
        job: &BulkJobRef,
        cursor: &mut Cursor,
        seen: &mut HashMap<String, i64>,
        settings: &state::Settings,
        out: &mut InboundOutcome,
    ) -> Result<Sets, SyncError> {
        let engine = self.engine;
        let (client, cfg) = (engine.client(), engine.config());
        let Some(bulk) = cursor.bulk.clone() else { return Ok(Sets::Done) };
        let written = if bulk.replaced {
            store::reported_since(engine.pool(), engine.workspace(), self.object, bulk.began)
                .await?
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
            let started_at = fetch_started;
            let set: RecordSet<SfRecord> = match fetched {
                Ok(set) => set,
                Err(e) if is_gone(&e) => return Ok(Sets::Gone),
                Err(e) => {
                    out.failure = Some(self.fail(None, started_at, &e.into()).await?);
                    return Ok(Sets::Stopped);
                }
            };
            let skip = cursor.bulk.as_ref().map_or(0, |b| b.offset) as usize;
            // Records written before (by this job's slices before a restart, or by a job this one
            // replaced, or inside the overlap of a REST backfill it continues) are dropped.
            let (rows, records): (Vec<usize>, Vec<SfRecord>) = set
                .records
                .into_iter()
                .enumerate()
                .skip(skip)
                .filter(|(_, r)| match (r.id.as_deref(), r.modstamp()) {
                    (Some(id), Some(m)) => seen.get(id) != Some(&m) && written.get(id) != Some(&m),
                    _ => true,
                })
                .unzip();
            let next_locator = set.next;
            let to_write = SetToWrite { records, rows, started_at, next: next_locator.clone() };
            let write_set = self.write_set(to_write, cursor, seen, settings, out, &mut slice);
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

    /// Writes one set as one backfill run, in slices; the last moves the cursor to the set after,
    /// or ends the backfill. False when the run failed as a whole (`out.failure`) or the server
    /// is stopping.
    async fn write_set(
        self,
        set: SetToWrite,
        cursor: &mut Cursor,
        seen: &mut HashMap<String, i64>,
        settings: &state::Settings,
        out: &mut InboundOutcome,
        slice: &mut usize,
    ) -> Result<bool, SyncError> {
        let Backfill { engine, held, object } = self;
        let cfg = engine.config();
        let records = &set.records;
        // Where the cursor stands once `upto` records of the set are written.
        let moved = |cursor: &Cursor, upto: usize| {
            let mut c = cursor.clone();
            if upto < records.len() {
                if let Some(b) = c.bulk.as_mut() {
                    b.offset = set.rows[upto - 1] as u64 + 1;
                }
            } else if set.next.is_some() {
                if let Some(b) = c.bulk.as_mut() {
                    b.locator = set.next.clone();
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
            return self.save(cursor, moved(cursor, 0)).await.map(|()| true);
        }
        let run =
            inbound_run(object, Trigger::Backfill, set.started_at, Some(records.len() as i64));
        let run: RunId = held.begin_run(&run, engine.now_ms()).await?;
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
                    .instrument(
                        tracing::info_span!("run", id = %run, direction = "inbound", %object),
                    )
                    .await;
            if let Err(e) = committed {
                out.failure = Some(self.fail(Some(run), set.started_at, &e).await?);
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
    async fn save(self, cursor: &mut Cursor, next: Cursor) -> Result<(), SyncError> {
        let mut tx = self.held.begin().await?;
        state::save_cursor(&mut tx, self.engine.workspace(), self.object, &next).await?;
        tx.commit().await?;
        *cursor = next;
        Ok(())
    }

    /// Fails the backfill's run as a whole (a new one carries the failure when none is open).
    async fn fail(
        self,
        run: Option<RunId>,
        started_at: i64,
        e: &SyncError,
    ) -> Result<RunFailure, SyncError> {
        let failure = inbound_run(self.object, Trigger::Backfill, started_at, None);
        self.engine.fail_whole_run(self.held, run, failure, e).await
    }
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
