//! Inbound, one chunk at a time: decides what each Salesforce record becomes in Conversion (or
//! which of the article's messages says why it does not), inside the transaction that writes it.

use super::mapping::{present, SfRecord};
use super::objects::{self, Lookups, Refusal};
use super::state::Settings;
use app::domain::{ObjectType, RecordAction, RecordMessage, RecordStatus};
use app::store::conversion::synced::SyncedRow;
use app::store::conversion::{known_by, Key, Table};
use app::store::{NewRecord, StoreError, WorkspaceId};
use std::collections::HashMap;

/// What a chunk does to Conversion, and the run records that report it.
#[derive(Default)]
pub struct Applied {
    pub records: Vec<NewRecord>,
    pub upserts: Vec<SyncedRow>,
    pub deletes: Vec<String>,
}

fn keys<'a>(chunk: &'a [SfRecord], f: impl Fn(&'a SfRecord) -> Option<&'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = chunk.iter().filter_map(f).collect();
    v.sort_unstable();
    v.dedup();
    v
}

async fn lookups(
    conn: &mut app::store::Tx,
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
    let mut l = Lookups { existing, by_conversion_id, ..Lookups::default() };
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
    conn: &mut app::store::Tx,
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
        // A record Conversion pushed names Conversion's row; it is that row only while the row is
        // linked to no other Salesforce record (a copied or edited Conversion_Id__c must not
        // take another record's place).
        let by_conversion_id = match l.existing.get(sf_id) {
            Some(_) => None,
            None => {
                present(&r.conversion_id).and_then(|c| l.by_conversion_id.get(c).map(|k| (c, k)))
            }
        };
        if let Some((c, Some(linked))) =
            by_conversion_id.map(|(c, k)| (c, k.salesforce_id.as_deref().filter(|s| *s != sf_id)))
        {
            let detail = format!("Conversion_Id__c {c} names a Conversion record already linked to Salesforce record {linked}");
            out.records.push(record(
                RecordStatus::Skipped,
                if r.deleted() { RecordAction::Deleted } else { RecordAction::Updated },
                Some(RecordMessage::ConflictingIdentifier),
                Some(detail),
                None,
            ));
            continue;
        }
        let known = l.existing.get(sf_id).or(by_conversion_id.map(|(_, k)| k));
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
    let fields = objects::fields(object, r, l, settings)?;
    Ok(SyncedRow {
        id: conversion_id.to_string(),
        salesforce_id: sf_id.to_string(),
        external_created_at: r.created(),
        external_updated_at: modstamp,
        updated_at: now,
        fields,
    })
}
