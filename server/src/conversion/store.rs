//! Conversion's own records in SQLite: lookups by Salesforce id, email and user id, and batched
//! upserts and deletes for the inbound engine. Every query is scoped to a workspace.

use app::domain::ObjectType;
use app::store::{StoreError, WorkspaceId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::HashMap;

/// A value bound into a generic upsert.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

impl Val {
    pub fn text(s: impl Into<String>) -> Self {
        Val::Text(Some(s.into()))
    }
    pub fn opt(s: Option<&str>) -> Self {
        Val::Text(s.map(str::to_string))
    }
}

/// A table of Conversion's records and the columns the inbound engine writes. The first columns
/// are always `id, workspace_id`; `salesforce_id` identifies the row on conflict.
pub struct TableSpec {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// Columns Salesforce owns: overwritten when a record is synced again.
    pub synced: &'static [&'static str],
}

pub fn spec(object: ObjectType) -> &'static TableSpec {
    const CONTACTS: TableSpec = TableSpec {
        table: "conversion_contacts",
        columns: &[
            "id",
            "workspace_id",
            "email",
            "first_name",
            "last_name",
            "title",
            "company_id",
            "salesforce_object",
            "salesforce_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
        synced: &[
            "email",
            "first_name",
            "last_name",
            "title",
            "company_id",
            "salesforce_object",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
    };
    const COMPANIES: TableSpec = TableSpec {
        table: "conversion_companies",
        columns: &[
            "id",
            "workspace_id",
            "name",
            "website",
            "industry",
            "salesforce_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
        synced: &[
            "name",
            "website",
            "industry",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
    };
    const OPPORTUNITIES: TableSpec = TableSpec {
        table: "conversion_opportunities",
        columns: &[
            "id",
            "workspace_id",
            "name",
            "stage",
            "amount",
            "close_date",
            "company_id",
            "salesforce_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
        synced: &[
            "name",
            "stage",
            "amount",
            "close_date",
            "company_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
    };
    const LINKS: TableSpec = TableSpec {
        table: "conversion_opportunity_contacts",
        columns: &[
            "id",
            "workspace_id",
            "opportunity_id",
            "contact_id",
            "role",
            "is_primary",
            "salesforce_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
        synced: &[
            "opportunity_id",
            "contact_id",
            "role",
            "is_primary",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
    };
    const EVENTS: TableSpec = TableSpec {
        table: "conversion_events",
        columns: &[
            "id",
            "workspace_id",
            "contact_id",
            "name",
            "occurred_at",
            "properties",
            "salesforce_id",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
        synced: &[
            "contact_id",
            "name",
            "occurred_at",
            "properties",
            "external_created_at",
            "external_updated_at",
            "updated_at",
        ],
    };
    match object {
        ObjectType::Contact | ObjectType::Lead => &CONTACTS,
        ObjectType::Company => &COMPANIES,
        ObjectType::Opportunity => &OPPORTUNITIES,
        ObjectType::OpportunityContactRole => &LINKS,
        ObjectType::Event => &EVENTS,
    }
}

/// Rows per statement: 12 parameters a row stays far below SQLite's limit.
const CHUNK: usize = 200;
/// Parameters per `IN (...)` list.
const IN_CHUNK: usize = 500;

/// Inserts or updates rows (matched on workspace and Salesforce id). The rows are moved into the
/// statement's arguments, so no value is copied on the way.
pub async fn upsert(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    rows: Vec<Vec<Val>>,
) -> Result<(), StoreError> {
    let set: Vec<String> = spec.synced.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    // A row Conversion created and pushed is matched on its own id the first time it comes back
    // (its Salesforce id may not be stored yet).
    let conflicts = format!(
        " ON CONFLICT (workspace_id, salesforce_id) DO UPDATE SET {0} ON CONFLICT (id) DO UPDATE SET salesforce_id = excluded.salesforce_id, {0}",
        set.join(", ")
    );
    let mut rest = rows.into_iter();
    loop {
        let chunk: Vec<Vec<Val>> = rest.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("INSERT INTO {} ({}) ", spec.table, spec.columns.join(", ")));
        qb.push_values(chunk, |mut b, row| {
            for v in row {
                match v {
                    Val::Text(t) => b.push_bind(t),
                    Val::Int(i) => b.push_bind(i),
                    Val::Real(r) => b.push_bind(r),
                };
            }
        });
        qb.push(&conflicts);
        qb.build().execute(&mut *conn).await?;
    }
}

/// Deletes the rows with these Salesforce ids.
pub async fn delete_synced(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    spec: &TableSpec,
    ids: &[String],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("DELETE FROM {} WHERE workspace_id = ", spec.table));
        qb.push_bind(ws.as_str()).push(" AND salesforce_id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_str());
        }
        qb.push(")");
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// What Conversion already holds for a Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub id: String,
    pub external_updated_at: Option<i64>,
    pub user_id: Option<String>,
}

/// Rows of `table` whose `key` column is one of `keys` (`key` is `salesforce_id`, `email` or
/// `user_id`). With several rows per key (the same email on a Lead and a Contact) the Contact wins.
pub async fn known_by(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    table: &str,
    key: &str,
    keys: &[&str],
) -> Result<HashMap<String, Known>, StoreError> {
    let mut out = HashMap::with_capacity(keys.len());
    let user = if table == "conversion_contacts" { "user_id" } else { "NULL" };
    let order =
        if table == "conversion_contacts" { " ORDER BY salesforce_object = 'Contact'" } else { "" };
    // Looked up by `id`, the primary key must drive the query. Left to itself SQLite prefers the
    // `(workspace_id, ...)` indexes for the workspace equality and then scans every row of the
    // workspace per chunk, which made a backfill quadratic; `+` keeps that term out of index use.
    let ws_column = if key == "id" { "+workspace_id" } else { "workspace_id" };
    for chunk in keys.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT {key}, id, external_updated_at, {user} FROM {table} WHERE {ws_column} = "
        ));
        qb.push_bind(ws.as_str()).push(format!(" AND {key} IN ("));
        let mut sep = qb.separated(", ");
        for k in chunk {
            sep.push_bind(*k);
        }
        qb.push(")").push(order);
        let rows: Vec<(String, String, Option<i64>, Option<String>)> =
            qb.build_query_as().fetch_all(&mut *conn).await?;
        for (k, id, external_updated_at, user_id) in rows {
            out.insert(k, Known { id, external_updated_at, user_id });
        }
    }
    Ok(out)
}

/// Row counts per table, for tests comparing Conversion with the org.
pub async fn count(
    pool: &sqlx::SqlitePool,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<i64, StoreError> {
    let spec = spec(object);
    let mut sql = format!("SELECT COUNT(*) FROM {} WHERE workspace_id = ?", spec.table);
    match object {
        ObjectType::Contact => sql.push_str(" AND salesforce_object = 'Contact'"),
        ObjectType::Lead => sql.push_str(" AND salesforce_object = 'Lead'"),
        _ => {}
    }
    let (n,): (i64,) = sqlx::query_as(&sql).bind(ws.as_str()).fetch_one(pool).await?;
    Ok(n)
}

/// `(salesforce_id, external_updated_at)` of every synced row of an object, sorted: what a test
/// compares with the org's live records.
pub async fn synced_ids(
    pool: &sqlx::SqlitePool,
    ws: &WorkspaceId,
    object: ObjectType,
) -> Result<Vec<(String, i64)>, StoreError> {
    let spec = spec(object);
    let mut sql = format!(
        "SELECT salesforce_id, COALESCE(external_updated_at, 0) FROM {} WHERE workspace_id = ? AND salesforce_id IS NOT NULL",
        spec.table
    );
    match object {
        ObjectType::Contact => sql.push_str(" AND salesforce_object = 'Contact'"),
        ObjectType::Lead => sql.push_str(" AND salesforce_object = 'Lead'"),
        _ => {}
    }
    sql.push_str(" ORDER BY salesforce_id");
    Ok(sqlx::query_as(&sql).bind(ws.as_str()).fetch_all(pool).await?)
}
