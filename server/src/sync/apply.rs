//! Inbound, one chunk at a time: decides what each Salesforce record becomes in Conversion (or
//! which of the article's messages says why it does not), inside the transaction that writes it.

use super::mapping::{self, present, SfRecord};
use super::state::Settings;
use app::domain::{ObjectType, RecordAction, RecordMessage, RecordStatus};
use app::store::conversion::synced::{
    CompanyFields, ContactFields, EventFields, Fields, OpportunityContactFields, OpportunityFields,
    SyncedRow,
};
use app::store::conversion::{known_by, Key, Known, Table};
use app::store::{NewRecord, StoreError, WorkspaceId};
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// What a chunk does to Conversion, and the run records that report it.
#[derive(Default)]
pub struct Applied {
    pub records: Vec<NewRecord>,
    pub upserts: Vec<SyncedRow>,
    pub deletes: Vec<String>,
}

struct Lookups {
    existing: HashMap<String, Known>,
    by_conversion_id: HashMap<String, Known>,
    companies: HashMap<String, Known>,
    opportunities: HashMap<String, Known>,
    contacts_by_sf: HashMap<String, Known>,
    contacts_by_email: HashMap<String, Known>,
    contacts_by_user: HashMap<String, Known>,
}

fn keys<'a>(chunk: &'a [SfRecord], f: impl Fn(&'a SfRecord) -> Option<&'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = chunk.iter().filter_map(f).collect();
    v.sort_unstable();
    v.dedup();
    v
}

async fn lookups(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    chunk: &[SfRecord],
) -> Result<Lookups, StoreError> {
    let table = Table::of(object);
    let ids = keys(chunk, |r| present(&r.id));
    let existing = known_by(conn, ws, table, Key::SalesforceId, &ids).await?;
    // Records Conversion pushed carry its id: they match the row even before its Salesforce id
    // was stored.
    let pushed = keys(chunk, |r| present(&r.conversion_id));
    let by_conversion_id = if pushed.is_empty() {
        HashMap::new()
    } else {
        known_by(conn, ws, table, Key::Id, &pushed).await?
    };
    let mut l = Lookups {
        existing,
        by_conversion_id,
        companies: HashMap::new(),
        opportunities: HashMap::new(),
        contacts_by_sf: HashMap::new(),
        contacts_by_email: HashMap::new(),
        contacts_by_user: HashMap::new(),
    };
    match object {
        ObjectType::Contact | ObjectType::Opportunity => {
            let accounts = keys(chunk, |r| present(&r.account_id));
            l.companies =
                known_by(conn, ws, Table::Companies, Key::SalesforceId, &accounts).await?;
        }
        ObjectType::OpportunityContactRole => {
            let opps = keys(chunk, |r| present(&r.opportunity_id));
            l.opportunities =
                known_by(conn, ws, Table::Opportunities, Key::SalesforceId, &opps).await?;
            let contacts = keys(chunk, |r| present(&r.contact_id));
            l.contacts_by_sf =
                known_by(conn, ws, Table::Contacts, Key::SalesforceId, &contacts).await?;
        }
        ObjectType::Event => {
            let contacts = keys(chunk, |r| present(&r.event_contact));
            l.contacts_by_sf =
                known_by(conn, ws, Table::Contacts, Key::SalesforceId, &contacts).await?;
            let lowered: Vec<String> = chunk
                .iter()
                .filter_map(|r| present(&r.event_email))
                .map(str::to_ascii_lowercase)
                .collect();
            let mut emails: Vec<&str> = lowered.iter().map(String::as_str).collect();
            emails.sort_unstable();
            emails.dedup();
            l.contacts_by_email = known_by(conn, ws, Table::Contacts, Key::Email, &emails).await?;
            let users = keys(chunk, |r| present(&r.user_id));
            l.contacts_by_user = known_by(conn, ws, Table::Contacts, Key::UserId, &users).await?;
        }
        _ => {}
    }
    Ok(l)
}

/// Decides every record of `chunk`.
pub async fn decide(
    conn: &mut SqliteConnection,
    ws: &WorkspaceId,
    object: ObjectType,
    chunk: &[SfRecord],
    settings: &Settings,
    now: i64,
) -> Result<Applied, StoreError> {
    let l = lookups(conn, ws, object, chunk).await?;
    let mut out = Applied { records: Vec::with_capacity(chunk.len()), ..Default::default() };
    for r in chunk {
        let record = |status,
                      action,
                      message: Option<RecordMessage>,
                      detail: Option<String>,
                      conversion_id: Option<String>| NewRecord {
            status,
            action,
            message,
            detail,
            salesforce_id: r.id.clone(),
            conversion_id,
            label: r.label(object),
            external_created_at: r.created(),
            external_updated_at: r.modstamp(),
        };
        let Some(sf_id) = present(&r.id) else {
            out.records.push(record(
                RecordStatus::Skipped,
                RecordAction::Created,
                Some(RecordMessage::MissingExternalId),
                None,
                None,
            ));
            continue;
        };
        let Some(modstamp) = r.modstamp() else {
            let detail = format!(
                "SystemModstamp {:?} is not a datetime",
                r.system_modstamp.as_deref().unwrap_or("")
            );
            out.records.push(record(
                RecordStatus::Failed,
                RecordAction::Updated,
                Some(RecordMessage::InvalidTimestamp),
                Some(detail),
                None,
            ));
            continue;
        };
        let known = l
            .existing
            .get(sf_id)
            .or_else(|| present(&r.conversion_id).and_then(|c| l.by_conversion_id.get(c)));
        let known_id = known.map(|k| k.id.clone());
        if r.deleted() {
            out.deletes.push(sf_id.to_string());
            out.records.push(record(
                RecordStatus::Success,
                RecordAction::Deleted,
                None,
                None,
                known_id,
            ));
            continue;
        }
        let action = if known.is_some() { RecordAction::Updated } else { RecordAction::Created };
        if let Some(synced) = known.and_then(|k| k.external_updated_at).filter(|&t| t > modstamp) {
            let detail = format!(
                "Conversion has this record as of {}",
                crate::salesforce::datetime::format_millis(synced)
            );
            out.records.push(record(
                RecordStatus::Skipped,
                action,
                Some(RecordMessage::OutdatedRecord),
                Some(detail),
                known_id,
            ));
            continue;
        }
        let conversion_id = known_id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let rec = match row_for(object, r, sf_id, modstamp, &conversion_id, &l, settings, now) {
            Err((status, message, detail)) => record(status, action, Some(message), detail, known_id),
            Ok(_) if settings.update_only && known.is_none() => record(
                RecordStatus::Skipped,
                action,
                Some(RecordMessage::WriteModeMismatch),
                Some("Inbound write mode is update-only and Conversion has no record for this Salesforce ID".into()),
                None,
            ),
            Ok(row) => {
                out.upserts.push(row);
                record(RecordStatus::Success, action, None, None, Some(conversion_id))
            }
        };
        out.records.push(rec);
    }
    Ok(out)
}

type Refusal = (RecordStatus, RecordMessage, Option<String>);

fn skip(m: RecordMessage) -> Refusal {
    (RecordStatus::Skipped, m, None)
}

fn fail(m: RecordMessage, detail: impl Into<String>) -> Refusal {
    (RecordStatus::Failed, m, Some(detail.into()))
}

fn text(v: &Option<String>) -> Result<Option<String>, Refusal> {
    match present(v) {
        Some(s) if !mapping::encodable(s) => {
            Err(fail(RecordMessage::EncodeFailed, "text contains a NUL character"))
        }
        s => Ok(s.map(str::to_string)),
    }
}

#[allow(clippy::too_many_arguments)]
fn row_for(
    object: ObjectType,
    r: &SfRecord,
    sf_id: &str,
    modstamp: i64,
    conversion_id: &str,
    l: &Lookups,
    settings: &Settings,
    now: i64,
) -> Result<SyncedRow, Refusal> {
    let fields = match object {
        ObjectType::Contact | ObjectType::Lead => {
            let email = present(&r.email);
            if r.do_not_sync == Some(true) {
                return Err((
                    RecordStatus::Skipped,
                    RecordMessage::DoNotSync,
                    Some("Conversion_Do_Not_Sync__c is set".into()),
                ));
            }
            if mapping::excluded_by_domain(email, &settings.excluded_domains) {
                return Err((
                    RecordStatus::Skipped,
                    RecordMessage::DoNotSync,
                    Some("The email's domain is excluded by sync rules".into()),
                ));
            }
            if object == ObjectType::Lead && r.is_converted == Some(true) {
                return Err(skip(RecordMessage::LeadConverted));
            }
            mapping::check_person(email).map_err(skip)?;
            let company = if object == ObjectType::Contact {
                let account = present(&r.account_id)
                    .ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
                let found = l.companies.get(account).ok_or_else(|| {
                    (
                        RecordStatus::Skipped,
                        RecordMessage::NoAccountAssociation,
                        Some(format!("Account {account} is not in Conversion")),
                    )
                })?;
                Some(found.id.clone())
            } else {
                None
            };
            Fields::Contact(ContactFields {
                email: email.map(str::to_ascii_lowercase),
                first_name: text(&r.first_name)?,
                last_name: text(&r.last_name)?,
                title: text(&r.title)?,
                company_id: company,
                salesforce_object: object.sobject().to_string(),
            })
        }
        ObjectType::Company => {
            if r.do_not_sync == Some(true) {
                return Err(skip(RecordMessage::DoNotSync));
            }
            if present(&r.name).is_none() {
                return Err(fail(RecordMessage::MalformedData, "Account has no Name"));
            }
            Fields::Company(CompanyFields {
                name: text(&r.name)?,
                website: text(&r.website)?,
                industry: text(&r.industry)?,
            })
        }
        ObjectType::Opportunity => {
            if r.do_not_sync == Some(true) {
                return Err(skip(RecordMessage::DoNotSync));
            }
            if present(&r.name).is_none() {
                return Err(fail(RecordMessage::MalformedData, "Opportunity has no Name"));
            }
            let account =
                present(&r.account_id).ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
            let company = l
                .companies
                .get(account)
                .ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
            Fields::Opportunity(OpportunityFields {
                name: text(&r.name)?,
                stage: text(&r.stage_name)?,
                amount: r.amount,
                close_date: text(&r.close_date)?,
                company_id: company.id.clone(),
            })
        }
        ObjectType::OpportunityContactRole => {
            let (Some(opp), Some(contact)) = (present(&r.opportunity_id), present(&r.contact_id))
            else {
                return Err(fail(
                    RecordMessage::MalformedData,
                    "OpportunityId and ContactId are required",
                ));
            };
            let opp =
                l.opportunities.get(opp).ok_or_else(|| skip(RecordMessage::OpportunityNotFound))?;
            let contact = l
                .contacts_by_sf
                .get(contact)
                .ok_or_else(|| skip(RecordMessage::ContactNotFound))?;
            Fields::OpportunityContact(OpportunityContactFields {
                opportunity_id: opp.id.clone(),
                contact_id: contact.id.clone(),
                role: text(&r.role)?,
                is_primary: r.is_primary.unwrap_or(false),
            })
        }
        ObjectType::Event => {
            let name =
                present(&r.event_name).ok_or_else(|| skip(RecordMessage::MissingEventName))?;
            let contact = resolve_contact(r, l)?;
            let occurred =
                mapping::parse_occurred_at(r.occurred_at.as_deref()).ok_or_else(|| {
                    fail(
                        RecordMessage::InvalidTimestamp,
                        format!(
                            "Occurred_At__c {:?} is not a date",
                            r.occurred_at.as_deref().unwrap_or("")
                        ),
                    )
                })?;
            let properties = match present(&r.properties) {
                None => None,
                Some(p) => match serde_json::from_str::<serde_json::Value>(p) {
                    Ok(v) => Some(
                        serde_json::to_string(&v)
                            .map_err(|e| fail(RecordMessage::EncodeFailed, e.to_string()))?,
                    ),
                    Err(e) => {
                        return Err(fail(
                            RecordMessage::MalformedData,
                            format!("Properties__c is not JSON: {e}"),
                        ))
                    }
                },
            };
            if !mapping::encodable(name) {
                return Err(fail(
                    RecordMessage::EncodeFailed,
                    "Event_Name__c contains a NUL character",
                ));
            }
            Fields::Event(EventFields {
                contact_id: contact.to_string(),
                name: name.to_string(),
                occurred_at: occurred,
                properties,
            })
        }
    };
    Ok(SyncedRow {
        id: conversion_id.to_string(),
        salesforce_id: sf_id.to_string(),
        external_created_at: r.created(),
        external_updated_at: modstamp,
        updated_at: now,
        fields,
    })
}

/// The one contact an event's identifiers point at.
fn resolve_contact<'a>(r: &SfRecord, l: &'a Lookups) -> Result<&'a str, Refusal> {
    let email = present(&r.event_email).map(str::to_ascii_lowercase);
    let user = present(&r.user_id);
    let sf = present(&r.event_contact);
    if email.is_none() && user.is_none() && sf.is_none() {
        return Err(skip(RecordMessage::MissingIdentifier));
    }
    let by_email = email.as_deref().and_then(|e| l.contacts_by_email.get(e));
    let by_user = user.and_then(|u| l.contacts_by_user.get(u));
    let by_sf = sf.and_then(|s| l.contacts_by_sf.get(s));
    let found: Vec<&Known> = [by_email, by_user, by_sf].into_iter().flatten().collect();
    let Some(first) = found.first() else { return Err(skip(RecordMessage::ContactNotFound)) };
    if found.iter().any(|k| k.id != first.id) {
        return Err((
            RecordStatus::Skipped,
            RecordMessage::ConflictingIdentifier,
            Some("The identifiers resolve to different contacts".into()),
        ));
    }
    // Found by email or Salesforce id, but the contact carries another user ID.
    if let (Some(u), Some(other)) = (user, first.user_id.as_deref()) {
        if u != other {
            return Err((
                RecordStatus::Skipped,
                RecordMessage::ConflictingIdentifier,
                Some(format!("The contact's user ID is {other}, not {u}")),
            ));
        }
    }
    Ok(first.id.as_str())
}
