//! Conversion_Event__c: a custom event of a contact, synced into `conversion_events`, and pushed
//! from the events recorded in Conversion.

use super::rules::{fail, skip, Lookups, Refusal};
use crate::salesforce::datetime;
use crate::sync::mapping::{self, present, SfRecord};
use app::domain::{RecordMessage, RecordStatus};
use app::store::conversion::changes::EventToPush;
use app::store::conversion::synced::{EventFields, Fields};
use app::store::conversion::Known;
use serde_json::{json, Value};

/// The event fields the engine reads, beside the system ones.
pub const FIELDS: &str =
    "Name, Event_Name__c, Email__c, User_Id__c, Contact__c, Occurred_At__c, Properties__c, Conversion_Id__c";

pub fn label(r: &SfRecord) -> Option<String> {
    present(&r.event_name).or(present(r.text("Name"))).map(str::to_string)
}

/// An event as Conversion's, on the one contact its identifiers point at, or why not.
pub fn fields(r: &SfRecord, l: &Lookups) -> Result<Fields, Refusal> {
    let name = present(&r.event_name).ok_or_else(|| skip(RecordMessage::MissingEventName))?;
    let contact = resolve_contact(r, l)?;
    let occurred = mapping::parse_occurred_at(r.occurred_at.as_deref()).ok_or_else(|| {
        fail(
            RecordMessage::InvalidTimestamp,
            format!("Occurred_At__c {:?} is not a date", r.occurred_at.as_deref().unwrap_or("")),
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
        return Err(fail(RecordMessage::EncodeFailed, "Event_Name__c contains a NUL character"));
    }
    Ok(Fields::Event(EventFields {
        contact_id: contact.to_string(),
        name: name.to_string(),
        occurred_at: occurred,
        properties,
    }))
}

/// What a push of a Conversion event writes.
pub fn outbound_values(row: &EventToPush) -> Vec<(&'static str, &'static str, Value)> {
    let contact = row.contact_salesforce_id.clone().filter(|s| s.starts_with("003"));
    let title: String = row.name.chars().take(80).collect();
    vec![
        ("name", "Name", json!(title)),
        ("name", "Event_Name__c", json!(row.name)),
        ("email", "Email__c", json!(row.contact_email)),
        ("user_id", "User_Id__c", json!(row.contact_user_id)),
        ("contact", "Contact__c", json!(contact)),
        ("occurred_at", "Occurred_At__c", json!(datetime::format_millis(row.occurred_at))),
        ("properties", "Properties__c", json!(row.properties)),
    ]
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
