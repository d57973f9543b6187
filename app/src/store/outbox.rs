//! The outbox (`sync_outbox`, owned here): changes made in Conversion waiting to be pushed to
//! Salesforce, one row per change. Queued by Conversion's changes in their own transaction, read
//! and cleared by the outbound worker. Which rows make one push, and when a failed one is tried
//! again, is the worker's business: this module only reads and writes the rows it is told.

use super::{Db, StoreError, Tx, WorkspaceId};
use crate::domain::{ObjectType, RunId};

/// What a change does to the Salesforce record (`sync_outbox.operation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Create or update (by Conversion's id, `Conversion_Id__c`).
    Upsert,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
        }
    }
    /// The stored word back (the table's CHECK allows only these two).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "upsert" => Some(Operation::Upsert),
            "delete" => Some(Operation::Delete),
            _ => None,
        }
    }
}

/// A change to queue.
#[derive(Clone, Debug)]
pub struct NewChange<'a> {
    pub object: ObjectType,
    pub conversion_id: &'a str,
    pub operation: Operation,
    /// The Conversion fields the change touched; `None`: all of them (a create).
    pub fields: Option<Vec<&'a str>>,
    /// `(Salesforce id, sObject)` of a deleted record that reached Salesforce.
    pub salesforce: Option<(&'a str, &'a str)>,
    /// What the run's record is called (an email, a name).
    pub label: Option<&'a str>,
    pub created_at: i64,
}

/// Queues a change, inside the transaction that made it.
pub async fn queue_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    change: &NewChange<'_>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        let fields = change
            .fields
            .as_ref()
            .map(|f| serde_json::to_string(f).unwrap_or_else(|_| "[]".into()));
        sqlx::query(
            "INSERT INTO sync_outbox (workspace_id, object_type, conversion_id, operation, fields, salesforce_id, \
             salesforce_object, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(ws.as_str())
        .bind(change.object.as_str())
        .bind(change.conversion_id)
        .bind(change.operation.as_str())
        .bind(fields)
        .bind(change.salesforce.map(|s| s.0))
        .bind(change.salesforce.map(|s| s.1))
        .bind(change.label)
        .bind(change.created_at)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Queues a retry of a record whose push failed in run `retry_of`: its current Conversion data
/// (every field), pushed by the next pass in a run of its own. Idempotent: when a change of the
/// record is already waiting, that change is made due now and counts as the retry instead of a
/// second one. Returns whether a new row was queued.
pub async fn queue_retry(
    db: &Db,
    ws: &WorkspaceId,
    change: &NewChange<'_>,
    retry_of: RunId,
) -> Result<bool, StoreError> {
    // A change of the record already waiting (none, after the insert below) counts as the retry.
    async fn mark_waiting(
        tx: &mut Tx,
        ws: &WorkspaceId,
        change: &NewChange<'_>,
        retry_of: RunId,
    ) -> Result<u64, StoreError> {
        on_tx!(tx, |conn| {
            let marked = sqlx::query(
                "UPDATE sync_outbox SET retry_at = NULL, attempts = 0, retry_of = COALESCE(retry_of, $1) \
                 WHERE workspace_id = $2 AND object_type = $3 AND conversion_id = $4 AND operation = $5",
            )
            .bind(retry_of.0)
            .bind(ws.as_str())
            .bind(change.object.as_str())
            .bind(change.conversion_id)
            .bind(change.operation.as_str())
            .execute(conn)
            .await?;
            Ok(marked.rows_affected())
        })
    }
    let mut tx = db.begin().await?;
    let waiting = mark_waiting(&mut tx, ws, change, retry_of).await?;
    if waiting == 0 {
        queue_in(&mut tx, ws, change).await?;
        mark_waiting(&mut tx, ws, change, retry_of).await?;
    }
    tx.commit().await?;
    Ok(waiting == 0)
}

/// Changes waiting for Salesforce.
pub async fn outbox_len(db: &Db, ws: &WorkspaceId) -> Result<i64, StoreError> {
    on_db!(db, |pool| {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sync_outbox WHERE workspace_id = $1")
                .bind(ws.as_str())
                .fetch_one(pool)
                .await?;
        Ok(n)
    })
}

/// One outbox row, as the outbound worker reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedChange {
    pub seq: i64,
    pub conversion_id: String,
    pub operation: Operation,
    /// JSON array of the Conversion fields the change touched, as stored; `None`: all of them.
    pub fields: Option<String>,
    pub salesforce_id: Option<String>,
    pub label: Option<String>,
    /// Pushes of it that failed so far for a passing reason.
    pub attempts: i64,
    /// The run whose failed record this change retries ("Retry" queued it).
    pub retry_of: Option<RunId>,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    conversion_id: String,
    operation: String,
    fields: Option<String>,
    salesforce_id: Option<String>,
    label: Option<String>,
    attempts: i64,
    retry_of: Option<uuid::Uuid>,
}

impl TryFrom<Row> for QueuedChange {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let operation = Operation::parse(&r.operation).ok_or_else(|| {
            StoreError::Decode(format!("unknown outbox operation {:?}", r.operation).into())
        })?;
        Ok(QueuedChange {
            seq: r.seq,
            conversion_id: r.conversion_id,
            operation,
            fields: r.fields,
            salesforce_id: r.salesforce_id,
            label: r.label,
            attempts: r.attempts,
            retry_of: r.retry_of.map(RunId),
        })
    }
}

fn decode(rows: Vec<Row>) -> Result<Vec<QueuedChange>, StoreError> {
    rows.into_iter().map(QueuedChange::try_from).collect()
}

const COLUMNS: &str =
    "seq, conversion_id, operation, fields, salesforce_id, label, attempts, retry_of";
/// Due at the time bound as `$2`: never held back, or its retry time has come.
const DUE: &str = "(retry_at IS NULL OR retry_at <= $2)";

/// The object type (its code, as stored) of the oldest change due at `due` (Unix ms).
pub async fn next_due_object(
    db: &Db,
    ws: &WorkspaceId,
    due: i64,
) -> Result<Option<String>, StoreError> {
    on_db!(db, |pool, pg| {
        // In `seq` (rowid) order, stopping at the first due row: the oldest rows are almost always
        // due, where the workspace index would read and sort the whole queue at every batch.
        // (PostgreSQL has no NOT INDEXED; its planner reads the primary key in order by itself.)
        let next: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT object_type FROM sync_outbox {} WHERE workspace_id = $1 AND {DUE} ORDER BY seq LIMIT 1",
            if pg { "" } else { "NOT INDEXED" }
        ))
        .bind(ws.as_str())
        .bind(due)
        .fetch_optional(pool)
        .await?;
        Ok(next.map(|n| n.0))
    })
}

/// Drops every row of an object type (its code, as stored).
pub async fn drop_object(db: &Db, ws: &WorkspaceId, code: &str) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = $1 AND object_type = $2")
            .bind(ws.as_str())
            .bind(code)
            .execute(pool)
            .await?;
        Ok(())
    })
}

/// Up to `limit` rows of `object` due at `due`, oldest first.
pub async fn due_changes(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
    due: i64,
    limit: i64,
) -> Result<Vec<QueuedChange>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sync_outbox WHERE workspace_id = $1 AND object_type = $3 AND {DUE} ORDER BY seq LIMIT $4"
        ))
        .bind(ws.as_str())
        .bind(due)
        .bind(object.as_str())
        .bind(limit)
        .fetch_all(pool)
        .await?;
        decode(rows)
    })
}

/// Every row of `object` held back past `due`, waiting for its retry (few: the partial index
/// `sync_outbox_waiting` holds only them).
pub async fn waiting_changes(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
    due: i64,
) -> Result<Vec<QueuedChange>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sync_outbox WHERE workspace_id = $1 AND object_type = $2 AND retry_at > $3"
        ))
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(due)
        .fetch_all(pool)
        .await?;
        decode(rows)
    })
}

/// Removes rows (pushed, or settled for good).
pub async fn remove_in(tx: &mut Tx, ws: &WorkspaceId, seqs: &[i64]) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        for seq in seqs {
            sqlx::query("DELETE FROM sync_outbox WHERE workspace_id = $1 AND seq = $2")
                .bind(ws.as_str())
                .bind(seq)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Whether a delete of `object` waits without a Salesforce id (it was queued while the record's
/// create was in flight).
///
/// Here and in [`address_deletes_in`] `'delete'` is written out, not bound: SQLite uses the
/// partial index `sync_outbox_deletes_without_id` (`WHERE operation = 'delete' AND ...`) only for
/// a query whose own terms say so.
pub async fn has_deletes_without_id_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<bool, StoreError> {
    on_tx!(tx, |conn| {
        let (any,): (bool,) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM sync_outbox WHERE workspace_id = $1 AND object_type = $2 \
             AND operation = 'delete' AND salesforce_id IS NULL)",
        )
        .bind(ws.as_str())
        .bind(object.as_str())
        .fetch_one(&mut *conn)
        .await?;
        Ok(any)
    })
}

/// Gives the deletes of a record that wait without a Salesforce id the one its create got.
pub async fn address_deletes_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    conversion_id: &str,
    salesforce_id: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE sync_outbox SET salesforce_id = $1, salesforce_object = $2 \
             WHERE workspace_id = $3 AND object_type = $4 AND conversion_id = $5 AND operation = 'delete' AND salesforce_id IS NULL",
        )
        .bind(salesforce_id)
        .bind(object.sobject())
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(conversion_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

/// Holds rows back until `retry_at`, with the failures so far and the reason (a record message
/// code).
pub async fn defer_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    seqs: &[i64],
    attempts: i64,
    retry_at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        for seq in seqs {
            sqlx::query("UPDATE sync_outbox SET attempts = $1, retry_at = $2, retry_reason = $3 WHERE workspace_id = $4 AND seq = $5")
                .bind(attempts)
                .bind(retry_at)
                .bind(reason)
                .bind(ws.as_str())
                .bind(seq)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// Rows of `object` held back for `reason` until after `at` become due at `at`.
pub async fn due_at_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    reason: &str,
    at: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE sync_outbox SET retry_at = $1 WHERE workspace_id = $2 AND object_type = $3 \
             AND retry_reason = $4 AND retry_at > $5",
        )
        .bind(at)
        .bind(ws.as_str())
        .bind(object.as_str())
        .bind(reason)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}
