//! A record's story: `record_touches` (which run records name each record) and `sync_records` (the
//! directory the search reads, with how the latest run left each record). Both are written with
//! the run records that feed them ([`index_in`], called by
//! [`append_records_in`](super::records::append_records_in)), and read by the search and the record
//! page.

use super::records::NewRecord;
use crate::domain::records::{
    prefix_end, search_terms, RecordKey, RecordSearch, RecordSummary, RecordTouch, TouchCursor,
};
use crate::domain::{
    Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunId, Trigger,
};
use crate::store::{Db, StoreError, Tx, WorkspaceId};
use sqlx::QueryBuilder;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Rows per INSERT of touches (4 parameters each) and of directory rows (13 each).
const TOUCH_CHUNK: usize = 500;
const DIRECTORY_CHUNK: usize = 200;

/// What one appended run record adds to the index.
pub(super) struct Entry {
    key: String,
    seq: i64,
    status: RecordStatus,
    message: Option<RecordMessage>,
    label: Option<String>,
    salesforce_id: Option<String>,
    conversion_id: Option<String>,
}

/// The index entries of records about to be appended from position `first_seq`: one per record
/// that names a record (a record with neither id, which Salesforce sent without one, has no story
/// to tell beyond its run).
pub(super) fn entries(records: &[NewRecord], first_seq: i64) -> Vec<Entry> {
    let trimmed = |s: &Option<String>| {
        s.as_deref().map(|s| s.trim_matches(' ')).filter(|s| !s.is_empty()).map(str::to_string)
    };
    records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let salesforce_id = trimmed(&r.salesforce_id);
            let conversion_id = trimmed(&r.conversion_id);
            let key = RecordKey::of(salesforce_id.as_deref(), conversion_id.as_deref())?;
            Some(Entry {
                key: key.to_string(),
                seq: first_seq + i as i64,
                status: r.status,
                message: r.message,
                label: r.label.clone().map(|l| l.replace('\0', "\u{FFFD}")),
                salesforce_id,
                conversion_id,
            })
        })
        .collect()
}

/// The run a batch of entries belongs to, as the directory records it.
pub(super) struct RunOf<'a> {
    pub id: RunId,
    pub direction: &'a str,
    pub object_type: &'a str,
    pub started_at: i64,
}

/// Writes the entries of one append in the caller's transaction: a touch each, and each record's
/// directory row brought up to its latest run record. A contact made in Conversion whose push gave
/// it a Salesforce ID leaves its `cv:` row for the `sf:` one (its older touches stay on the `cv:`
/// key, which the record page reads too).
pub(super) async fn index_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    run: &RunOf<'_>,
    entries: Vec<Entry>,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    // One directory row per record: the last entry of each (a batch can name a record twice).
    let mut latest: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        latest.insert(e.key.as_str(), i);
    }
    let mut directory: Vec<&Entry> = latest.into_values().map(|i| &entries[i]).collect();
    directory.sort_by_key(|e| e.seq);
    let promoted: Vec<String> = if run.direction == Direction::Outbound.as_str() {
        directory
            .iter()
            .filter(|e| e.salesforce_id.is_some())
            .filter_map(|e| {
                e.conversion_id.as_ref().map(|c| RecordKey::Conversion(c.clone()).to_string())
            })
            .collect()
    } else {
        Vec::new()
    };
    on_tx!(tx, |conn| {
        for chunk in entries.chunks(TOUCH_CHUNK) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO record_touches (workspace_id, record_key, run_id, seq) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(ws.as_str())
                    .push_bind(e.key.as_str())
                    .push_bind(run.id.0)
                    .push_bind(e.seq);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        }
        for chunk in directory.chunks(DIRECTORY_CHUNK) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO sync_records (workspace_id, record_key, object_type, label, name, email, \
                 salesforce_id, conversion_id, last_run_id, last_seq, last_status, last_message, last_at) ",
            );
            qb.push_values(chunk, |mut b, e| {
                let (name, email) = match e.label.as_deref().map(search_terms) {
                    Some((name, email)) => (Some(name), email),
                    None => (None, None),
                };
                b.push_bind(ws.as_str())
                    .push_bind(e.key.as_str())
                    .push_bind(run.object_type)
                    .push_bind(e.label.as_deref())
                    .push_bind(name)
                    .push_bind(email)
                    .push_bind(e.salesforce_id.as_deref())
                    .push_bind(e.conversion_id.as_deref())
                    .push_bind(run.id.0)
                    .push_bind(e.seq)
                    .push_bind(e.status.as_str())
                    .push_bind(e.message.map(RecordMessage::code))
                    .push_bind(run.started_at);
            });
            // A run that started earlier but appends later (two servers, or inbound beside
            // outbound) never takes the record back to an older state.
            qb.push(
                " ON CONFLICT (workspace_id, record_key) DO UPDATE SET \
                 object_type = excluded.object_type, \
                 label = COALESCE(excluded.label, sync_records.label), \
                 name = COALESCE(excluded.name, sync_records.name), \
                 email = COALESCE(excluded.email, sync_records.email), \
                 salesforce_id = COALESCE(excluded.salesforce_id, sync_records.salesforce_id), \
                 conversion_id = COALESCE(excluded.conversion_id, sync_records.conversion_id), \
                 last_run_id = excluded.last_run_id, last_seq = excluded.last_seq, \
                 last_status = excluded.last_status, last_message = excluded.last_message, \
                 last_at = excluded.last_at \
                 WHERE (excluded.last_run_id, excluded.last_seq) >= (sync_records.last_run_id, sync_records.last_seq)",
            );
            qb.build().execute(&mut *conn).await?;
        }
        for chunk in promoted.chunks(TOUCH_CHUNK) {
            let mut qb = QueryBuilder::new("DELETE FROM sync_records WHERE workspace_id = ");
            qb.push_bind(ws.as_str()).push(" AND record_key IN (");
            let mut list = qb.separated(", ");
            for key in chunk {
                list.push_bind(key.as_str());
            }
            qb.push(")");
            qb.build().execute(&mut *conn).await?;
        }
        Ok::<(), StoreError>(())
    })
}

/// The Salesforce IDs among `ids` (18 characters, as the API sends them) that a run has reported:
/// those with a row in the directory.
pub async fn reported(
    tx: &mut Tx,
    ws: &WorkspaceId,
    ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let mut out = HashSet::new();
    on_tx!(tx, |conn| {
        for chunk in ids.chunks(TOUCH_CHUNK) {
            let mut qb =
                QueryBuilder::new("SELECT record_key FROM sync_records WHERE workspace_id = ");
            qb.push_bind(ws.as_str()).push(" AND record_key IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(RecordKey::Salesforce((*id).to_string()).to_string());
            }
            qb.push(")");
            let rows: Vec<(String,)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            out.extend(
                rows.into_iter().filter_map(|(k,)| k.strip_prefix("sf:").map(str::to_string)),
            );
        }
        Ok::<(), StoreError>(())
    })?;
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct DirectoryRow {
    record_key: String,
    object_type: String,
    label: Option<String>,
    salesforce_id: Option<String>,
    conversion_id: Option<String>,
    last_run_id: Uuid,
    last_seq: i64,
    last_status: String,
    last_message: Option<String>,
    last_at: i64,
}

const DIRECTORY_COLUMNS: &str = "record_key, object_type, label, salesforce_id, conversion_id, \
    last_run_id, last_seq, last_status, last_message, last_at";

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Decode(format!("unknown {what} {v:?} in the record index").into())
}

impl TryFrom<DirectoryRow> for RecordSummary {
    type Error = StoreError;
    fn try_from(r: DirectoryRow) -> Result<Self, StoreError> {
        Ok(RecordSummary {
            key: RecordKey::from_stored(&r.record_key).ok_or_else(|| bad("key", &r.record_key))?,
            object_type: ObjectType::parse(&r.object_type)
                .ok_or_else(|| bad("object type", &r.object_type))?,
            label: r.label,
            salesforce_id: r.salesforce_id,
            conversion_id: r.conversion_id,
            last_run: RunId(r.last_run_id),
            last_seq: r.last_seq,
            last_status: RecordStatus::parse(&r.last_status)
                .ok_or_else(|| bad("status", &r.last_status))?,
            last_message: match r.last_message.as_deref() {
                None => None,
                Some(c) => Some(RecordMessage::from_code(c).ok_or_else(|| bad("message", c))?),
            },
            last_at: r.last_at,
        })
    }
}

/// What the search found: the records, exact ID matches first, then names and emails in order.
#[derive(Clone, Debug, Default)]
pub struct SearchResults {
    pub records: Vec<RecordSummary>,
    /// More records start with the text than were returned.
    pub more: bool,
}

/// The workspace's records matching `search`: the Salesforce ID or Conversion id it is, and the
/// names and emails that start with it. Each part is one lookup or one range scan of an index.
pub async fn search_records(
    db: &Db,
    ws: &WorkspaceId,
    search: &RecordSearch,
    limit: i64,
) -> Result<SearchResults, StoreError> {
    let mut rows: Vec<DirectoryRow> = Vec::new();
    if let Some(id) = &search.salesforce_id {
        rows.extend(by_key(db, ws, &RecordKey::Salesforce(id.clone()).to_string()).await?);
    }
    rows.extend(
        by_key(db, ws, &RecordKey::Conversion(search.conversion_id.clone()).to_string()).await?,
    );
    rows.extend(by_conversion_id(db, ws, &search.conversion_id).await?);
    let end = prefix_end(&search.prefix);
    let mut more = false;
    for column in ["name", "email"] {
        let found: Vec<DirectoryRow> = on_db!(db, |pool| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {DIRECTORY_COLUMNS} FROM sync_records WHERE workspace_id = "
            ));
            qb.push_bind(ws.as_str())
                .push(format!(" AND {column} >= "))
                .push_bind(search.prefix.as_str());
            if let Some(end) = &end {
                qb.push(format!(" AND {column} < ")).push_bind(end.as_str());
            }
            qb.push(format!(" ORDER BY {column}, record_key LIMIT ")).push_bind(limit + 1);
            qb.build_query_as().fetch_all(pool).await?
        });
        more |= found.len() as i64 > limit;
        rows.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    let mut records = Vec::new();
    for row in rows {
        if seen.insert(row.record_key.clone()) {
            records.push(RecordSummary::try_from(row)?);
        }
    }
    if records.len() as i64 > limit {
        records.truncate(limit as usize);
        more = true;
    }
    Ok(SearchResults { records, more })
}

async fn by_key(db: &Db, ws: &WorkspaceId, key: &str) -> Result<Option<DirectoryRow>, StoreError> {
    let row = on_db!(db, |pool| {
        sqlx::query_as(&format!(
            "SELECT {DIRECTORY_COLUMNS} FROM sync_records WHERE workspace_id = $1 AND record_key = $2"
        ))
        .bind(ws.as_str())
        .bind(key)
        .fetch_optional(pool)
        .await?
    });
    Ok(row)
}

async fn by_conversion_id(
    db: &Db,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Vec<DirectoryRow>, StoreError> {
    let rows = on_db!(db, |pool, pg| {
        // SQLite, without statistics, walks the whole directory by its primary key for this
        // (measured: 10 ms against 0.04 ms at 50,000 records) unless told to use the id's index.
        let hint = if pg { "" } else { " INDEXED BY sync_records_by_conversion_id" };
        sqlx::query_as(&format!(
            "SELECT {DIRECTORY_COLUMNS} FROM sync_records{hint} WHERE workspace_id = $1 AND conversion_id = $2 \
             ORDER BY record_key LIMIT 5"
        ))
        .bind(ws.as_str())
        .bind(id)
        .fetch_all(pool)
        .await?
    });
    Ok(rows)
}

/// The record a key names: its directory row, or, for a `cv:` key whose contact has since reached
/// Salesforce, the row it became.
pub async fn find_record(
    db: &Db,
    ws: &WorkspaceId,
    key: &RecordKey,
) -> Result<Option<RecordSummary>, StoreError> {
    if let Some(row) = by_key(db, ws, &key.to_string()).await? {
        return RecordSummary::try_from(row).map(Some);
    }
    if let RecordKey::Conversion(id) = key {
        if let Some(row) = by_conversion_id(db, ws, id).await?.into_iter().next() {
            return RecordSummary::try_from(row).map(Some);
        }
    }
    Ok(None)
}

/// The keys a record's touches are filed under: its own, and its Conversion id's when it had runs
/// before it reached Salesforce.
pub fn keys_of(record: &RecordSummary) -> Vec<RecordKey> {
    let mut keys = vec![record.key.clone()];
    if let (RecordKey::Salesforce(_), Some(c)) = (&record.key, &record.conversion_id) {
        keys.push(RecordKey::Conversion(c.clone()));
    }
    keys
}

#[derive(sqlx::FromRow)]
struct TouchRow {
    run_id: Uuid,
    seq: i64,
    direction: String,
    object_type: String,
    trigger: String,
    started_at: i64,
    status: String,
    action: String,
    message_code: Option<String>,
    detail: Option<String>,
    label: Option<String>,
    salesforce_id: Option<String>,
    conversion_id: Option<String>,
}

impl TryFrom<TouchRow> for RecordTouch {
    type Error = StoreError;
    fn try_from(r: TouchRow) -> Result<Self, StoreError> {
        Ok(RecordTouch {
            run_id: RunId(r.run_id),
            seq: r.seq,
            direction: Direction::parse(&r.direction)
                .ok_or_else(|| bad("direction", &r.direction))?,
            object_type: ObjectType::parse(&r.object_type)
                .ok_or_else(|| bad("object type", &r.object_type))?,
            trigger: Trigger::parse(&r.trigger).ok_or_else(|| bad("trigger", &r.trigger))?,
            started_at: r.started_at,
            action: RecordAction::parse(&r.action).ok_or_else(|| bad("action", &r.action))?,
            status: RecordStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            message: match r.message_code.as_deref() {
                None => None,
                Some(c) => Some(RecordMessage::from_code(c).ok_or_else(|| bad("message", c))?),
            },
            detail: r.detail,
            label: r.label,
            salesforce_id: r.salesforce_id,
            conversion_id: r.conversion_id,
        })
    }
}

/// One page of a record's timeline, newest first.
#[derive(Clone, Debug, Default)]
pub struct TimelinePage {
    pub touches: Vec<RecordTouch>,
    /// Set when older entries exist: the next page is `before=<this>`.
    pub older: Option<TouchCursor>,
}

/// The runs that touched the record filed under `keys`, newest first, older than `before`: one
/// range scan per key (merged here), each reading only the page it returns.
pub async fn record_timeline(
    db: &Db,
    ws: &WorkspaceId,
    keys: &[RecordKey],
    before: Option<TouchCursor>,
    limit: i64,
) -> Result<TimelinePage, StoreError> {
    let mut rows: Vec<TouchRow> = Vec::new();
    for key in keys {
        let key = key.to_string();
        let found: Vec<TouchRow> = on_db!(db, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT t.run_id, t.seq, r.direction, r.object_type, r.trigger, r.started_at, rr.status, \
                 rr.action, rr.message_code, rr.detail, rr.label, rr.salesforce_id, rr.conversion_id \
                 FROM record_touches t \
                 JOIN run_records rr ON rr.run_id = t.run_id AND rr.seq = t.seq \
                 JOIN sync_runs r ON r.id = t.run_id \
                 WHERE t.workspace_id = ",
            );
            qb.push_bind(ws.as_str()).push(" AND t.record_key = ").push_bind(key.as_str());
            if let Some(c) = before {
                qb.push(" AND (t.run_id, t.seq) < (")
                    .push_bind(c.run_id.0)
                    .push(", ")
                    .push_bind(c.seq)
                    .push(")");
            }
            qb.push(" ORDER BY t.run_id DESC, t.seq DESC LIMIT ").push_bind(limit + 1);
            qb.build_query_as().fetch_all(pool).await?
        });
        rows.extend(found);
    }
    rows.sort_by_key(|r| std::cmp::Reverse((r.run_id, r.seq)));
    rows.dedup_by(|a, b| (a.run_id, a.seq) == (b.run_id, b.seq));
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let touches: Vec<RecordTouch> =
        rows.into_iter().map(RecordTouch::try_from).collect::<Result<_, _>>()?;
    let older = if more {
        touches.last().map(|t| TouchCursor { run_id: t.run_id, seq: t.seq })
    } else {
        None
    };
    Ok(TimelinePage { touches, older })
}
