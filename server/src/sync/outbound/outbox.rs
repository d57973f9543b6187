//! The outbox as the outbound worker reads and clears it: which changes are due, merged per
//! record; removing pushed ones; holding back the ones that failed for a passing reason until
//! their retry; and handing a create's new Salesforce id to a delete queued while it was in flight.
//! The rows are read and written through [`app::store::outbox`].

use crate::sync::Engine;
use app::domain::{ObjectType, RecordMessage, RunId};
use app::store::conversion::changes::set_salesforce_id_in;
use app::store::outbox::{self, Operation, QueuedChange};
use app::store::StoreError;
use std::collections::BTreeMap;

/// One record's pending change (its outbox rows merged).
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub seqs: Vec<i64>,
    pub conversion_id: String,
    pub delete: bool,
    /// Fields the change touched; `None`: all.
    pub fields: Option<Vec<String>>,
    pub salesforce_id: Option<String>,
    pub label: Option<String>,
    /// The record was created in Conversion and this is its first push: only a create queues every
    /// field. Reported as created even when an interrupted push had already created it in
    /// Salesforce (the upsert then answers `created: false`), or an inbound sync linked it.
    pub created_in_conversion: bool,
    /// Pushes of this record that failed so far for a passing reason.
    pub failures: u32,
    /// The run whose failed record this change retries: pushed in a "Retry" run of its own.
    pub retry_of: Option<RunId>,
}

/// A change held back after a passing failure, until `retry_at`.
#[derive(Debug, Clone)]
pub(super) struct Deferral {
    pub seqs: Vec<i64>,
    pub failures: u32,
    pub retry_at: i64,
    /// The record message code that holds it back.
    pub reason: &'static str,
}

/// The object type of the oldest change due at `due` (Unix ms).
pub(super) async fn next_object(engine: &Engine, due: i64) -> Result<Option<String>, StoreError> {
    outbox::next_due_object(engine.pool(), engine.workspace(), due).await
}

/// Drops every row of an object type no engine can push, rather than block the queue for ever.
pub(super) async fn drop_object(engine: &Engine, code: &str) -> Result<(), StoreError> {
    outbox::drop_object(engine.pool(), engine.workspace(), code).await
}

/// Up to `push_batch_size` records of `object` with a change due at `due`, oldest first. A record
/// waiting for its retry comes along when a newer change of it is due, so its rows are pushed as
/// one change.
pub(super) async fn load_batch(
    engine: &Engine,
    object: ObjectType,
    due: i64,
) -> Result<Vec<Change>, StoreError> {
    let (pool, ws) = (engine.pool(), engine.workspace());
    let batch = engine.config().push_batch_size.clamp(1, 200);
    let mut rows = outbox::due_changes(pool, ws, object, due, (batch * 4) as i64).await?;
    // The waiting rows are few (the partial index `sync_outbox_waiting` holds only them).
    let waiting = outbox::waiting_changes(pool, ws, object, due).await?;
    if !waiting.is_empty() {
        let due_ids: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.conversion_id.as_str()).collect();
        let along: Vec<QueuedChange> =
            waiting.into_iter().filter(|w| due_ids.contains(w.conversion_id.as_str())).collect();
        rows.extend(along);
        rows.sort_by_key(|r| r.seq);
    }
    let mut by_id: BTreeMap<String, Change> = BTreeMap::new();
    let mut order = Vec::new();
    for QueuedChange {
        seq,
        conversion_id: id,
        operation: op,
        fields,
        salesforce_id: sf,
        label,
        attempts,
        retry_of,
    } in rows
    {
        // A retry queues every field too, but is no create.
        let create = op == Operation::Upsert && fields.is_none() && retry_of.is_none();
        let fields: Option<Vec<String>> = fields.and_then(|f| serde_json::from_str(&f).ok());
        let failures = u32::try_from(attempts).unwrap_or(0);
        match by_id.get_mut(&id) {
            Some(c) => {
                c.seqs.push(seq);
                c.delete |= op == Operation::Delete;
                c.salesforce_id = sf.or(c.salesforce_id.take());
                c.fields = match (c.fields.take(), fields) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        Some(a)
                    }
                    _ => None,
                };
                c.label = label.or(c.label.take());
                c.created_in_conversion |= create;
                c.failures = c.failures.max(failures);
                c.retry_of = c.retry_of.or(retry_of);
            }
            None => {
                if by_id.len() >= batch {
                    continue;
                }
                order.push(id.clone());
                let change = Change {
                    seqs: vec![seq],
                    conversion_id: id.clone(),
                    delete: op == Operation::Delete,
                    fields,
                    salesforce_id: sf,
                    label,
                    created_in_conversion: create,
                    failures,
                    retry_of,
                };
                by_id.insert(id, change);
            }
        }
    }
    let mut batch: Vec<Change> = order.into_iter().filter_map(|id| by_id.remove(&id)).collect();
    // A retry is a run of its own: the batch holds the changes of the oldest one's kind (retries
    // of one run, or ordinary changes); the rest wait for the next batch of the pass.
    if let Some(kind) = batch.first().map(|c| c.retry_of) {
        batch.retain(|c| c.retry_of == kind);
    }
    Ok(batch)
}

/// Removes pushed changes from the outbox and stores the ids Salesforce gave new records. A delete
/// queued while the create was in flight had no id to delete: it gets this one.
pub(super) async fn settle_in(
    conn: &mut app::store::Tx,
    engine: &Engine,
    object: ObjectType,
    changes: &[Change],
    created: &[(String, String)],
) -> Result<(), StoreError> {
    let ws = engine.workspace();
    for c in changes {
        outbox::remove_in(conn, ws, &c.seqs).await?;
    }
    // Rare: checked once, so a batch of creates does not pay a look-up per record for it.
    let waiting_deletes =
        !created.is_empty() && outbox::has_deletes_without_id_in(conn, ws, object).await?;
    for (id, sf) in created {
        set_salesforce_id_in(conn, ws, object, id, sf).await?;
        if waiting_deletes {
            outbox::address_deletes_in(conn, ws, object, id, sf).await?;
        }
    }
    Ok(())
}

/// Keeps the rows of changes that failed for a passing reason, to be pushed again at `retry_at`.
pub(super) async fn defer_in(
    conn: &mut app::store::Tx,
    engine: &Engine,
    deferred: &[Deferral],
) -> Result<(), StoreError> {
    for d in deferred {
        let attempts = i64::from(d.failures);
        outbox::defer_in(conn, engine.workspace(), &d.seqs, attempts, d.retry_at, d.reason).await?;
    }
    Ok(())
}

/// A push of `object` succeeded, so the integration user can write it again: records of it held
/// back by "Insufficient permissions" are due by the next pass rather than at the end of their slow
/// backoff. Not in this pass (`now` + 1 ms is after its start): a pass pushes each waiting record
/// at most once, so a record refused by a sharing rule does not use up its attempts in one pass.
pub(super) async fn access_restored_in(
    conn: &mut app::store::Tx,
    engine: &Engine,
    object: ObjectType,
    now: i64,
) -> Result<(), StoreError> {
    let reason = RecordMessage::InsufficientPermissions.code();
    outbox::due_at_in(conn, engine.workspace(), object, reason, now + 1).await
}
