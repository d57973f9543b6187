//! "Retry" on a run's failed records. An outbound record's current Conversion data is queued for
//! the next push, which pushes it in a run of its own (trigger "Retry", linked to the run retried).
//! An inbound record is fetched from Salesforce by its ID now and applied in a "Retry" run, under
//! the object's lease like any inbound sync. Retrying twice before the first is pushed queues it
//! once.

use super::lease::Held;
use super::mapping::SfRecord;
use super::{apply, inbound, state, Engine, SyncError};
use app::domain::records::RecordKey;
use app::domain::{
    Direction, ObjectType, RecordAction, RecordFilter, RecordStatus, RunId, RunRecord, SyncRun,
    Trigger,
};
use app::store::leases::{self, Due};
use app::store::outbox::{NewChange, Operation};
use app::store::{self};

/// IDs per query of an inbound retry (`WHERE Id IN (…)` stays far below SOQL's length limit).
const IDS_PER_QUERY: usize = 200;
/// Failed records read per page of the run retried.
const READ_PAGE: i64 = 500;

/// What a retry did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetryOutcome {
    /// Records queued for the next push (outbound), or fetched and applied (inbound).
    pub retried: usize,
    /// Records whose change was already waiting to be pushed: made due now, not queued twice.
    pub already_queued: usize,
    /// Records a later run already synced (a retry made before this one, or the next sync).
    pub already_synced: usize,
    /// Records Conversion no longer holds: nothing to push.
    pub gone: usize,
    /// The inbound "Retry" runs made.
    pub runs: Vec<RunId>,
}

/// Retries the failed records of `run`: all of them, or the one at position `only`.
pub async fn retry_failed(
    engine: &Engine,
    run: &SyncRun,
    only: Option<i64>,
) -> Result<RetryOutcome, SyncError> {
    let mut failed = failed_records(engine, run.id, only).await?;
    let before = failed.len();
    let mut pending = Vec::with_capacity(failed.len());
    for r in failed.drain(..) {
        if !synced_since(engine, run.id, &r).await? {
            pending.push(r);
        }
    }
    let already_synced = before - pending.len();
    let failed = pending;
    let outcome = match run.direction {
        Direction::Outbound => queue_pushes(engine, run, &failed).await,
        Direction::Inbound => {
            let mut ids: Vec<String> =
                failed.iter().filter_map(|r| r.salesforce_id.clone()).collect();
            ids.sort();
            ids.dedup();
            fetch_and_apply(engine, run.object_type, run.id, &ids).await
        }
    }?;
    Ok(RetryOutcome { already_synced, ..outcome })
}

/// Whether a run after `run` synced the record successfully: retrying it again would only repeat
/// that (a second "Retry" once the first went through queues nothing).
async fn synced_since(engine: &Engine, run: RunId, r: &RunRecord) -> Result<bool, SyncError> {
    let Some(key) = RecordKey::of(r.salesforce_id.as_deref(), r.conversion_id.as_deref()) else {
        return Ok(false);
    };
    let found = store::find_record(engine.pool(), engine.workspace(), &key).await?;
    Ok(found.is_some_and(|f| f.last_run > run && f.last_status == RecordStatus::Success))
}

async fn failed_records(
    engine: &Engine,
    run: RunId,
    only: Option<i64>,
) -> Result<Vec<RunRecord>, SyncError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let mut out = Vec::new();
    let mut filter = RecordFilter { status: Some(RecordStatus::Failed), ..Default::default() };
    if let Some(seq) = only {
        filter.after = Some(seq - 1);
        let page = store::list_records(pool, ws, run, &filter, 1).await?;
        out.extend(page.records.into_iter().filter(|r| r.seq == seq));
        return Ok(out);
    }
    loop {
        let page = store::list_records(pool, ws, run, &filter, READ_PAGE).await?;
        let Some(last) = page.records.last().map(|r| r.seq) else { break };
        out.extend(page.records);
        if page.later.is_none() {
            break;
        }
        filter.after = Some(last);
    }
    Ok(out)
}

async fn queue_pushes(
    engine: &Engine,
    run: &SyncRun,
    failed: &[RunRecord],
) -> Result<RetryOutcome, SyncError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let mut out = RetryOutcome::default();
    let object = run.object_type;
    for r in failed {
        let Some(conversion_id) = r.conversion_id.as_deref() else {
            out.gone += 1;
            continue;
        };
        let change = if r.action == RecordAction::Deleted {
            let Some(sf) = r.salesforce_id.as_deref() else {
                out.gone += 1;
                continue;
            };
            NewChange {
                object,
                conversion_id,
                operation: Operation::Delete,
                fields: None,
                salesforce: Some((sf, object.sobject())),
                label: r.label.as_deref(),
                created_at: engine.now_ms(),
            }
        } else {
            let current = store::conversion::current::current_record(
                pool,
                ws,
                object,
                Some(conversion_id),
                None,
            )
            .await?;
            if current.is_none() {
                out.gone += 1;
                continue;
            }
            NewChange {
                object,
                conversion_id,
                operation: Operation::Upsert,
                fields: None,
                salesforce: None,
                label: r.label.as_deref(),
                created_at: engine.now_ms(),
            }
        };
        if store::outbox::queue_retry(pool, ws, &change, run.id).await? {
            out.retried += 1;
        } else {
            out.already_queued += 1;
        }
    }
    if out.retried + out.already_queued > 0 {
        engine.outbox_changed();
    }
    Ok(out)
}

/// Fetches `ids` of `object` from Salesforce (deleted ones too, which are applied as deletes) and
/// applies them in "Retry" runs of up to [`IDS_PER_QUERY`] records, under the object's lease.
pub async fn fetch_and_apply(
    engine: &Engine,
    object: ObjectType,
    retry_of: RunId,
    ids: &[String],
) -> Result<RetryOutcome, SyncError> {
    let mut out = RetryOutcome::default();
    if ids.is_empty() {
        return Ok(out);
    }
    let _claim = engine.claim(object)?;
    let held = match engine.claim_work(leases::inbound_work(object), Due::Now).await? {
        Ok(held) => held,
        Err(_) => return Err(SyncError::AlreadyRunning(object)),
    };
    let applied = apply_held(engine, &held, object, retry_of, ids, &mut out).await;
    held.release().await;
    applied.map(|()| out)
}

async fn apply_held(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    retry_of: RunId,
    ids: &[String],
    out: &mut RetryOutcome,
) -> Result<(), SyncError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let settings = state::settings(pool, ws).await?;
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let started_at = engine.now_ms();
        let new_run =
            inbound::inbound_run(object, Trigger::Retry, started_at, Some(chunk.len() as i64));
        let quoted: Vec<String> = chunk
            .iter()
            .filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(|id| format!("'{id}'"))
            .collect();
        let soql = format!("{} WHERE Id IN ({})", inbound::select(object, None), quoted.join(", "));
        let mut records: Vec<SfRecord> = Vec::new();
        let mut stream = engine.client().query_all::<SfRecord>(soql);
        let fetched: Result<(), SyncError> = async {
            while let Some(page) = stream.next_page().await? {
                records.extend(page.records);
            }
            Ok(())
        }
        .await;
        if let Err(e) = fetched {
            engine.fail_whole_run(held, None, new_run, &e).await?;
            return Err(e);
        }
        let run = held.begin_run(&new_run, started_at).await?;
        store::link_retry(pool, ws, run, retry_of).await?;
        let mut tx = held.begin().await?;
        let applied =
            apply::decide(&mut tx, ws, object, &records, &settings, engine.now_ms()).await?;
        store::conversion::synced::upsert(&mut tx, ws, applied.upserts).await?;
        let table = store::conversion::Table::of(object);
        store::conversion::synced::delete(&mut tx, ws, table, &applied.deletes).await?;
        out.retried += applied.records.len();
        store::append_records_in(&mut tx, ws, run, applied.records).await?;
        tx.commit().await?;
        held.finish_run(run).await?;
        out.runs.push(run);
    }
    Ok(())
}
