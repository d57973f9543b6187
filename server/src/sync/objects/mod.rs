//! One file per Salesforce object type: the fields the engine reads, what the run page calls a
//! record, the rules that decide what a record becomes in Conversion (or which of the help
//! article's messages says why not), and, for the objects Conversion writes, what a push sends.
//! The fields Conversion and Salesforce both keep (contacts' and companies') are the objects' field
//! tables in [`app::domain::objects`]: the query reads them, the rules copy them, the pushes send
//! the ones the settings' field mapping has.
//!
//! The engine calls these through the functions here, one `match` on the object type each.

pub mod company;
pub mod contact;
pub mod event;
pub mod lead;
pub mod opportunity;
pub mod opportunity_contact_role;
pub mod rules;

pub use rules::{Lookups, Refusal};

use super::mapping::SfRecord;
use super::state::Settings;
use app::domain::objects::{company as company_table, contact as contact_table, soql_list};
use app::domain::ObjectType;
use app::store::conversion::synced::Fields;

const SYSTEM: &str = "Id, IsDeleted, CreatedDate, SystemModstamp";

/// The fields the engine reads for an object: the system ones, its field table's (for the objects
/// Conversion keeps both ways) and its own.
pub fn soql_fields(object: ObjectType) -> String {
    let (table, own) = match object {
        ObjectType::Contact => (Some(contact_table::FIELDS), contact::FIELDS),
        ObjectType::Lead => (Some(contact_table::FIELDS), lead::FIELDS),
        ObjectType::Company => (Some(company_table::FIELDS), company::FIELDS),
        ObjectType::Opportunity => (None, opportunity::FIELDS),
        ObjectType::OpportunityContactRole => (None, opportunity_contact_role::FIELDS),
        ObjectType::Event => (None, event::FIELDS),
    };
    match table {
        Some(table) => format!("{SYSTEM}, {}, {own}", soql_list(table)),
        None => format!("{SYSTEM}, {own}"),
    }
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
