//! The outbox as the outbound worker reads and clears it: which changes are due, merged per
//! record; removing pushed ones; holding back the ones that failed for a passing reason until
//! their retry; and handing a create's new Salesforce id to a delete queued while it was in flight.

use crate::sync::Engine;
use app::domain::ObjectType;
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

/// One outbox row, as a batch reads it.
#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    conversion_id: String,
    operation: String,
    fields: Option<String>,
    salesforce_id: Option<String>,
    label: Option<String>,
    attempts: i64,
}

const DUE: &str = "(retry_at IS NULL OR retry_at <= ?)";

/// The object type of the oldest change due at `due` (Unix ms).
pub(super) async fn next_object(engine: &Engine, due: i64) -> Result<Option<String>, StoreError> {
    // In `seq` (rowid) order, stopping at the first due row: the oldest rows are almost always
    // due, where the workspace index would read and sort the whole queue at every batch.
    let next: Option<(String,)> =
        sqlx::query_as(&format!("SELECT object_type FROM sync_outbox NOT INDEXED WHERE workspace_id = ? AND {DUE} ORDER BY seq LIMIT 1"))
            .bind(engine.workspace().as_str())
            .bind(due)
            .fetch_optional(engine.pool())
            .await?;
    Ok(next.map(|n| n.0))
}

/// Drops every row of an object type no engine can push, rather than block the queue for ever.
pub(super) async fn drop_object(engine: &Engine, code: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = ? AND object_type = ?")
        .bind(engine.workspace().as_str())
        .bind(code)
        .execute(engine.pool())
        .await?;
    Ok(())
}

/// Up to `push_batch_size` records of `object` with a change due at `due`, oldest first. A record
/// waiting for its retry comes along when a newer change of it is due, so its rows are pushed as
/// one change.
pub(super) async fn load_batch(
    engine: &Engine,
    object: ObjectType,
    due: i64,
) -> Result<Vec<Change>, StoreError> {
    let (ws, batch) = (engine.workspace().as_str(), engine.config().push_batch_size.clamp(1, 200));
    const COLUMNS: &str = "seq, conversion_id, operation, fields, salesforce_id, label, attempts";
    let mut rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM sync_outbox WHERE workspace_id = ? AND object_type = ? AND {DUE} ORDER BY seq LIMIT ?"
    ))
    .bind(ws)
    .bind(object.as_str())
    .bind(due)
    .bind((batch * 4) as i64)
    .fetch_all(engine.pool())
    .await?;
    // The waiting rows are few (the partial index `sync_outbox_waiting` holds only them).
    let waiting: Vec<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM sync_outbox WHERE workspace_id = ? AND object_type = ? AND retry_at > ?"))
            .bind(ws)
            .bind(object.as_str())
            .bind(due)
            .fetch_all(engine.pool())
            .await?;
    if !waiting.is_empty() {
        let due_ids: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.conversion_id.as_str()).collect();
        let along: Vec<Row> =
            waiting.into_iter().filter(|w| due_ids.contains(w.conversion_id.as_str())).collect();
        rows.extend(along);
        rows.sort_by_key(|r| r.seq);
    }
    let mut by_id: BTreeMap<String, Change> = BTreeMap::new();
    let mut order = Vec::new();
    for Row { seq, conversion_id: id, operation: op, fields, salesforce_id: sf, label, attempts } in
        rows
    {
        let create = op == "upsert" && fields.is_none();
        let fields: Option<Vec<String>> = fields.and_then(|f| serde_json::from_str(&f).ok());
        let failures = u32::try_from(attempts).unwrap_or(0);
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
                c.created_in_conversion |= create;
                c.failures = c.failures.max(failures);
            }
            None => {
                if by_id.len() >= batch {
                    continue;
                }
                order.push(id.clone());
                let change = Change {
                    seqs: vec![seq],
                    conversion_id: id.clone(),
                    delete: op == "delete",
                    fields,
                    salesforce_id: sf,
                    label,
                    created_in_conversion: create,
                    failures,
                };
                by_id.insert(id, change);
            }
        }
    }
    Ok(order.into_iter().filter_map(|id| by_id.remove(&id)).collect())
}

/// Removes pushed changes from the outbox and stores the ids Salesforce gave new records. A delete
/// queued while the create was in flight had no id to delete: it gets this one.
pub(super) async fn settle_in(
    conn: &mut sqlx::SqliteConnection,
    engine: &Engine,
    object: ObjectType,
    changes: &[Change],
    created: &[(String, String)],
) -> Result<(), StoreError> {
    let ws = engine.workspace().as_str();
    for c in changes {
        for seq in &c.seqs {
            sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = ? AND seq = ?")
                .bind(ws)
                .bind(seq)
                .execute(&mut *conn)
                .await?;
        }
    }
    let table = crate::conversion::store::spec(object).table;
    // Rare: checked once, so a batch of creates does not pay a look-up per record for it.
    let waiting_deletes = !created.is_empty() && {
        let (any,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM sync_outbox WHERE workspace_id = ? AND object_type = ? \
             AND operation = 'delete' AND salesforce_id IS NULL)",
        )
        .bind(ws)
        .bind(object.as_str())
        .fetch_one(&mut *conn)
        .await?;
        any
    };
    for (id, sf) in created {
        let extra = if table == "conversion_contacts" {
            ", salesforce_object = COALESCE(salesforce_object, 'Contact')"
        } else {
            ""
        };
        sqlx::query(&format!("UPDATE OR IGNORE {table} SET salesforce_id = ?{extra} WHERE workspace_id = ? AND id = ? AND salesforce_id IS NULL"))
            .bind(sf)
            .bind(ws)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        if !waiting_deletes {
            continue;
        }
        sqlx::query(
            "UPDATE sync_outbox SET salesforce_id = ?, salesforce_object = ? \
             WHERE workspace_id = ? AND object_type = ? AND conversion_id = ? AND operation = 'delete' AND salesforce_id IS NULL",
        )
        .bind(sf)
        .bind(object.sobject())
        .bind(ws)
        .bind(object.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Keeps the rows of changes that failed for a passing reason, to be pushed again at `retry_at`.
pub(super) async fn defer_in(
    conn: &mut sqlx::SqliteConnection,
    engine: &Engine,
    deferred: &[Deferral],
) -> Result<(), StoreError> {
    let ws = engine.workspace().as_str();
    for d in deferred {
        for seq in &d.seqs {
            sqlx::query("UPDATE sync_outbox SET attempts = ?, retry_at = ?, retry_reason = ? WHERE workspace_id = ? AND seq = ?")
                .bind(i64::from(d.failures))
                .bind(d.retry_at)
                .bind(d.reason)
                .bind(ws)
                .bind(seq)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A push of `object` succeeded, so the integration user can write it again: records of it held
/// back by "Insufficient permissions" are due by the next pass rather than at the end of their slow
/// backoff. Not in this pass (`now` + 1 ms is after its start): a pass pushes each waiting record
/// at most once, so a record refused by a sharing rule does not use up its attempts in one pass.
pub(super) async fn access_restored_in(
    conn: &mut sqlx::SqliteConnection,
    engine: &Engine,
    object: ObjectType,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sync_outbox SET retry_at = ? WHERE workspace_id = ? AND object_type = ? \
         AND retry_reason = 'insufficient_permissions' AND retry_at > ?",
    )
    .bind(now + 1)
    .bind(engine.workspace().as_str())
    .bind(object.as_str())
    .bind(now + 1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
