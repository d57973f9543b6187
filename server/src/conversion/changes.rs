//! Changes made in Conversion. Each one writes the record and its outbox row in the same
//! transaction, so a change is never saved without being queued for Salesforce (or the reverse).

use app::domain::email::valid_email;
use app::domain::ObjectType;
use app::store::{StoreError, WorkspaceId};
use serde::{Deserialize, Serialize};
use sqlx::{SqliteConnection, SqlitePool};

/// Why a change was refused: shown to the caller as a 4xx with this text.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(msg: impl Into<String>) -> ChangeError {
    ChangeError::Invalid(msg.into())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub email: Option<String>,
    pub user_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub company_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    pub name: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub name: Option<String>,
    pub contact_id: Option<String>,
    pub email: Option<String>,
    pub user_id: Option<String>,
    /// Unix ms; now when absent.
    pub occurred_at: Option<i64>,
    pub properties: Option<serde_json::Value>,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn check_email(email: &str) -> Result<String, ChangeError> {
    let e = email.trim().to_ascii_lowercase();
    if !valid_email(&e) {
        return Err(invalid(format!("email {email:?} is not a valid email address")));
    }
    Ok(e)
}

async fn queue(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    id: &str,
    operation: &str,
    fields: Option<Vec<&str>>,
    sf: Option<(&str, &str)>,
    label: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let fields = fields.map(|f| serde_json::to_string(&f).unwrap_or_else(|_| "[]".into()));
    sqlx::query(
        "INSERT INTO sync_outbox (workspace_id, object_type, conversion_id, operation, fields, salesforce_id, \
         salesforce_object, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ws.as_str())
    .bind(object.as_str())
    .bind(id)
    .bind(operation)
    .bind(fields)
    .bind(sf.map(|s| s.0))
    .bind(sf.map(|s| s.1))
    .bind(label)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn company_exists(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT 1 FROM conversion_companies WHERE workspace_id = ? AND id = ?")
        .bind(ws.as_str())
        .bind(id)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// Creates a contact (an email address is required) and queues it for Salesforce.
pub async fn create_contact(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    input: &ContactInput,
    now: i64,
) -> Result<String, ChangeError> {
    let email = check_email(input.email.as_deref().ok_or_else(|| invalid("email is required"))?)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    if let Some(c) = clean(&input.company_id) {
        if !company_exists(&mut tx, ws, &c).await? {
            return Err(invalid(format!("company_id {c:?} does not exist")));
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO conversion_contacts (id, workspace_id, email, user_id, first_name, last_name, title, company_id, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(ws.as_str())
    .bind(&email)
    .bind(clean(&input.user_id))
    .bind(clean(&input.first_name))
    .bind(clean(&input.last_name))
    .bind(clean(&input.title))
    .bind(clean(&input.company_id))
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    queue(&mut tx, ws, ObjectType::Contact, &id, "upsert", None, None, Some(&email), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(id)
}

/// Changes the given fields of a contact and queues exactly those fields for Salesforce.
pub async fn update_contact(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    id: &str,
    input: &ContactInput,
    now: i64,
) -> Result<(), ChangeError> {
    let email = input.email.as_deref().map(check_email).transpose()?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT email, salesforce_object FROM conversion_contacts WHERE workspace_id = ? AND id = ?")
            .bind(ws.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let Some((old_email, sf_object)) = row else { return Err(ChangeError::NotFound("contact")) };
    if let Some(c) = clean(&input.company_id) {
        if !company_exists(&mut tx, ws, &c).await? {
            return Err(invalid(format!("company_id {c:?} does not exist")));
        }
    }
    let mut fields = Vec::new();
    let mut qb = sqlx::QueryBuilder::new("UPDATE conversion_contacts SET updated_at = ");
    qb.push_bind(now);
    let mut set = |name: &'static str, v: Option<String>| {
        qb.push(format!(", {name} = ")).push_bind(v);
        fields.push(name);
    };
    if let Some(e) = email.clone() {
        set("email", Some(e));
    }
    for (name, v) in [
        ("user_id", &input.user_id),
        ("first_name", &input.first_name),
        ("last_name", &input.last_name),
        ("title", &input.title),
        ("company_id", &input.company_id),
    ] {
        if v.is_some() {
            set(name, clean(v));
        }
    }
    if fields.is_empty() {
        return Err(invalid("nothing to update: give at least one field"));
    }
    qb.push(" WHERE workspace_id = ").push_bind(ws.as_str()).push(" AND id = ").push_bind(id);
    qb.build().execute(&mut *tx).await.map_err(StoreError::from)?;
    let object =
        if sf_object.as_deref() == Some("Lead") { ObjectType::Lead } else { ObjectType::Contact };
    let label = email.unwrap_or(old_email);
    queue(&mut tx, ws, object, id, "upsert", Some(fields), None, Some(&label), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Deletes a contact and queues its deletion in Salesforce (when it is there).
pub async fn delete_contact(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    id: &str,
    now: i64,
) -> Result<(), ChangeError> {
    delete(pool, ws, "conversion_contacts", "email", id, now, "contact").await
}

pub async fn delete_company(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    id: &str,
    now: i64,
) -> Result<(), ChangeError> {
    delete(pool, ws, "conversion_companies", "name", id, now, "company").await
}

async fn delete(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    table: &str,
    label_col: &str,
    id: &str,
    now: i64,
    what: &'static str,
) -> Result<(), ChangeError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    let object_col = if table == "conversion_contacts" { "salesforce_object" } else { "NULL" };
    let row: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as(&format!("SELECT {label_col}, salesforce_id, {object_col} FROM {table} WHERE workspace_id = ? AND id = ?"))
            .bind(ws.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let Some((label, sf_id, sf_object)) = row else { return Err(ChangeError::NotFound(what)) };
    sqlx::query(&format!("DELETE FROM {table} WHERE workspace_id = ? AND id = ?"))
        .bind(ws.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    let object = match (table, sf_object.as_deref()) {
        ("conversion_companies", _) => ObjectType::Company,
        (_, Some("Lead")) => ObjectType::Lead,
        _ => ObjectType::Contact,
    };
    let sf = sf_id.as_deref().map(|s| (s, object.sobject()));
    queue(&mut tx, ws, object, id, "delete", None, sf, Some(&label), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

pub async fn create_company(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    input: &CompanyInput,
    now: i64,
) -> Result<String, ChangeError> {
    let name = clean(&input.name).ok_or_else(|| invalid("name is required"))?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO conversion_companies (id, workspace_id, name, website, industry, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(ws.as_str())
        .bind(&name)
        .bind(clean(&input.website))
        .bind(clean(&input.industry))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    queue(&mut tx, ws, ObjectType::Company, &id, "upsert", None, None, Some(&name), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(id)
}

pub async fn update_company(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    id: &str,
    input: &CompanyInput,
    now: i64,
) -> Result<(), ChangeError> {
    if input.name.is_some() && clean(&input.name).is_none() {
        return Err(invalid("name cannot be empty"));
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    let row: Option<(String,)> =
        sqlx::query_as("SELECT name FROM conversion_companies WHERE workspace_id = ? AND id = ?")
            .bind(ws.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let Some((old_name,)) = row else { return Err(ChangeError::NotFound("company")) };
    let mut fields = Vec::new();
    let mut qb = sqlx::QueryBuilder::new("UPDATE conversion_companies SET updated_at = ");
    qb.push_bind(now);
    for (name, v) in
        [("name", &input.name), ("website", &input.website), ("industry", &input.industry)]
    {
        if v.is_some() {
            qb.push(format!(", {name} = ")).push_bind(clean(v));
            fields.push(name);
        }
    }
    if fields.is_empty() {
        return Err(invalid("nothing to update: give at least one field"));
    }
    qb.push(" WHERE workspace_id = ").push_bind(ws.as_str()).push(" AND id = ").push_bind(id);
    qb.build().execute(&mut *tx).await.map_err(StoreError::from)?;
    let label = clean(&input.name).unwrap_or(old_name);
    queue(&mut tx, ws, ObjectType::Company, id, "upsert", Some(fields), None, Some(&label), now)
        .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Records a custom event for the contact its identifiers resolve to.
pub async fn record_event(
    pool: &SqlitePool,
    ws: &WorkspaceId,
    input: &EventInput,
    now: i64,
) -> Result<String, ChangeError> {
    let name = clean(&input.name).ok_or_else(|| invalid("name is required"))?;
    let email = input.email.as_deref().map(check_email).transpose()?;
    if input.contact_id.is_none() && email.is_none() && input.user_id.is_none() {
        return Err(invalid("one of contact_id, email or user_id is required"));
    }
    if let Some(p) = &input.properties {
        if !p.is_object() {
            return Err(invalid("properties must be a JSON object"));
        }
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::from)?;
    let mut ids = Vec::new();
    for (col, v) in
        [("id", clean(&input.contact_id)), ("email", email), ("user_id", clean(&input.user_id))]
    {
        if let Some(v) = v {
            let found: Option<(String,)> = sqlx::query_as(&format!(
                "SELECT id FROM conversion_contacts WHERE workspace_id = ? AND {col} = ? LIMIT 1"
            ))
            .bind(ws.as_str())
            .bind(&v)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            ids.push(
                found.map(|f| f.0).ok_or_else(|| invalid(format!("no contact has {col} {v:?}")))?,
            );
        }
    }
    ids.sort();
    ids.dedup();
    let [contact] = ids.as_slice() else {
        return Err(invalid("the identifiers resolve to different contacts"));
    };
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO conversion_events (id, workspace_id, contact_id, name, occurred_at, properties, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(&id)
        .bind(ws.as_str())
        .bind(contact)
        .bind(&name)
        .bind(input.occurred_at.unwrap_or(now))
        .bind(input.properties.as_ref().map(|p| p.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    queue(&mut tx, ws, ObjectType::Event, &id, "upsert", None, None, Some(&name), now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(id)
}

/// Changes waiting for Salesforce.
pub async fn outbox_len(pool: &SqlitePool, ws: &WorkspaceId) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_outbox WHERE workspace_id = ?")
        .bind(ws.as_str())
        .fetch_one(pool)
        .await?;
    Ok(n)
}
