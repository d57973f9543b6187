//! Run records: appended by the engine in chunks, read by the run page in keyset pages.

use crate::domain::{
    Counts, ObjectType, RecordAction, RecordFilter, RecordMessage, RecordStatus, RunId, RunRecord,
};
use crate::store::{Db, StoreError, Tx, WorkspaceId};
use sqlx::{Database, Encode, QueryBuilder, Type};
use std::collections::HashMap;

/// Rows per INSERT statement: 11 parameters each stays far below SQLite's parameter limit, and
/// every full chunk reuses one prepared statement.
const INSERT_CHUNK: usize = 200;

/// A record as the engine reports it.
#[derive(Clone, Debug)]
pub struct NewRecord {
    pub status: RecordStatus,
    pub action: RecordAction,
    pub message: Option<RecordMessage>,
    pub detail: Option<String>,
    pub salesforce_id: Option<String>,
    pub conversion_id: Option<String>,
    pub label: Option<String>,
    pub external_created_at: Option<i64>,
    pub external_updated_at: Option<i64>,
}

/// Appends records to an in-progress run and adds them to its counts in the same transaction, so
/// the counts always equal what the records say. Returns the run's counts after the append.
pub async fn append_records(
    db: &Db,
    ws: &WorkspaceId,
    run: RunId,
    records: &[NewRecord],
) -> Result<Counts, StoreError> {
    // On SQLite the transaction takes the write lock up front (see [`Db::begin`]): a deferred one
    // that reads first and then writes fails at once with SQLITE_BUSY (snapshot) when another
    // writer got in between, while this waits its turn under the busy timeout.
    let mut tx = db.begin().await?;
    let counts = append_records_in(&mut tx, ws, run, records.to_vec()).await?;
    tx.commit().await?;
    Ok(counts)
}

/// [`append_records`] on the caller's connection, inside a transaction it holds: the engine
/// commits Conversion's data, the inbound cursor and the records that report them together, so a
/// crash can never count a record twice. The records are moved into the statement's arguments
/// (a backfill binds a million of them: no string is copied on the way).
pub async fn append_records_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    run: RunId,
    records: Vec<NewRecord>,
) -> Result<Counts, StoreError> {
    let (counts, direction, object_type, started_at, entries) = on_tx!(tx, |conn| {
        let (next_seq, status, direction, object_type, started_at): (i64, String, String, String, i64) =
            sqlx::query_as("SELECT next_seq, status, direction, object_type, started_at FROM sync_runs WHERE workspace_id = $1 AND id = $2")
                .bind(ws.as_str())
                .bind(run.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::RowNotFound)?;
        if status != "in_progress" {
            return Err(StoreError::Protocol(format!(
                "run {run} is {status}; records can only be added while in progress"
            )));
        }
        let mut delta = Counts::default();
        // How many records of this append carry each message, for the list's message filter.
        let mut messages: Vec<(RecordMessage, i64)> = Vec::new();
        for r in &records {
            delta.add(r.status, r.action);
            if let Some(m) = r.message {
                match messages.iter_mut().find(|(seen, _)| *seen == m) {
                    Some((_, n)) => *n += 1,
                    None => messages.push((m, 1)),
                }
            }
        }
        let total = records.len() as i64;
        let entries = super::touches::entries(&records, next_seq);
        let mut seq = next_seq;
        let mut rest = records.into_iter();
        loop {
            let chunk: Vec<NewRecord> = rest.by_ref().take(INSERT_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let mut qb = QueryBuilder::new(
                "INSERT INTO run_records (run_id, seq, status, action, message_code, detail, salesforce_id, \
                 conversion_id, label, external_created_at, external_updated_at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(run.0)
                    .push_bind(seq)
                    .push_bind(r.status.as_str())
                    .push_bind(r.action.as_str())
                    .push_bind(r.message.map(RecordMessage::code))
                    .push_bind(r.detail.map(storable))
                    .push_bind(r.salesforce_id.map(storable))
                    .push_bind(r.conversion_id.map(storable))
                    .push_bind(r.label.map(storable))
                    .push_bind(r.external_created_at)
                    .push_bind(r.external_updated_at);
                seq += 1;
            });
            qb.build().execute(&mut *conn).await?;
        }
        for (message, n) in messages {
            sqlx::query(
                "INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type, records) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (workspace_id, code, run_id) DO UPDATE SET records = run_messages.records + excluded.records",
            )
            .bind(ws.as_str())
            .bind(message.code())
            .bind(run.0)
            .bind(&direction)
            .bind(&object_type)
            .bind(n)
            .execute(&mut *conn)
            .await?;
        }
        let c: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "UPDATE sync_runs SET created = created + $1, updated = updated + $2, deleted = deleted + $3, \
             skipped = skipped + $4, failed = failed + $5, next_seq = next_seq + $6 \
             WHERE workspace_id = $7 AND id = $8 RETURNING created, updated, deleted, skipped, failed",
        )
        .bind(delta.created)
        .bind(delta.updated)
        .bind(delta.deleted)
        .bind(delta.skipped)
        .bind(delta.failed)
        .bind(total)
        .bind(ws.as_str())
        .bind(run.0)
        .fetch_one(&mut *conn)
        .await?;
        let counts = Counts { created: c.0, updated: c.1, deleted: c.2, skipped: c.3, failed: c.4 };
        Ok::<_, StoreError>((counts, direction, object_type, started_at, entries))
    })?;
    let of = super::touches::RunOf {
        id: run,
        direction: &direction,
        object_type: &object_type,
        started_at,
    };
    super::touches::index_in(tx, ws, &of, entries).await?;
    Ok(counts)
}

/// Text as a record row keeps it: a NUL character (which a malformed record from Salesforce can
/// carry, and which PostgreSQL's text cannot hold) becomes U+FFFD, so the row is written on either
/// backend and the page shows where the character was.
fn storable(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    seq: i64,
    status: String,
    action: String,
    message_code: Option<String>,
    detail: Option<String>,
    salesforce_id: Option<String>,
    conversion_id: Option<String>,
    label: Option<String>,
    external_created_at: Option<i64>,
    external_updated_at: Option<i64>,
}

impl TryFrom<RecordRow> for RunRecord {
    type Error = StoreError;
    fn try_from(r: RecordRow) -> Result<Self, StoreError> {
        let bad = |what: &str, v: &str| {
            StoreError::Decode(format!("unknown {what} {v:?} in run_records").into())
        };
        Ok(RunRecord {
            seq: r.seq,
            status: RecordStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            action: RecordAction::parse(&r.action).ok_or_else(|| bad("action", &r.action))?,
            message: match r.message_code.as_deref() {
                None => None,
                Some(c) => Some(RecordMessage::from_code(c).ok_or_else(|| bad("message", c))?),
            },
            detail: r.detail,
            salesforce_id: r.salesforce_id,
            conversion_id: r.conversion_id,
            label: r.label,
            external_created_at: r.external_created_at,
            external_updated_at: r.external_updated_at,
        })
    }
}

const RECORD_COLUMNS: &str =
    "seq, status, action, message_code, detail, salesforce_id, conversion_id, \
    label, external_created_at, external_updated_at";

/// One page of a run's records in order, with the cursors of its neighbours.
#[derive(Clone, Debug)]
pub struct RecordsPage {
    pub records: Vec<RunRecord>,
    /// Set when earlier records exist: the previous page is `before=<this>`.
    pub earlier: Option<i64>,
    /// Set when later records exist: the next page is `after=<this>`.
    pub later: Option<i64>,
}

fn select_records<DB>(
    run: RunId,
    status: Option<RecordStatus>,
    columns: &str,
) -> QueryBuilder<'static, DB>
where
    DB: Database,
    &'static str: Encode<'static, DB> + Type<DB>,
    uuid::Uuid: Encode<'static, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(format!("SELECT {columns} FROM run_records WHERE run_id = "));
    qb.push_bind(run.0);
    if let Some(s) = status {
        qb.push(" AND status = ").push_bind(s.as_str());
    }
    qb
}

async fn exists_beyond(
    db: &Db,
    run: RunId,
    status: Option<RecordStatus>,
    seq: i64,
    later: bool,
) -> Result<bool, StoreError> {
    let found =
        on_db!(db, |pool| {
            let mut qb = select_records(run, status, "1");
            qb.push(if later { " AND seq > " } else { " AND seq < " }).push_bind(seq).push(
                if later { " ORDER BY seq ASC LIMIT 1" } else { " ORDER BY seq DESC LIMIT 1" },
            );
            qb.build().fetch_optional(pool).await?.is_some()
        });
    Ok(found)
}

/// Whether `run` is one of the workspace's: records are reached only through their run, and a run
/// of another workspace reads as empty.
async fn run_in_workspace(db: &Db, ws: &WorkspaceId, run: RunId) -> Result<bool, StoreError> {
    let found = on_db!(db, |pool| {
        sqlx::query("SELECT 1 FROM sync_runs WHERE workspace_id = $1 AND id = $2")
            .bind(ws.as_str())
            .bind(run.0)
            .fetch_optional(pool)
            .await?
            .is_some()
    });
    Ok(found)
}

/// A page of a run's records in order, positioned by `f`'s keyset cursor.
pub async fn list_records(
    db: &Db,
    ws: &WorkspaceId,
    run: RunId,
    f: &RecordFilter,
    limit: i64,
) -> Result<RecordsPage, StoreError> {
    if !run_in_workspace(db, ws, run).await? {
        return Ok(RecordsPage { records: Vec::new(), earlier: None, later: None });
    }
    let descending = f.before.is_some() && f.after.is_none();
    let rows: Vec<RecordRow> = on_db!(db, |pool| {
        let mut qb = select_records(run, f.status, RECORD_COLUMNS);
        if let Some(after) = f.after {
            qb.push(" AND seq > ").push_bind(after);
        } else if let Some(before) = f.before {
            qb.push(" AND seq < ").push_bind(before);
        }
        qb.push(if descending { " ORDER BY seq DESC" } else { " ORDER BY seq ASC" });
        qb.push(" LIMIT ").push_bind(limit);
        qb.build_query_as().fetch_all(pool).await?
    });
    let mut records: Vec<RunRecord> =
        rows.into_iter().map(RunRecord::try_from).collect::<Result<_, _>>()?;
    if descending {
        records.reverse();
    }
    let (earlier, later) = match (records.first(), records.last()) {
        (Some(first), Some(last)) => (
            exists_beyond(db, run, f.status, first.seq, false).await?.then_some(first.seq),
            exists_beyond(db, run, f.status, last.seq, true).await?.then_some(last.seq),
        ),
        _ => (None, None),
    };
    Ok(RecordsPage { records, earlier, later })
}

/// Records appended after `after_seq` (for a live run page with room left), at most `limit`.
pub async fn poll_records(
    db: &Db,
    ws: &WorkspaceId,
    run: RunId,
    status: Option<RecordStatus>,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<RunRecord>, StoreError> {
    if !run_in_workspace(db, ws, run).await? {
        return Ok(Vec::new());
    }
    let rows: Vec<RecordRow> = on_db!(db, |pool| {
        let mut qb = select_records(run, status, RECORD_COLUMNS);
        if let Some(after) = after_seq {
            qb.push(" AND seq > ").push_bind(after);
        }
        qb.push(" ORDER BY seq ASC LIMIT ").push_bind(limit);
        qb.build_query_as().fetch_all(pool).await?
    });
    rows.into_iter().map(RunRecord::try_from).collect()
}

/// The Salesforce records reported by the inbound runs of `object` that started at or after
/// `since` (Unix ms), with the `SystemModstamp` each had: what a backfill already wrote, for a
/// replacement Bulk API 2.0 job whose results hold them again. Read once per replacement job,
/// through the runs' index and each run's records in order.
pub async fn reported_since(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
    since: i64,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = on_db!(db, |pool| {
        sqlx::query_as(
        "SELECT rr.salesforce_id, rr.external_updated_at FROM sync_runs r \
         JOIN run_records rr ON rr.run_id = r.id \
         WHERE r.workspace_id = $1 AND r.direction = 'inbound' AND r.object_type = $2 AND r.id >= $3 \
         AND rr.salesforce_id IS NOT NULL AND rr.external_updated_at IS NOT NULL",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .bind(RunId::lower_bound(since).0)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().collect())
}
