//! Contact: a person at an account, synced into `conversion_contacts` (with Lead, [`super::lead`],
//! which shares the person rules here), and pushed back from Conversion's contacts. The fields
//! both sides keep are the contact table's ([`app::domain::objects::contact::FIELDS`]); this file
//! holds the rules: the email, the sync rules, the account link.

use super::rules::{skip, text, Lookups, Refusal};
use crate::sync::mapping::{self, present, SfRecord};
use crate::sync::state::Settings;
use app::domain::{ContactField, ObjectType, RecordMessage, RecordStatus};
use app::store::conversion::changes::ContactToPush;
use app::store::conversion::synced::{ContactFields, Fields};
use serde_json::{json, Value};

/// The Contact fields the engine reads beside the system ones and the contact table's.
pub const FIELDS: &str = "AccountId, Conversion_Do_Not_Sync__c, Conversion_Id__c";

/// What the run page shows for a Contact or a Lead: its email, else its name.
pub fn label(r: &SfRecord) -> Option<String> {
    let name = || {
        let parts: Vec<&str> = [present(r.text("FirstName")), present(r.text("LastName"))]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    present(r.text("Email")).map(str::to_string).or_else(name)
}

/// A Contact or a Lead (`object`) as Conversion's contact, or why not.
pub fn fields(
    object: ObjectType,
    r: &SfRecord,
    l: &Lookups,
    settings: &Settings,
) -> Result<Fields, Refusal> {
    let email = present(r.text("Email"));
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
        let account =
            present(&r.account_id).ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
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
    let values = ContactField::all()
        .into_iter()
        .map(|field| match field.salesforce() {
            "Email" => Ok((field, email.map(str::to_ascii_lowercase))),
            name => Ok((field, text(r.text(name))?)),
        })
        .collect::<Result<_, Refusal>>()?;
    Ok(Fields::Contact(ContactFields {
        values,
        company_id: company,
        salesforce_object: object.sobject().to_string(),
    }))
}

/// What a push of a Conversion contact writes: the fields of the contact table the settings'
/// field mapping has, and a Contact's account.
pub fn outbound_values(
    object: ObjectType,
    row: &ContactToPush,
    settings: &Settings,
) -> Vec<(&'static str, &'static str, Value)> {
    let mut values: Vec<(&'static str, &'static str, Value)> = row
        .values
        .iter()
        .filter(|(field, _)| settings.contact_fields.contains(field))
        .map(|(field, value)| (field.as_str(), field.salesforce(), json!(value)))
        .collect();
    if object == ObjectType::Contact && row.account_salesforce_id.is_some() {
        values.push(("company_id", "AccountId", json!(row.account_salesforce_id)));
    }
    values
}
