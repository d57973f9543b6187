//! Conversion's own records (owned here): `conversion_contacts` (Salesforce Contacts and Leads),
//! `conversion_companies` (Accounts), `conversion_opportunities`, `conversion_opportunity_contacts`
//! (OpportunityContactRoles) and `conversion_events` (custom events), each with its Salesforce id
//! and external times. Every query is scoped to a workspace.
//!
//! - [`synced`]: what the inbound engine writes, one named-column struct per table, and the
//!   look-ups it decides with.
//! - [`changes`]: changes made in Conversion (the caller queues each in the outbox in the same
//!   transaction), and what the outbound worker reads to push them.

pub mod changes;
pub mod current;
pub mod synced;

use super::{Db, StoreError, Tx, WorkspaceId};
use crate::domain::ObjectType;
use sqlx::QueryBuilder;
use std::collections::HashMap;

/// Parameters per `IN (...)` list.
const IN_CHUNK: usize = 500;
/// Keys per array bound to one PostgreSQL look-up.
const ARRAY_CHUNK: usize = 5_000;

/// One of Conversion's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    Contacts,
    Companies,
    Opportunities,
    OpportunityContacts,
    Events,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Contacts,
        Table::Companies,
        Table::Opportunities,
        Table::OpportunityContacts,
        Table::Events,
    ];

    /// The table that holds a Salesforce object's records (Contacts and Leads share one).
    pub fn of(object: ObjectType) -> Table {
        match object {
            ObjectType::Contact | ObjectType::Lead => Table::Contacts,
            ObjectType::Company => Table::Companies,
            ObjectType::Opportunity => Table::Opportunities,
            ObjectType::OpportunityContactRole => Table::OpportunityContacts,
            ObjectType::Event => Table::Events,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Table::Contacts => "conversion_contacts",
            Table::Companies => "conversion_companies",
            Table::Opportunities => "conversion_opportunities",
            Table::OpportunityContacts => "conversion_opportunity_contacts",
            Table::Events => "conversion_events",
        }
    }
}

/// A column a record is looked up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Conversion's id (the primary key).
    Id,
    SalesforceId,
    /// Contacts only.
    Email,
    /// Contacts only.
    UserId,
}

impl Key {
    pub fn column(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::SalesforceId => "salesforce_id",
            Key::Email => "email",
            Key::UserId => "user_id",
        }
    }
}

/// What Conversion already holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: String,
    pub external_updated_at: Option<i64>,
    /// Contacts only.
    pub user_id: Option<String>,
    /// The Salesforce record it is linked to, if any yet.
    pub salesforce_id: Option<String>,
}

/// Rows of `table` whose `key` column is one of `keys`, by key. With several rows per key (the
/// same email on a Lead and a Contact) the Contact wins.
pub async fn known_by(
    tx: &mut Tx,
    ws: &WorkspaceId,
    table: Table,
    key: Key,
    keys: &[&str],
) -> Result<HashMap<String, Known>, StoreError> {
    type Row = (String, String, Option<i64>, Option<String>, Option<String>);
    let contacts = table == Table::Contacts;
    let user = if contacts { "user_id" } else { "NULL" };
    let (key, table) = (key.column(), table.name());
    let mut out = HashMap::with_capacity(keys.len());
    let mut keep = |rows: Vec<Row>| {
        for (k, id, external_updated_at, user_id, salesforce_id) in rows {
            out.insert(k, Known { id, external_updated_at, user_id, salesforce_id });
        }
    };
    match tx {
        Tx::Postgres(conn) => {
            // One probe of the `(workspace_id, key)` index per key, whatever the planner believes
            // of the workspace's size: with `workspace_id = $1 AND key IN (...)` it scanned the
            // workspace's whole range of the index and filtered, when its statistics had the
            // workspace as small (a new workspace's first backfill, before autovacuum's next
            // ANALYZE: 1 s per look-up of 500 keys at 100,000 rows). `OFFSET 0` keeps the
            // subquery from being merged into a join the planner could reorder.
            let order = if contacts { " ORDER BY t.salesforce_object = 'Contact'" } else { "" };
            let user = if contacts { "t.user_id" } else { "NULL" };
            let sql = format!(
                "SELECT t.{key}, t.id, t.external_updated_at, {user}, t.salesforce_id \
                 FROM UNNEST($2::text[]) AS k(key) CROSS JOIN LATERAL \
                 (SELECT * FROM {table} WHERE workspace_id = $1 AND {key} = k.key OFFSET 0) t{order}"
            );
            for chunk in keys.chunks(ARRAY_CHUNK) {
                let rows: Vec<Row> = sqlx::query_as(&sql)
                    .bind(ws.as_str())
                    .bind(chunk)
                    .fetch_all(&mut **conn)
                    .await?;
                keep(rows);
            }
        }
        Tx::Sqlite(conn) => {
            let order = if contacts { " ORDER BY salesforce_object = 'Contact'" } else { "" };
            // Looked up by `id`, the primary key must drive the query. Left to itself SQLite
            // prefers the `(workspace_id, ...)` indexes for the workspace equality and then scans
            // every row of the workspace per chunk, which made a backfill quadratic; `+` keeps
            // that term out of index use.
            let ws_column = if key == "id" { "+workspace_id" } else { "workspace_id" };
            for chunk in keys.chunks(IN_CHUNK) {
                let mut qb: QueryBuilder<_> = QueryBuilder::new(format!(
                    "SELECT {key}, id, external_updated_at, {user}, salesforce_id FROM {table} WHERE {ws_column} = "
                ));
                qb.push_bind(ws.as_str()).push(format!(" AND {key} IN ("));
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(*k);
                }
                qb.push(")").push(order);
                keep(qb.build_query_as().fetch_all(&mut **conn).await?);
            }
        }
    }
    Ok(out)
}

/// ` AND salesforce_object = ...` for the two objects that share the contacts table.
fn object_filter(object: ObjectType) -> &'static str {
    match object {
        ObjectType::Contact => " AND salesforce_object = 'Contact'",
        ObjectType::Lead => " AND salesforce_object = 'Lead'",
        _ => "",
    }
}

/// How many records of an object Conversion holds, for tests comparing Conversion with the org.
pub async fn count(db: &Db, ws: &WorkspaceId, object: ObjectType) -> Result<i64, StoreError> {
    on_db!(db, |pool| {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE workspace_id = $1{}",
            Table::of(object).name(),
            object_filter(object)
        );
        let (n,): (i64,) = sqlx::query_as(&sql).bind(ws.as_str()).fetch_one(pool).await?;
        Ok(n)
    })
}

/// `(salesforce_id, external_updated_at)` of every synced row of an object, sorted: what a test
/// compares with the org's live records.
pub async fn synced_ids(
    db: &Db,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<Vec<(String, i64)>, StoreError> {
    on_db!(db, |pool| {
        let sql = format!(
            "SELECT salesforce_id, COALESCE(external_updated_at, 0) FROM {} WHERE workspace_id = $1 \
             AND salesforce_id IS NOT NULL{} ORDER BY salesforce_id",
            Table::of(object).name(),
            object_filter(object)
        );
        sqlx::query_as(&sql).bind(ws.as_str()).fetch_all(pool).await
    })
}

#[cfg(test)]
mod tests;
