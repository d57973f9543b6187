//! Outbound: Conversion → Salesforce from the outbox. Pending changes are grouped by object type
//! and pushed with sObject Collections, at most 200 records a run ("Pushed updates to
//! Salesforce"). Each record's result becomes a run record and its outbox rows are removed in the
//! same transaction; a whole-run failure leaves them queued for the next attempt.

use super::mapping::{error_detail, outbound_message};
use super::state::Settings;
use super::{Engine, SyncError};
use crate::salesforce::datetime;
use crate::salesforce::SaveResult;
use app::domain::{Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunFailure, RunId, Trigger};
use app::store::{self, NewRecord, NewRun, StoreError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What one pass over the outbox did.
#[derive(Debug, Default, Clone)]
pub struct OutboundOutcome {
    pub runs: Vec<RunId>,
    pub records: usize,
    pub failure: Option<RunFailure>,
}

/// One change to push (outbox rows of the same record merged).
#[derive(Debug, Clone)]
struct Change {
    seqs: Vec<i64>,
    conversion_id: String,
    delete: bool,
    /// Fields the change touched; `None`: all.
    fields: Option<Vec<String>>,
    salesforce_id: Option<String>,
    label: Option<String>,
}

/// Pushes everything pending, one run per object type and batch. Stops at the first whole-run
/// failure (the rest stays queued).
pub async fn push_pending(engine: &Engine) -> Result<OutboundOutcome, SyncError> {
    engine.fail_abandoned_runs(Direction::Outbound, None).await?;
    let mut out = OutboundOutcome::default();
    loop {
        if engine.is_cancelled() {
            return Ok(out);
        }
        let next: Option<(String,)> =
            sqlx::query_as("SELECT object_type FROM sync_outbox WHERE workspace_id = ? ORDER BY seq LIMIT 1")
                .bind(engine.workspace().as_str())
                .fetch_optional(engine.pool())
                .await
                .map_err(StoreError::from)?;
        let Some((code,)) = next else { return Ok(out) };
        let Some(object) = ObjectType::parse(&code) else {
            // A row no engine can push: drop it rather than block the queue for ever.
            sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = ? AND object_type = ?")
                .bind(engine.workspace().as_str())
                .bind(&code)
                .execute(engine.pool())
                .await
                .map_err(StoreError::from)?;
            continue;
        };
        let (run, n, failure) = push_batch(engine, object).await?;
        out.runs.extend(run);
        out.records += n;
        if failure.is_some() {
            out.failure = failure;
            return Ok(out);
        }
    }
}

async fn load_batch(engine: &Engine, object: ObjectType) -> Result<Vec<Change>, StoreError> {
    let rows: Vec<(i64, String, String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT seq, conversion_id, operation, fields, salesforce_id, label FROM sync_outbox \
         WHERE workspace_id = ? AND object_type = ? ORDER BY seq LIMIT ?",
    )
    .bind(engine.workspace().as_str())
    .bind(object.as_str())
    .bind((engine.config().push_batch_size.clamp(1, 200) * 4) as i64)
    .fetch_all(engine.pool())
    .await?;
    let mut by_id: BTreeMap<String, Change> = BTreeMap::new();
    let mut order = Vec::new();
    for (seq, id, op, fields, sf, label) in rows {
        let fields: Option<Vec<String>> = fields.and_then(|f| serde_json::from_str(&f).ok());
        match by_id.get_mut(&id) {
            Some(c) => {
                c.seqs.push(seq);
                c.delete |= op == "delete";
                c.salesforce_id = sf.or(c.salesforce_id.take());
                c.fields = match (c.fields.take(), fields) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        Some(a)
                    }
                    _ => None,
                };
                c.label = label.or(c.label.take());
            }
            None => {
                if by_id.len() >= engine.config().push_batch_size.clamp(1, 200) {
                    continue;
                }
                order.push(id.clone());
                by_id.insert(id.clone(), Change { seqs: vec![seq], conversion_id: id, delete: op == "delete", fields, salesforce_id: sf, label });
            }
        }
    }
    Ok(order.into_iter().filter_map(|id| by_id.remove(&id)).collect())
}

/// A record to send, or the reason it is not sent.
enum Plan {
    Update(Value),
    Create(Value),
    Delete(String),
    Skip(RecordMessage, String),
    /// The record is gone and never reached Salesforce: nothing to report.
    Drop,
}

async fn plan(engine: &Engine, object: ObjectType, c: &Change, settings: &Settings) -> Result<(Plan, RecordAction), StoreError> {
    let writable = match object {
        ObjectType::Contact | ObjectType::Lead => settings.write_contacts,
        ObjectType::Company => settings.write_companies,
        ObjectType::Event => settings.write_events,
        _ => false,
    };
    let action = if c.delete { RecordAction::Deleted } else if c.salesforce_id.is_some() { RecordAction::Updated } else { RecordAction::Created };
    if !writable {
        let what = match object {
            ObjectType::Contact | ObjectType::Lead => "Write changes to Salesforce leads and contacts is off",
            _ => "Writing this object to Salesforce is off",
        };
        return Ok((Plan::Skip(RecordMessage::ObjectWriteDisabled, what.into()), action));
    }
    if c.delete {
        return Ok((c.salesforce_id.clone().map_or(Plan::Drop, Plan::Delete), action));
    }
    let (pool, ws) = (engine.pool(), engine.workspace().as_str());
    let sobject = object.sobject();
    let mut body = Map::new();
    body.insert("attributes".into(), json!({ "type": sobject }));
    let wanted = |f: &str| c.fields.as_ref().is_none_or(|fs| fs.iter().any(|x| x == f));
    let (sf_id, values): (Option<String>, Vec<(&str, &str, Value)>) = match object {
        ObjectType::Contact | ObjectType::Lead => {
            let row: Option<(String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT c.email, c.first_name, c.last_name, c.title, c.salesforce_id, a.salesforce_id FROM conversion_contacts c \
                 LEFT JOIN conversion_companies a ON a.id = c.company_id WHERE c.workspace_id = ? AND c.id = ?",
            )
            .bind(ws)
            .bind(&c.conversion_id)
            .fetch_optional(pool)
            .await?;
            let Some((email, first, last, title, sf, account)) = row else { return Ok((Plan::Drop, action)) };
            let mapped = |f: &str| settings.contact_fields.iter().any(|x| x == f);
            let mut v = vec![
                ("email", "Email", json!(email)),
                ("first_name", "FirstName", json!(first)),
                ("last_name", "LastName", json!(last)),
                ("title", "Title", json!(title)),
            ];
            v.retain(|(f, _, _)| mapped(f));
            if object == ObjectType::Contact && account.is_some() {
                v.push(("company_id", "AccountId", json!(account)));
            }
            (sf, v)
        }
        ObjectType::Company => {
            let row: Option<(String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT name, website, industry, salesforce_id FROM conversion_companies WHERE workspace_id = ? AND id = ?",
            )
            .bind(ws)
            .bind(&c.conversion_id)
            .fetch_optional(pool)
            .await?;
            let Some((name, website, industry, sf)) = row else { return Ok((Plan::Drop, action)) };
            let mut v = vec![("name", "Name", json!(name)), ("website", "Website", json!(website)), ("industry", "Industry", json!(industry))];
            v.retain(|(f, _, _)| settings.company_fields.iter().any(|x| x == f));
            (sf, v)
        }
        ObjectType::Event => {
            let row: Option<(String, i64, Option<String>, String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT e.name, e.occurred_at, e.properties, c.email, c.user_id, c.salesforce_id, e.salesforce_id \
                 FROM conversion_events e JOIN conversion_contacts c ON c.id = e.contact_id WHERE e.workspace_id = ? AND e.id = ?",
            )
            .bind(ws)
            .bind(&c.conversion_id)
            .fetch_optional(pool)
            .await?;
            let Some((name, occurred, props, email, user, contact_sf, sf)) = row else { return Ok((Plan::Drop, action)) };
            let contact = contact_sf.filter(|s| s.starts_with("003"));
            let title: String = name.chars().take(80).collect();
            (sf, vec![
                ("name", "Name", json!(title)),
                ("name", "Event_Name__c", json!(name)),
                ("email", "Email__c", json!(email)),
                ("user_id", "User_Id__c", json!(user)),
                ("contact", "Contact__c", json!(contact)),
                ("occurred_at", "Occurred_At__c", json!(datetime::format_millis(occurred))),
                ("properties", "Properties__c", json!(props)),
            ])
        }
        _ => return Ok((Plan::Skip(RecordMessage::ObjectWriteDisabled, "Conversion does not write this object".into()), action)),
    };
    let mut any = false;
    for (field, sf_field, value) in values {
        // A new record gets every mapped field; an update only those the change touched.
        if sf_id.is_none() || wanted(field) {
            body.insert(sf_field.into(), value);
            any = true;
        }
    }
    if !any {
        let detail = format!("Changed fields {:?} are not mapped to Salesforce", c.fields.clone().unwrap_or_default());
        return Ok((Plan::Skip(RecordMessage::NoFieldsToUpdate, detail), action));
    }
    Ok(match sf_id {
        Some(id) => {
            body.insert("Id".into(), json!(id));
            (Plan::Update(Value::Object(body)), RecordAction::Updated)
        }
        None => {
            body.insert("Conversion_Id__c".into(), json!(c.conversion_id));
            (Plan::Create(Value::Object(body)), RecordAction::Created)
        }
    })
}

fn record(c: &Change, status: RecordStatus, action: RecordAction, message: Option<RecordMessage>, detail: Option<String>, sf: Option<String>) -> NewRecord {
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

fn from_result(c: &Change, action: RecordAction, r: &SaveResult) -> NewRecord {
    if r.success {
        let action = match r.created {
            Some(true) => RecordAction::Created,
            Some(false) => RecordAction::Updated,
            None => action,
        };
        record(c, RecordStatus::Success, action, None, None, r.id.clone())
    } else {
        record(c, RecordStatus::Failed, action, Some(outbound_message(&r.errors)), Some(error_detail(&r.errors)), None)
    }
}

/// Pushes one batch of `object`: returns the run, its record count and a whole-run failure.
async fn push_batch(engine: &Engine, object: ObjectType) -> Result<(Option<RunId>, usize, Option<RunFailure>), SyncError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let changes = load_batch(engine, object).await?;
    let settings = super::state::settings(pool, ws).await?;
    let mut planned = Vec::with_capacity(changes.len());
    for c in &changes {
        planned.push(plan(engine, object, c, &settings).await?);
    }
    let reportable = planned.iter().filter(|(p, _)| !matches!(p, Plan::Drop)).count();
    if reportable == 0 {
        settle(engine, object, &changes, &[], &[]).await?;
        return Ok((None, 0, None));
    }
    let new_run = NewRun {
        direction: Direction::Outbound,
        object_type: object,
        trigger: Trigger::Push,
        started_at: engine.now_ms(),
        expected_total: Some(reportable as i64),
    };
    let run = store::begin_run(pool, ws, &new_run).await?;
    let mut done: Vec<(usize, NewRecord)> = Vec::new();
    let mut updates = Vec::new();
    let mut creates = Vec::new();
    let mut deletes = Vec::new();
    for (i, (p, action)) in planned.iter().enumerate() {
        match p {
            Plan::Skip(m, d) => done.push((i, record(&changes[i], RecordStatus::Skipped, *action, Some(*m), Some(d.clone()), None))),
            Plan::Update(v) => updates.push((i, v)),
            Plan::Create(v) => creates.push((i, v)),
            Plan::Delete(id) => deletes.push((i, id)),
            Plan::Drop => {}
        }
    }
    let client = engine.client();
    // Each call's results are committed before the next call: a failure later in the batch
    // cannot lose what Salesforce already accepted.
    let result: Result<(), SyncError> = async {
        if !updates.is_empty() {
            let body: Vec<&Value> = updates.iter().map(|(_, v)| *v).collect();
            let results = client.update(&body).await?;
            let recs: Vec<(usize, NewRecord)> =
                updates.iter().zip(&results).map(|((i, _), r)| (*i, from_result(&changes[*i], RecordAction::Updated, r))).collect();
            commit(engine, run, object, &changes, &mut done, recs).await?;
        }
        if !creates.is_empty() {
            let body: Vec<&Value> = creates.iter().map(|(_, v)| *v).collect();
            let results = client.upsert(object.sobject(), "Conversion_Id__c", &body).await?;
            let recs: Vec<(usize, NewRecord)> =
                creates.iter().zip(&results).map(|((i, _), r)| (*i, from_result(&changes[*i], RecordAction::Created, r))).collect();
            commit(engine, run, object, &changes, &mut done, recs).await?;
        }
        for (i, id) in &deletes {
            let rec = match client.delete_record(object.sobject(), id).await {
                Ok(()) => record(&changes[*i], RecordStatus::Success, RecordAction::Deleted, None, None, None),
                Err(e) if e.status() == Some(404) || e.error_code() == Some("ENTITY_IS_DELETED") => {
                    record(&changes[*i], RecordStatus::Success, RecordAction::Deleted, None, None, None)
                }
                Err(e) if matches!(e, crate::salesforce::SalesforceError::Api { status: 400..=403, .. }) && !e.needs_reconnect() && !e.is_limit_exceeded() => {
                    let errors = match &e {
                        crate::salesforce::SalesforceError::Api { errors, .. } => errors
                            .iter()
                            .map(|b| crate::salesforce::RecordError::new(&b.error_code, b.message.clone(), &[]))
                            .collect(),
                        _ => Vec::new(),
                    };
                    record(&changes[*i], RecordStatus::Failed, RecordAction::Deleted, Some(outbound_message(&errors)), Some(e.to_string()), None)
                }
                Err(e) => return Err(e.into()),
            };
            commit(engine, run, object, &changes, &mut done, vec![(*i, rec)]).await?;
        }
        commit(engine, run, object, &changes, &mut done, Vec::new()).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            // Dropped changes (records gone before they reached Salesforce) leave the queue too.
            let dropped: Vec<Change> =
                planned.iter().zip(&changes).filter(|((p, _), _)| matches!(p, Plan::Drop)).map(|(_, c)| c.clone()).collect();
            settle(engine, object, &dropped, &[], &[]).await?;
            store::finish_run(pool, ws, run, engine.now_ms()).await?;
            Ok((Some(run), reportable, None))
        }
        Err(e) => {
            let failure = engine.fail_whole_run(Some(run), new_run, &e).await?;
            Ok((Some(run), reportable, Some(failure)))
        }
    }
}

/// Commits `recs` plus any skips still waiting in `done`: run records, outbox removal and the
/// Salesforce ids of created records, in one transaction.
async fn commit(
    engine: &Engine,
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
    let settled: Vec<Change> = all.iter().map(|(i, _)| changes[*i].clone()).collect();
    let created: Vec<(String, String)> = all
        .iter()
        .filter(|(_, r)| r.status == RecordStatus::Success && r.action != RecordAction::Deleted)
        .filter_map(|(i, r)| Some((changes[*i].conversion_id.clone(), r.salesforce_id.clone()?)))
        .collect();
    let records: Vec<NewRecord> = all.into_iter().map(|(_, r)| r).collect();
    let mut tx = engine.pool().begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    store::append_records_in(&mut tx, engine.workspace(), run, records).await?;
    settle_in(&mut tx, engine, object, &settled, &created).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

async fn settle(engine: &Engine, object: ObjectType, changes: &[Change], _r: &[NewRecord], created: &[(String, String)]) -> Result<(), SyncError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut tx = engine.pool().begin().await.map_err(StoreError::from)?;
    settle_in(&mut tx, engine, object, changes, created).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Removes pushed changes from the outbox and stores the ids Salesforce gave new records.
async fn settle_in(
    conn: &mut sqlx::SqliteConnection,
    engine: &Engine,
    object: ObjectType,
    changes: &[Change],
    created: &[(String, String)],
) -> Result<(), StoreError> {
    let ws = engine.workspace().as_str();
    for c in changes {
        for seq in &c.seqs {
            sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = ? AND seq = ?").bind(ws).bind(seq).execute(&mut *conn).await?;
        }
    }
    let table = crate::conversion::store::spec(object).table;
    for (id, sf) in created {
        let extra = if table == "conversion_contacts" { ", salesforce_object = COALESCE(salesforce_object, 'Contact')" } else { "" };
        sqlx::query(&format!("UPDATE OR IGNORE {table} SET salesforce_id = ?{extra} WHERE workspace_id = ? AND id = ? AND salesforce_id IS NULL"))
            .bind(sf)
            .bind(ws)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
