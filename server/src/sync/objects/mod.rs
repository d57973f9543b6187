//! One file per Salesforce object type: the fields the engine reads, what the run page calls a
//! record, the rules that decide what a record becomes in Conversion (or which of the help
//! article's messages says why not), and, for the objects Conversion writes, what a push sends.
//! The field mapping a person edits in the settings ([`app::domain::settings::CONTACT_FIELDS`],
//! [`app::domain::settings::COMPANY_FIELDS`]) is the table the pushes are built from.
//!
//! The engine calls these through the functions here, one `match` on the object type each.

pub mod company;
pub mod contact;
pub mod event;
pub mod lead;
pub mod opportunity;
pub mod opportunity_contact_role;

use super::mapping::{self, present, SfRecord};
use super::state::Settings;
use app::domain::{ObjectType, RecordMessage, RecordStatus};
use app::store::conversion::synced::Fields;
use app::store::conversion::Known;
use std::collections::HashMap;

/// Why a record does not become Conversion's: its status, message and detail.
pub type Refusal = (RecordStatus, RecordMessage, Option<String>);

pub fn skip(m: RecordMessage) -> Refusal {
    (RecordStatus::Skipped, m, None)
}

pub fn fail(m: RecordMessage, detail: impl Into<String>) -> Refusal {
    (RecordStatus::Failed, m, Some(detail.into()))
}

/// A text field as Conversion stores it: trimmed, empty as absent, refused with NUL characters.
pub fn text(v: &Option<String>) -> Result<Option<String>, Refusal> {
    match present(v) {
        Some(s) if !mapping::encodable(s) => {
            Err(fail(RecordMessage::EncodeFailed, "text contains a NUL character"))
        }
        s => Ok(s.map(str::to_string)),
    }
}

/// The Conversion rows a chunk's records point at, read once per chunk.
#[derive(Default)]
pub struct Lookups {
    pub existing: HashMap<String, Known>,
    pub by_conversion_id: HashMap<String, Known>,
    pub companies: HashMap<String, Known>,
    pub opportunities: HashMap<String, Known>,
    pub contacts_by_sf: HashMap<String, Known>,
    pub contacts_by_email: HashMap<String, Known>,
    pub contacts_by_user: HashMap<String, Known>,
}

const SYSTEM: &str = "Id, IsDeleted, CreatedDate, SystemModstamp";

/// The fields the engine reads for an object: the system ones and its own.
pub fn soql_fields(object: ObjectType) -> String {
    let own = match object {
        ObjectType::Contact => contact::FIELDS,
        ObjectType::Lead => lead::FIELDS,
        ObjectType::Company => company::FIELDS,
        ObjectType::Opportunity => opportunity::FIELDS,
        ObjectType::OpportunityContactRole => opportunity_contact_role::FIELDS,
        ObjectType::Event => event::FIELDS,
    };
    format!("{SYSTEM}, {own}")
}

/// What the run page shows for a record.
pub fn label(object: ObjectType, r: &SfRecord) -> Option<String> {
    match object {
        ObjectType::Contact => contact::label(r),
        ObjectType::Lead => lead::label(r),
        ObjectType::Company => company::label(r),
        ObjectType::Opportunity => opportunity::label(r),
        ObjectType::OpportunityContactRole => opportunity_contact_role::label(r),
        ObjectType::Event => event::label(r),
    }
}

/// The columns Salesforce owns of the record's Conversion row, or why it has none.
pub fn fields(
    object: ObjectType,
    r: &SfRecord,
    l: &Lookups,
    settings: &Settings,
) -> Result<Fields, Refusal> {
    match object {
        ObjectType::Contact | ObjectType::Lead => contact::fields(object, r, l, settings),
        ObjectType::Company => company::fields(r),
        ObjectType::Opportunity => opportunity::fields(r, l),
        ObjectType::OpportunityContactRole => opportunity_contact_role::fields(r, l),
        ObjectType::Event => event::fields(r, l),
    }
}
