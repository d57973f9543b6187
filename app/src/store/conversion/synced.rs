//! Records as the inbound engine writes them: one struct per table, with a field per column, and
//! batched upserts and deletes matched on the Salesforce id.
//!
//! Each table's columns are named once, in [`Fields::columns`], beside the code that binds the
//! values in the same order ([`Fields::bind`]); the columns of contacts and companies that
//! Salesforce and Conversion both keep come from the objects' field tables
//! ([`crate::domain::objects`]), each value bound by its field. The tests write a row of every
//! table and read each column back by name.

use super::{StoreError, Table, Tx, WorkspaceId};
use crate::domain::{CompanyField, ContactField};
use sqlx::query_builder::Separated;
use sqlx::{Database, Encode, QueryBuilder, Type};

/// Rows per statement: 12 parameters a row stays far below SQLite's limit.
const CHUNK: usize = 200;
/// Parameters per `IN (...)` list.
const IN_CHUNK: usize = super::IN_CHUNK;

/// A record from Salesforce, as its table's row.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncedRow {
    /// Conversion's id: the one it already has for the record, or a new one.
    pub id: String,
    pub salesforce_id: String,
    /// `CreatedDate`.
    pub external_created_at: Option<i64>,
    /// `SystemModstamp`.
    pub external_updated_at: i64,
    /// When this sync wrote it.
    pub updated_at: i64,
    pub fields: Fields,
}

/// The columns Salesforce owns, per table: overwritten when a record is synced again.
#[derive(Clone, Debug, PartialEq)]
pub enum Fields {
    Contact(ContactFields),
    Company(CompanyFields),
    Opportunity(OpportunityFields),
    OpportunityContact(OpportunityContactFields),
    Event(EventFields),
}

/// Values of an object's field table, each by its field; a field left out is written empty.
pub type Values<F> = Vec<(F, Option<String>)>;

/// `conversion_contacts`: a Contact or a Lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactFields {
    /// The fields of [`crate::domain::objects::contact::FIELDS`] (the email lower case).
    pub values: Values<ContactField>,
    /// The company of a Contact's Account.
    pub company_id: Option<String>,
    /// `Contact` or `Lead`.
    pub salesforce_object: String,
}

/// `conversion_companies`: an Account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyFields {
    /// The fields of [`crate::domain::objects::company::FIELDS`].
    pub values: Values<CompanyField>,
}

/// `conversion_opportunities`.
#[derive(Clone, Debug, PartialEq)]
pub struct OpportunityFields {
    pub name: Option<String>,
    pub stage: Option<String>,
    pub amount: Option<f64>,
    pub close_date: Option<String>,
    pub company_id: String,
}

/// `conversion_opportunity_contacts`: an OpportunityContactRole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpportunityContactFields {
    pub opportunity_id: String,
    pub contact_id: String,
    pub role: Option<String>,
    pub is_primary: bool,
}

/// `conversion_events`: a custom event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFields {
    pub contact_id: String,
    pub name: String,
    pub occurred_at: i64,
    /// A JSON object, as text.
    pub properties: Option<String>,
}

impl Fields {
    pub fn table(&self) -> Table {
        match self {
            Fields::Contact(_) => Table::Contacts,
            Fields::Company(_) => Table::Companies,
            Fields::Opportunity(_) => Table::Opportunities,
            Fields::OpportunityContact(_) => Table::OpportunityContacts,
            Fields::Event(_) => Table::Events,
        }
    }

    /// The table's own columns, in the order [`Fields::bind`] binds them.
    pub fn columns(table: Table) -> Vec<&'static str> {
        match table {
            Table::Contacts => ContactField::all()
                .into_iter()
                .map(ContactField::as_str)
                .chain(["company_id", "salesforce_object"])
                .collect(),
            Table::Companies => CompanyField::all().into_iter().map(CompanyField::as_str).collect(),
            Table::Opportunities => vec!["name", "stage", "amount", "close_date", "company_id"],
            Table::OpportunityContacts => {
                vec!["opportunity_id", "contact_id", "role", "is_primary"]
            }
            Table::Events => vec!["contact_id", "name", "occurred_at", "properties"],
        }
    }

    /// Binds the values in the order of [`Fields::columns`]; moved, not copied.
    fn bind<'q, DB>(self, b: &mut Separated<'_, 'q, DB, &'static str>)
    where
        DB: Database,
        String: Encode<'q, DB> + Type<DB>,
        Option<String>: Encode<'q, DB> + Type<DB>,
        Option<f64>: Encode<'q, DB> + Type<DB>,
        i64: Encode<'q, DB> + Type<DB>,
    {
        match self {
            Fields::Contact(c) => {
                bind_values(b, ContactField::all(), c.values);
                b.push_bind(c.company_id).push_bind(c.salesforce_object);
            }
            Fields::Company(c) => bind_values(b, CompanyField::all(), c.values),
            Fields::Opportunity(o) => {
                b.push_bind(o.name)
                    .push_bind(o.stage)
                    .push_bind(o.amount)
                    .push_bind(o.close_date)
                    .push_bind(o.company_id);
            }
            Fields::OpportunityContact(l) => {
                b.push_bind(l.opportunity_id)
                    .push_bind(l.contact_id)
                    .push_bind(l.role)
                    .push_bind(l.is_primary as i64);
            }
            Fields::Event(e) => {
                b.push_bind(e.contact_id)
                    .push_bind(e.name)
                    .push_bind(e.occurred_at)
                    .push_bind(e.properties);
            }
        }
    }
}

/// Binds the value of each field of `table`, in its order, taken by field from `values`.
fn bind_values<'q, DB, F: PartialEq>(
    b: &mut Separated<'_, 'q, DB, &'static str>,
    table: Vec<F>,
    mut values: Values<F>,
) where
    DB: Database,
    Option<String>: Encode<'q, DB> + Type<DB>,
{
    for field in table {
        let value =
            values.iter().position(|(f, _)| *f == field).and_then(|i| values.swap_remove(i).1);
        b.push_bind(value);
    }
}

/// Every column of a synced row (in the order [`upsert_table`] binds them) and the ones a sync
/// overwrites (all but `id`, `workspace_id` and `salesforce_id`).
fn columns(table: Table) -> (Vec<&'static str>, Vec<&'static str>) {
    let own = Fields::columns(table);
    let times = ["external_created_at", "external_updated_at", "updated_at"];
    let all = ["id", "workspace_id"]
        .into_iter()
        .chain(own.iter().copied())
        .chain(["salesforce_id"])
        .chain(times)
        .collect();
    let synced = own.iter().copied().chain(times).collect();
    (all, synced)
}

/// Inserts or updates rows (matched on workspace and Salesforce id), each in its table.
pub async fn upsert(tx: &mut Tx, ws: &WorkspaceId, rows: Vec<SyncedRow>) -> Result<(), StoreError> {
    let mut by_table: Vec<(Table, Vec<SyncedRow>)> = Vec::new();
    for row in rows {
        let table = row.fields.table();
        match by_table.iter_mut().find(|(t, _)| *t == table) {
            Some((_, rows)) => rows.push(row),
            None => by_table.push((table, vec![row])),
        }
    }
    for (table, rows) in by_table {
        upsert_table(tx, ws, table, rows).await?;
    }
    Ok(())
}

/// [`upsert`] of rows of one table. The rows are moved into the statement's arguments, so no
/// value is copied on the way.
///
/// A row Conversion created and pushed is matched on its own id the first time it comes back (its
/// Salesforce id may not be stored yet), never when it is linked to another record. SQLite says
/// so with a second `ON CONFLICT` clause. PostgreSQL allows one, so there the rows go through a
/// `WITH` of their values: rows matched on their own id (no Salesforce id yet, and none of the
/// workspace's rows has theirs) are updated first, and the others are inserted or updated on
/// their Salesforce id, except those whose id belongs to a row linked to another record.
async fn upsert_table(
    tx: &mut Tx,
    ws: &WorkspaceId,
    table: Table,
    rows: Vec<SyncedRow>,
) -> Result<(), StoreError> {
    let (all, synced) = columns(table);
    let name = table.name();
    let (head, tail) = if tx.is_postgres() {
        let claim: Vec<String> = synced.iter().map(|c| format!("{c} = v.{c}")).collect();
        let set: Vec<String> = synced.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        let head = format!("WITH v ({}) AS (", all.join(", "));
        let tail = format!(
            "), claimed AS (UPDATE {name} t SET salesforce_id = v.salesforce_id, {claim} FROM v \
             WHERE t.workspace_id = v.workspace_id AND t.id = v.id AND t.salesforce_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM {name} y WHERE y.workspace_id = v.workspace_id AND y.salesforce_id = v.salesforce_id) \
             RETURNING t.id) \
             INSERT INTO {name} ({cols}) SELECT {cols} FROM v WHERE v.id NOT IN (SELECT id FROM claimed) \
             AND (NOT EXISTS (SELECT 1 FROM {name} x WHERE x.id = v.id AND x.salesforce_id IS DISTINCT FROM v.salesforce_id) \
             OR EXISTS (SELECT 1 FROM {name} y WHERE y.workspace_id = v.workspace_id AND y.salesforce_id = v.salesforce_id)) \
             ON CONFLICT (workspace_id, salesforce_id) DO UPDATE SET {set}",
            claim = claim.join(", "),
            cols = all.join(", "),
            set = set.join(", "),
        );
        (head, tail)
    } else {
        let set: Vec<String> = synced.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        let head = format!("INSERT INTO {name} ({}) ", all.join(", "));
        let tail = format!(
            " ON CONFLICT (workspace_id, salesforce_id) DO UPDATE SET {0} ON CONFLICT (id) DO UPDATE SET salesforce_id = excluded.salesforce_id, {0} WHERE {1}.salesforce_id IS NULL OR {1}.salesforce_id = excluded.salesforce_id",
            set.join(", "),
            name
        );
        (head, tail)
    };
    let mut rest = rows.into_iter();
    loop {
        let chunk: Vec<SyncedRow> = rest.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        on_tx!(&mut *tx, |conn| {
            let mut qb = QueryBuilder::new(&head);
            qb.push_values(chunk, |mut b, row| {
                b.push_bind(row.id).push_bind(ws.as_str());
                row.fields.bind(&mut b);
                b.push_bind(row.salesforce_id)
                    .push_bind(row.external_created_at)
                    .push_bind(row.external_updated_at)
                    .push_bind(row.updated_at);
            });
            qb.push(&tail);
            qb.build().execute(&mut *conn).await?;
        });
    }
}

/// Deletes the rows of `table` with these Salesforce ids.
pub async fn delete(
    tx: &mut Tx,
    ws: &WorkspaceId,
    table: Table,
    salesforce_ids: &[String],
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        for chunk in salesforce_ids.chunks(IN_CHUNK) {
            let mut qb: QueryBuilder<_> =
                QueryBuilder::new(format!("DELETE FROM {} WHERE workspace_id = ", table.name()));
            qb.push_bind(ws.as_str()).push(" AND salesforce_id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id.as_str());
            }
            qb.push(")");
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    })
}
