//! Outbound: Conversion → Salesforce from the outbox. Pending changes are grouped by object type
//! and pushed with sObject Collections, at most 200 records a run ("Pushed updates to
//! Salesforce"). Each record's result becomes a run record and its outbox rows are removed in the
//! same transaction; a whole-run failure leaves them queued for the next attempt.
//!
//! - A record that failed for a reason that can pass ("Record locked", "Insufficient
//!   permissions") keeps its outbox rows and is pushed again by a later run, with its own record
//!   row, after a backoff ([`super::batching::record_retry_delay`]); for permissions also as soon
//!   as a push of the same object succeeds. After the last attempt it stays failed.
//! - A delete whose Salesforce id Conversion never learned (the create was in flight, or an
//!   interrupted push created the record without its answer arriving) is looked up by Conversion's
//!   id (`Conversion_Id__c`) and deleted; it is dropped only when Salesforce has no such record.
//! - A record created in Conversion is reported as created on its first successful push, even when
//!   an interrupted push had already created it in Salesforce.

mod outbox;
mod plan;

use super::batching::{record_retry_delay, Transient};
use super::lease::Held;
use super::mapping::{error_detail, outbound_message};
use super::{Engine, SyncError};
use crate::salesforce::SaveResult;
use crate::salesforce::{Record, SalesforceClient, SalesforceError};
use app::domain::{
    Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunFailure, RunId, Trigger,
};
use app::store::leases::Due;
use app::store::{self, NewRecord, NewRun};
use outbox::{Change, Deferral};
use plan::{plan, Plan};
use serde_json::Value;
use std::time::Duration;
use tracing::Instrument;

/// What one pass over the outbox did.
#[derive(Debug, Default, Clone)]
pub struct OutboundOutcome {
    pub runs: Vec<RunId>,
    pub records: usize,
    pub failure: Option<RunFailure>,
}

/// Pushes everything pending, one run per object type and batch. Stops at the first whole-run
/// failure (the rest stays queued). Records held back for a retry are pushed once it is due.
/// Another server pushing this workspace's changes makes this a pass that does nothing; so does an
/// outbox with nothing due, without claiming anything (the worker polls it every second).
pub async fn push_pending(engine: &Engine) -> Result<OutboundOutcome, SyncError> {
    if outbox::next_object(engine, engine.now_ms()).await?.is_none()
        && !store::has_runs_in_progress(engine.pool(), engine.workspace(), Direction::Outbound)
            .await?
    {
        return Ok(OutboundOutcome::default());
    }
    let work = app::store::leases::OUTBOUND_WORK.to_string();
    let Ok(held) = engine.claim_work(work, Due::Now).await? else {
        return Ok(OutboundOutcome::default());
    };
    let pushed = push_held(engine, &held).await;
    held.release().await;
    pushed
}

async fn push_held(engine: &Engine, held: &Held) -> Result<OutboundOutcome, SyncError> {
    held.fail_left_runs(Direction::Outbound, None).await?;
    let mut out = OutboundOutcome::default();
    // What is due when the pass starts: a record held back during the pass waits for a later one.
    let due = engine.now_ms();
    loop {
        if engine.is_cancelled() {
            return Ok(out);
        }
        let Some(code) = outbox::next_object(engine, due).await? else { return Ok(out) };
        let Some(object) = ObjectType::parse(&code) else {
            outbox::drop_object(engine, &code).await?;
            continue;
        };
        let (run, n, failure) = push_batch(engine, held, object, due).await?;
        out.runs.extend(run);
        out.records += n;
        if failure.is_some() {
            out.failure = failure;
            return Ok(out);
        }
    }
}

fn record(
    c: &Change,
    status: RecordStatus,
    action: RecordAction,
    message: Option<RecordMessage>,
    detail: Option<String>,
    sf: Option<String>,
) -> NewRecord {
    NewRecord {
        status,
        action,
        message,
        detail,
        salesforce_id: sf.or_else(|| c.salesforce_id.clone()),
        conversion_id: Some(c.conversion_id.clone()),
        label: c.label.clone(),
        external_created_at: None,
        external_updated_at: None,
    }
}

/// A record's result. `action` is what the change is in Conversion: a create stays a create when
/// the upsert found the record already there (`created: false`), since only an interrupted push of
/// this same change can have put it there.
fn from_result(c: &Change, action: RecordAction, r: &SaveResult) -> NewRecord {
    if r.success {
        let action = if r.created == Some(true) { RecordAction::Created } else { action };
        record(c, RecordStatus::Success, action, None, None, r.id.clone())
    } else {
        record(
            c,
            RecordStatus::Failed,
            action,
            Some(outbound_message(&r.errors)),
            Some(error_detail(&r.errors)),
            None,
        )
    }
}

/// Pushes one batch of `object` due at `due`: returns the run, its record count and a whole-run
/// failure.
async fn push_batch(
    engine: &Engine,
    held: &Held,
    object: ObjectType,
    due: i64,
) -> Result<(Option<RunId>, usize, Option<RunFailure>), SyncError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let started_at = engine.now_ms();
    let mut changes = outbox::load_batch(engine, object, due).await?;
    let settings = super::state::settings(pool, ws).await?;
    let mut planned = Vec::with_capacity(changes.len());
    for c in &changes {
        planned.push(plan(engine, object, c, &settings).await?);
    }
    let retry_of = changes.first().and_then(|c| c.retry_of);
    let new_run = |expected: usize| NewRun {
        direction: Direction::Outbound,
        object_type: object,
        trigger: if retry_of.is_some() { Trigger::Retry } else { Trigger::Push },
        started_at,
        expected_total: Some(expected as i64),
    };
    for (i, (p, _)) in planned.iter_mut().enumerate() {
        if !matches!(p, Plan::Find) {
            continue;
        }
        match find_by_conversion_id(engine.client(), object, &changes[i].conversion_id).await {
            Ok(Some(id)) => {
                changes[i].salesforce_id = Some(id.clone());
                *p = Plan::Delete(id);
            }
            // Salesforce never had it: the delete cancels a create that did not reach it.
            Ok(None) => *p = Plan::Drop,
            // The object cannot be read: this record's failure, held back like a refused write,
            // rather than a whole-run failure that would stop every other change behind it.
            Err(e) if e.is_insufficient_access() => {
                *p = Plan::Fail(RecordMessage::InsufficientPermissions, e.to_string())
            }
            Err(e) => {
                let failure =
                    engine.fail_whole_run(held, None, new_run(changes.len()), &e.into()).await?;
                return Ok((None, 0, Some(failure)));
            }
        }
    }
    let reportable = planned.iter().filter(|(p, _)| !matches!(p, Plan::Drop)).count();
    if reportable == 0 {
        settle(held, object, &changes).await?;
        return Ok((None, 0, None));
    }
    let new_run = new_run(reportable);
    let run = held.begin_run(&new_run, new_run.started_at).await?;
    if let Some(of) = retry_of {
        store::link_retry(pool, ws, run, of).await?;
    }
    let mut done: Vec<(usize, NewRecord)> = Vec::new();
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    let mut deletes = Vec::new();
    for (i, (p, action)) in planned.iter().enumerate() {
        match p {
            Plan::Skip(m, d) => done.push((
                i,
                record(
                    &changes[i],
                    RecordStatus::Skipped,
                    *action,
                    Some(*m),
                    Some(d.clone()),
                    None,
                ),
            )),
            Plan::Fail(m, d) => done.push((
                i,
                record(&changes[i], RecordStatus::Failed, *action, Some(*m), Some(d.clone()), None),
            )),
            Plan::Update(v) => updates.push((i, v, *action)),
            Plan::Create(v) => creates.push((i, v, *action)),
            Plan::Delete(id) => deletes.push((i, id)),
            Plan::Find | Plan::Drop => {}
        }
    }
    let client = engine.client();
    // Each call's results are committed before the next call: a failure later in the batch
    // cannot lose what Salesforce already accepted.
    let result: Result<(), SyncError> = async {
        if !updates.is_empty() {
            let body: Vec<&Value> = updates.iter().map(|(_, v, _)| *v).collect();
            let results = client.update(&body).await?;
            let recs: Vec<(usize, NewRecord)> = updates
                .iter()
                .zip(&results)
                .map(|((i, _, a), r)| (*i, from_result(&changes[*i], *a, r)))
                .collect();
            commit(engine, held, run, object, &changes, &mut done, recs).await?;
        }
        if !creates.is_empty() {
            let body: Vec<&Value> = creates.iter().map(|(_, v, _)| *v).collect();
            let results = client.upsert(object.sobject(), "Conversion_Id__c", &body).await?;
            let recs: Vec<(usize, NewRecord)> = creates
                .iter()
                .zip(&results)
                .map(|((i, _, a), r)| (*i, from_result(&changes[*i], *a, r)))
                .collect();
            commit(engine, held, run, object, &changes, &mut done, recs).await?;
        }
        for (i, id) in &deletes {
            let rec = match client.delete_record(object.sobject(), id).await {
                Ok(()) => record(
                    &changes[*i],
                    RecordStatus::Success,
                    RecordAction::Deleted,
                    None,
                    None,
                    None,
                ),
                Err(e)
                    if e.status() == Some(404) || e.error_code() == Some("ENTITY_IS_DELETED") =>
                {
                    record(
                        &changes[*i],
                        RecordStatus::Success,
                        RecordAction::Deleted,
                        None,
                        None,
                        None,
                    )
                }
                Err(e)
                    if matches!(e, SalesforceError::Api { status: 400..=403, .. })
                        && !e.needs_reconnect()
                        && !e.is_limit_exceeded() =>
                {
                    let errors = match &e {
                        SalesforceError::Api { errors, .. } => errors
                            .iter()
                            .map(|b| {
                                crate::salesforce::RecordError::new(
                                    &b.error_code,
                                    b.message.clone(),
                                    &[],
                                )
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    record(
                        &changes[*i],
                        RecordStatus::Failed,
                        RecordAction::Deleted,
                        Some(outbound_message(&errors)),
                        Some(e.to_string()),
                        None,
                    )
                }
                Err(e) => return Err(e.into()),
            };
            commit(engine, held, run, object, &changes, &mut done, vec![(*i, rec)]).await?;
        }
        commit(engine, held, run, object, &changes, &mut done, Vec::new()).await?;
        Ok(())
    }
    .instrument(tracing::info_span!("run", id = %run, direction = "outbound", %object))
    .await;
    match result {
        Ok(()) => {
            // Dropped changes (records gone before they reached Salesforce) leave the queue too.
            let dropped: Vec<Change> = planned
                .iter()
                .zip(&changes)
                .filter(|((p, _), _)| matches!(p, Plan::Drop))
                .map(|(_, c)| c.clone())
                .collect();
            settle(held, object, &dropped).await?;
            held.finish_run(run).await?;
            Ok((Some(run), reportable, None))
        }
        Err(e) => {
            let failure = engine.fail_whole_run(held, Some(run), new_run, &e).await?;
            Ok((Some(run), reportable, Some(failure)))
        }
    }
}

/// The id of the live `object` record whose `Conversion_Id__c` is `conversion_id`, if any.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm>
async fn find_by_conversion_id(
    client: &SalesforceClient,
    object: ObjectType,
    conversion_id: &str,
) -> Result<Option<String>, SalesforceError> {
    let quoted = conversion_id.replace('\\', "\\\\").replace('\'', "\\'");
    let soql =
        format!("SELECT Id FROM {} WHERE Conversion_Id__c = '{quoted}' LIMIT 1", object.sobject());
    let mut stream = client.query::<Record>(soql);
    let page = stream.next_page().await?;
    Ok(page
        .and_then(|p| p.records.into_iter().next())
        .and_then(|r| r.get("Id").and_then(Value::as_str).map(str::to_string)))
}

/// Commits `recs` plus any skips still waiting in `done`: run records, outbox removal (or, for a
/// failure that can pass, the retry), the Salesforce ids of created records, in one transaction.
async fn commit(
    engine: &Engine,
    held: &Held,
    run: RunId,
    object: ObjectType,
    changes: &[Change],
    done: &mut Vec<(usize, NewRecord)>,
    recs: Vec<(usize, NewRecord)>,
) -> Result<(), SyncError> {
    let mut all = std::mem::take(done);
    all.extend(recs);
    if all.is_empty() {
        return Ok(());
    }
    let now = engine.now_ms();
    let mut settled = Vec::with_capacity(all.len());
    let mut deferred = Vec::new();
    for (i, rec) in all.iter_mut() {
        match retry(&engine.config().record_retry, object, &changes[*i], rec, now) {
            Some(d) => deferred.push(d),
            None => settled.push(changes[*i].clone()),
        }
    }
    let created: Vec<(String, String)> = all
        .iter()
        .filter(|(_, r)| r.status == RecordStatus::Success && r.action != RecordAction::Deleted)
        .filter_map(|(i, r)| Some((changes[*i].conversion_id.clone(), r.salesforce_id.clone()?)))
        .collect();
    let wrote = all.iter().any(|(_, r)| r.status == RecordStatus::Success);
    let records: Vec<NewRecord> = all.into_iter().map(|(_, r)| r).collect();
    let mut tx = held.begin().await?;
    store::append_records_in(&mut tx, engine.workspace(), run, records).await?;
    outbox::settle_in(&mut tx, engine, object, &settled, &created).await?;
    if wrote {
        outbox::access_restored_in(&mut tx, engine, object, now).await?;
    }
    outbox::defer_in(&mut tx, engine, &deferred).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a failed record is pushed again, and when; says so in its detail either way, so the
/// activity shows each attempt and which was the last.
fn retry(
    policy: &super::batching::RecordRetry,
    object: ObjectType,
    c: &Change,
    rec: &mut NewRecord,
    now: i64,
) -> Option<Deferral> {
    if rec.status != RecordStatus::Failed {
        return None;
    }
    let message = rec.message?;
    let why = Transient::of(message)?;
    let failures = c.failures.saturating_add(1);
    let delay = record_retry_delay(why, failures, policy);
    let next = match (delay, why) {
        (None, _) => "not pushed again".to_string(),
        (Some(d), Transient::Locked) => format!("pushed again in {}", span(d)),
        (Some(d), Transient::Access) => {
            format!("pushed again once a push of {} succeeds, or in {}", object.plural(), span(d))
        }
    };
    let note = format!("Attempt {failures} of {}: {next}.", policy.attempts);
    rec.detail = Some(match rec.detail.take() {
        Some(d) => format!("{}. {note}", d.trim_end_matches('.')),
        None => note,
    });
    Some(Deferral {
        seqs: c.seqs.clone(),
        failures,
        retry_at: now.saturating_add(super::millis(delay?)),
        reason: message.code(),
    })
}

/// A delay as a person reads it: "10 s", "20 min", "2 h".
fn span(d: Duration) -> String {
    let s = d.as_secs().max(1);
    match s {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Takes out of the outbox the changes that sent nothing (dropped, or skipped before any write).
async fn settle(held: &Held, object: ObjectType, changes: &[Change]) -> Result<(), SyncError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut tx = held.begin().await?;
    outbox::settle_in(&mut tx, held.engine(), object, changes, &[]).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::span;
    use std::time::Duration;

    #[test]
    fn retry_delays_read_as_a_person_would_say_them() {
        assert_eq!(span(Duration::from_secs(10)), "10 s");
        assert_eq!(span(Duration::from_secs(90)), "90 s");
        assert_eq!(span(Duration::from_secs(1200)), "20 min");
        assert_eq!(span(Duration::from_secs(7200)), "2 h");
        assert_eq!(span(Duration::from_millis(1)), "1 s");
    }
}
