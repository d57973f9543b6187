//! Changes made in Conversion (each written inside the caller's transaction, which queues it in
//! the outbox too), and what the outbound worker reads of a record to push it.

use super::synced::Values;
use super::{Db, Key, StoreError, Table, Tx, WorkspaceId};
use crate::domain::{CompanyField, ContactField, ObjectType};
use sqlx::{QueryBuilder, Row};

/// A contact created in Conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewContact {
    pub id: String,
    pub email: String,
    pub user_id: Option<String>,
    pub company_id: Option<String>,
    /// The other fields of the contact table (not the email).
    pub values: Values<ContactField>,
}

/// A company created in Conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewCompany {
    pub id: String,
    pub name: String,
    /// The other fields of the company table (not the name).
    pub values: Values<CompanyField>,
}

/// A custom event recorded in Conversion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub contact_id: String,
    pub name: String,
    pub occurred_at: i64,
    /// A JSON object, as text.
    pub properties: Option<String>,
}

/// A contact column a person can change: a field of the contact table, or one only Conversion
/// keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactColumn {
    Field(ContactField),
    UserId,
    CompanyId,
}

impl ContactColumn {
    /// The column, also the field's name in the outbox and in the settings' field mapping.
    pub fn column(self) -> &'static str {
        match self {
            ContactColumn::Field(f) => f.as_str(),
            ContactColumn::UserId => "user_id",
            ContactColumn::CompanyId => "company_id",
        }
    }
}

pub async fn company_exists_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
) -> Result<bool, StoreError> {
    on_tx!(tx, |conn| {
        Ok(sqlx::query("SELECT 1 FROM conversion_companies WHERE workspace_id = $1 AND id = $2")
            .bind(ws.as_str())
            .bind(id)
            .fetch_optional(conn)
            .await?
            .is_some())
    })
}

pub async fn insert_contact_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    c: &NewContact,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        let mut qb: QueryBuilder<_> = QueryBuilder::new(
            "INSERT INTO conversion_contacts (id, workspace_id, email, user_id, company_id, updated_at",
        );
        for (field, _) in &c.values {
            qb.push(", ").push(field.as_str());
        }
        qb.push(") VALUES (");
        let mut values = qb.separated(", ");
        values
            .push_bind(&c.id)
            .push_bind(ws.as_str())
            .push_bind(&c.email)
            .push_bind(&c.user_id)
            .push_bind(&c.company_id)
            .push_bind(now);
        for (_, value) in &c.values {
            values.push_bind(value);
        }
        qb.push(")");
        qb.build().execute(conn).await?;
        Ok(())
    })
}

/// A contact's email and Salesforce object (`Contact`, `Lead`, or none before its first push).
pub async fn contact_email_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT email, salesforce_object FROM conversion_contacts WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await
    })
}

/// Sets the given columns of a contact (`None`: empty) and its `updated_at`.
pub async fn update_contact_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
    set: Vec<(ContactColumn, Option<String>)>,
    now: i64,
) -> Result<(), StoreError> {
    update_in(tx, ws, Table::Contacts, id, set.into_iter().map(|(f, v)| (f.column(), v)), now).await
}

pub async fn insert_company_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    c: &NewCompany,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        let mut qb: QueryBuilder<_> = QueryBuilder::new(
            "INSERT INTO conversion_companies (id, workspace_id, name, updated_at",
        );
        for (field, _) in &c.values {
            qb.push(", ").push(field.as_str());
        }
        qb.push(") VALUES (");
        let mut values = qb.separated(", ");
        values.push_bind(&c.id).push_bind(ws.as_str()).push_bind(&c.name).push_bind(now);
        for (_, value) in &c.values {
            values.push_bind(value);
        }
        qb.push(")");
        qb.build().execute(conn).await?;
        Ok(())
    })
}

pub async fn company_name_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<String>, StoreError> {
    on_tx!(tx, |conn| {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM conversion_companies WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| r.0))
    })
}

/// Sets the given columns of a company (`None`: empty) and its `updated_at`.
pub async fn update_company_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
    set: Vec<(CompanyField, Option<String>)>,
    now: i64,
) -> Result<(), StoreError> {
    update_in(tx, ws, Table::Companies, id, set.into_iter().map(|(f, v)| (f.as_str(), v)), now)
        .await
}

async fn update_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    table: Table,
    id: &str,
    set: impl Iterator<Item = (&'static str, Option<String>)>,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        let mut qb: QueryBuilder<_> =
            QueryBuilder::new(format!("UPDATE {} SET updated_at = ", table.name()));
        qb.push_bind(now);
        for (column, v) in set {
            qb.push(format!(", {column} = ")).push_bind(v);
        }
        qb.push(" WHERE workspace_id = ").push_bind(ws.as_str()).push(" AND id = ").push_bind(id);
        qb.build().execute(conn).await?;
        Ok(())
    })
}

/// A contact or company as it was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// Its email (a contact) or name (a company).
    pub label: String,
    pub salesforce_id: Option<String>,
    /// `Contact` or `Lead` for a contact that reached Salesforce; none for a company.
    pub salesforce_object: Option<String>,
}

/// Deletes a contact; what it was, or None when there is no such contact.
pub async fn delete_contact_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<Deleted>, StoreError> {
    delete_in(tx, ws, Table::Contacts, id).await
}

/// Deletes a company; what it was, or None when there is no such company.
pub async fn delete_company_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<Deleted>, StoreError> {
    delete_in(tx, ws, Table::Companies, id).await
}

async fn delete_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    table: Table,
    id: &str,
) -> Result<Option<Deleted>, StoreError> {
    on_tx!(tx, |conn| {
        let (label, object) = match table {
            Table::Contacts => ("email", "salesforce_object"),
            _ => ("name", "NULL"),
        };
        let table = table.name();
        let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(&format!(
            "SELECT {label}, salesforce_id, {object} FROM {table} WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((label, salesforce_id, salesforce_object)) = row else { return Ok(None) };
        sqlx::query(&format!("DELETE FROM {table} WHERE workspace_id = $1 AND id = $2"))
            .bind(ws.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?;
        Ok(Some(Deleted { label, salesforce_id, salesforce_object }))
    })
}

/// The id of a contact with this value in `key` ([`Key::Id`], [`Key::Email`] or
/// [`Key::UserId`]); the first one when several have it.
pub async fn contact_id_by_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    key: Key,
    value: &str,
) -> Result<Option<String>, StoreError> {
    on_tx!(tx, |conn| {
        let found: Option<(String,)> = sqlx::query_as(&format!(
            "SELECT id FROM conversion_contacts WHERE workspace_id = $1 AND {} = $2 LIMIT 1",
            key.column()
        ))
        .bind(ws.as_str())
        .bind(value)
        .fetch_optional(conn)
        .await?;
        Ok(found.map(|f| f.0))
    })
}

pub async fn insert_event_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    e: &NewEvent,
    now: i64,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        sqlx::query("INSERT INTO conversion_events (id, workspace_id, contact_id, name, occurred_at, properties, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&e.id)
            .bind(ws.as_str())
            .bind(&e.contact_id)
            .bind(&e.name)
            .bind(e.occurred_at)
            .bind(&e.properties)
            .bind(now)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A pushed record gets the id Salesforce gave it, unless it has one already (or another row of
/// the workspace has that id). A contact without a Salesforce object becomes a Contact.
pub async fn set_salesforce_id_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    id: &str,
    salesforce_id: &str,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn| {
        let table = Table::of(object);
        let extra = if table == Table::Contacts {
            ", salesforce_object = COALESCE(salesforce_object, 'Contact')"
        } else {
            ""
        };
        // Not when another row already has that id: the unique index would refuse the update.
        sqlx::query(&format!(
            "UPDATE {0} SET salesforce_id = $1{extra} WHERE workspace_id = $2 AND id = $3 AND salesforce_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM {0} other WHERE other.workspace_id = $2 AND other.salesforce_id = $1)",
            table.name()
        ))
        .bind(salesforce_id)
        .bind(ws.as_str())
        .bind(id)
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// A contact (or lead) as a push sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactToPush {
    /// Every field of the contact table.
    pub values: Values<ContactField>,
    pub salesforce_id: Option<String>,
    /// The Salesforce id of its company's Account.
    pub account_salesforce_id: Option<String>,
}

pub async fn contact_to_push(
    db: &Db,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<ContactToPush>, StoreError> {
    on_db!(db, |pool| {
        let fields = ContactField::all();
        let columns: Vec<String> = fields.iter().map(|f| format!(", c.{}", f.as_str())).collect();
        let row = sqlx::query(&format!(
            "SELECT c.salesforce_id, a.salesforce_id{} FROM conversion_contacts c \
             LEFT JOIN conversion_companies a ON a.id = c.company_id WHERE c.workspace_id = $1 AND c.id = $2",
            columns.concat()
        ))
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await?;
        row.map(|row| {
            Ok(ContactToPush {
                salesforce_id: row.try_get(0)?,
                account_salesforce_id: row.try_get(1)?,
                values: values_from(&row, 2, fields)?,
            })
        })
        .transpose()
    })
}

/// A company as a push sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyToPush {
    /// Every field of the company table.
    pub values: Values<CompanyField>,
    pub salesforce_id: Option<String>,
}

pub async fn company_to_push(
    db: &Db,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<CompanyToPush>, StoreError> {
    on_db!(db, |pool| {
        let fields = CompanyField::all();
        let columns: Vec<String> = fields.iter().map(|f| format!(", {}", f.as_str())).collect();
        let row = sqlx::query(&format!(
            "SELECT salesforce_id{} FROM conversion_companies WHERE workspace_id = $1 AND id = $2",
            columns.concat()
        ))
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await?;
        row.map(|row| {
            Ok(CompanyToPush {
                salesforce_id: row.try_get(0)?,
                values: values_from(&row, 1, fields)?,
            })
        })
        .transpose()
    })
}

/// The values of `fields`, read from the row's columns from `first` on, in the same order.
fn values_from<R, F>(row: &R, first: usize, fields: Vec<F>) -> Result<Values<F>, StoreError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| Ok((f, row.try_get::<Option<String>, _>(first + i)?)))
        .collect()
}

/// A custom event as a push sends it, with its contact's identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventToPush {
    pub name: String,
    pub occurred_at: i64,
    /// A JSON object, as text.
    pub properties: Option<String>,
    pub contact_email: String,
    pub contact_user_id: Option<String>,
    pub contact_salesforce_id: Option<String>,
    pub salesforce_id: Option<String>,
}

pub async fn event_to_push(
    db: &Db,
    ws: &WorkspaceId,
    id: &str,
) -> Result<Option<EventToPush>, StoreError> {
    on_db!(db, |pool| {
        type Row =
            (String, i64, Option<String>, String, Option<String>, Option<String>, Option<String>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT e.name, e.occurred_at, e.properties, c.email, c.user_id, c.salesforce_id, e.salesforce_id \
             FROM conversion_events e JOIN conversion_contacts c ON c.id = e.contact_id WHERE e.workspace_id = $1 AND e.id = $2",
        )
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(
            |(
                name,
                occurred_at,
                properties,
                contact_email,
                contact_user_id,
                contact_salesforce_id,
                salesforce_id,
            )| EventToPush {
                name,
                occurred_at,
                properties,
                contact_email,
                contact_user_id,
                contact_salesforce_id,
                salesforce_id,
            },
        ))
    })
}
