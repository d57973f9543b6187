//! Changes made in Conversion. Each one writes the record and its outbox row in the same
//! transaction, so a change is never saved without being queued for Salesforce (or the reverse).

use app::domain::email::valid_email;
use app::domain::{CompanyField, ContactField, ObjectType};
use app::store::conversion::changes::{
    self as rows, ContactColumn, NewCompany, NewContact, NewEvent,
};
use app::store::conversion::Key;
use app::store::outbox::{self, NewChange, Operation};
use app::store::Db;
use app::store::{StoreError, WorkspaceId};
use serde::{Deserialize, Serialize};

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

impl ContactInput {
    /// What this change gives of the contact table's fields other than the email.
    fn table_values(&self) -> [(ContactField, &Option<String>); 3] {
        let field = |code| ContactField::parse(code).expect("a field of the contact table");
        [
            (field("first_name"), &self.first_name),
            (field("last_name"), &self.last_name),
            (field("title"), &self.title),
        ]
    }
}

impl CompanyInput {
    /// What this change gives of the company table's fields other than the name.
    fn table_values(&self) -> [(CompanyField, &Option<String>); 2] {
        let field = |code| CompanyField::parse(code).expect("a field of the company table");
        [(field("website"), &self.website), (field("industry"), &self.industry)]
    }
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

#[allow(clippy::too_many_arguments)]
async fn queue(
    conn: &mut app::store::Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    id: &str,
    operation: Operation,
    fields: Option<Vec<&str>>,
    salesforce: Option<(&str, &str)>,
    label: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let change = NewChange {
        object,
        conversion_id: id,
        operation,
        fields,
        salesforce,
        label,
        created_at: now,
    };
    outbox::queue_in(conn, ws, &change).await
}

/// Creates a contact (an email address is required) and queues it for Salesforce.
pub async fn create_contact(
    pool: &Db,
    ws: &WorkspaceId,
    input: &ContactInput,
    now: i64,
) -> Result<String, ChangeError> {
    let email = check_email(input.email.as_deref().ok_or_else(|| invalid("email is required"))?)?;
    let mut tx = pool.begin().await?;
    if let Some(c) = clean(&input.company_id) {
        if !rows::company_exists_in(&mut tx, ws, &c).await? {
            return Err(invalid(format!("company_id {c:?} does not exist")));
        }
    }
    let contact = NewContact {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        user_id: clean(&input.user_id),
        company_id: clean(&input.company_id),
        values: input.table_values().into_iter().map(|(f, v)| (f, clean(v))).collect(),
    };
    rows::insert_contact_in(&mut tx, ws, &contact, now).await?;
    let (id, label) = (&contact.id, Some(contact.email.as_str()));
    queue(&mut tx, ws, ObjectType::Contact, id, Operation::Upsert, None, None, label, now).await?;
    tx.commit().await?;
    Ok(contact.id)
}

/// Changes the given fields of a contact and queues exactly those fields for Salesforce.
pub async fn update_contact(
    pool: &Db,
    ws: &WorkspaceId,
    id: &str,
    input: &ContactInput,
    now: i64,
) -> Result<(), ChangeError> {
    let email = input.email.as_deref().map(check_email).transpose()?;
    let mut tx = pool.begin().await?;
    let Some((old_email, sf_object)) = rows::contact_email_in(&mut tx, ws, id).await? else {
        return Err(ChangeError::NotFound("contact"));
    };
    if let Some(c) = clean(&input.company_id) {
        if !rows::company_exists_in(&mut tx, ws, &c).await? {
            return Err(invalid(format!("company_id {c:?} does not exist")));
        }
    }
    let mut set = Vec::new();
    if let Some(e) = email.clone() {
        let field = ContactField::parse("email").expect("the contact table's email");
        set.push((ContactColumn::Field(field), Some(e)));
    }
    let given = input.table_values().into_iter().map(|(f, v)| (ContactColumn::Field(f), v));
    for (column, v) in [(ContactColumn::UserId, &input.user_id)]
        .into_iter()
        .chain(given)
        .chain([(ContactColumn::CompanyId, &input.company_id)])
    {
        if v.is_some() {
            set.push((column, clean(v)));
        }
    }
    if set.is_empty() {
        return Err(invalid("nothing to update: give at least one field"));
    }
    let fields: Vec<&str> = set.iter().map(|(f, _)| f.column()).collect();
    rows::update_contact_in(&mut tx, ws, id, set, now).await?;
    let object =
        if sf_object.as_deref() == Some("Lead") { ObjectType::Lead } else { ObjectType::Contact };
    let label = email.unwrap_or(old_email);
    queue(&mut tx, ws, object, id, Operation::Upsert, Some(fields), None, Some(&label), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a contact and queues its deletion in Salesforce (when it is there).
pub async fn delete_contact(
    pool: &Db,
    ws: &WorkspaceId,
    id: &str,
    now: i64,
) -> Result<(), ChangeError> {
    let mut tx = pool.begin().await?;
    let Some(deleted) = rows::delete_contact_in(&mut tx, ws, id).await? else {
        return Err(ChangeError::NotFound("contact"));
    };
    let object = match deleted.salesforce_object.as_deref() {
        Some("Lead") => ObjectType::Lead,
        _ => ObjectType::Contact,
    };
    queue_delete(tx, ws, object, id, deleted, now).await
}

pub async fn delete_company(
    pool: &Db,
    ws: &WorkspaceId,
    id: &str,
    now: i64,
) -> Result<(), ChangeError> {
    let mut tx = pool.begin().await?;
    let Some(deleted) = rows::delete_company_in(&mut tx, ws, id).await? else {
        return Err(ChangeError::NotFound("company"));
    };
    queue_delete(tx, ws, ObjectType::Company, id, deleted, now).await
}

/// Queues the deletion of a record just deleted in `tx`, and commits both.
async fn queue_delete(
    mut tx: app::store::Tx,
    ws: &WorkspaceId,
    object: ObjectType,
    id: &str,
    deleted: rows::Deleted,
    now: i64,
) -> Result<(), ChangeError> {
    let sf = deleted.salesforce_id.as_deref().map(|s| (s, object.sobject()));
    let label = Some(deleted.label.as_str());
    queue(&mut tx, ws, object, id, Operation::Delete, None, sf, label, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_company(
    pool: &Db,
    ws: &WorkspaceId,
    input: &CompanyInput,
    now: i64,
) -> Result<String, ChangeError> {
    let name = clean(&input.name).ok_or_else(|| invalid("name is required"))?;
    let mut tx = pool.begin().await?;
    let company = NewCompany {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        values: input.table_values().into_iter().map(|(f, v)| (f, clean(v))).collect(),
    };
    rows::insert_company_in(&mut tx, ws, &company, now).await?;
    let (id, label) = (&company.id, Some(company.name.as_str()));
    queue(&mut tx, ws, ObjectType::Company, id, Operation::Upsert, None, None, label, now).await?;
    tx.commit().await?;
    Ok(company.id)
}

pub async fn update_company(
    pool: &Db,
    ws: &WorkspaceId,
    id: &str,
    input: &CompanyInput,
    now: i64,
) -> Result<(), ChangeError> {
    if input.name.is_some() && clean(&input.name).is_none() {
        return Err(invalid("name cannot be empty"));
    }
    let mut tx = pool.begin().await?;
    let Some(old_name) = rows::company_name_in(&mut tx, ws, id).await? else {
        return Err(ChangeError::NotFound("company"));
    };
    let mut set = Vec::new();
    let name = CompanyField::parse("name").expect("the company table's name");
    for (field, v) in [(name, &input.name)].into_iter().chain(input.table_values()) {
        if v.is_some() {
            set.push((field, clean(v)));
        }
    }
    if set.is_empty() {
        return Err(invalid("nothing to update: give at least one field"));
    }
    let fields: Vec<&str> = set.iter().map(|(f, _)| f.as_str()).collect();
    rows::update_company_in(&mut tx, ws, id, set, now).await?;
    let label = clean(&input.name).unwrap_or(old_name);
    let object = ObjectType::Company;
    queue(&mut tx, ws, object, id, Operation::Upsert, Some(fields), None, Some(&label), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a custom event for the contact its identifiers resolve to.
pub async fn record_event(
    pool: &Db,
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
    let mut tx = pool.begin().await?;
    let mut ids = Vec::new();
    for (key, v) in [
        (Key::Id, clean(&input.contact_id)),
        (Key::Email, email),
        (Key::UserId, clean(&input.user_id)),
    ] {
        if let Some(v) = v {
            let found = rows::contact_id_by_in(&mut tx, ws, key, &v).await?;
            let col = key.column();
            ids.push(found.ok_or_else(|| invalid(format!("no contact has {col} {v:?}")))?);
        }
    }
    ids.sort();
    ids.dedup();
    let [contact] = ids.as_slice() else {
        return Err(invalid("the identifiers resolve to different contacts"));
    };
    let event = NewEvent {
        id: uuid::Uuid::now_v7().to_string(),
        contact_id: contact.clone(),
        name,
        occurred_at: input.occurred_at.unwrap_or(now),
        properties: input.properties.as_ref().map(|p| p.to_string()),
    };
    rows::insert_event_in(&mut tx, ws, &event, now).await?;
    let (id, label) = (&event.id, Some(event.name.as_str()));
    queue(&mut tx, ws, ObjectType::Event, id, Operation::Upsert, None, None, label, now).await?;
    tx.commit().await?;
    Ok(event.id)
}

/// Changes waiting for Salesforce.
pub async fn outbox_len(pool: &Db, ws: &WorkspaceId) -> Result<i64, StoreError> {
    outbox::outbox_len(pool, ws).await
}
