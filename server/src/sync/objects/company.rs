//! Account: a company, synced into `conversion_companies`, and pushed back from Conversion's
//! companies.

use super::rules::{fail, skip, text, Refusal};
use crate::sync::mapping::{present, SfRecord};
use crate::sync::state::Settings;
use app::domain::settings::COMPANY_FIELDS;
use app::domain::{CompanyField, RecordMessage};
use app::store::conversion::changes::CompanyToPush;
use app::store::conversion::synced::{CompanyFields, Fields};
use serde_json::{json, Value};

/// The Account fields the engine reads, beside the system ones.
pub const FIELDS: &str = "Name, Website, Industry, Conversion_Do_Not_Sync__c, Conversion_Id__c";

pub fn label(r: &SfRecord) -> Option<String> {
    present(&r.name).map(str::to_string)
}

/// An Account as Conversion's company, or why not.
pub fn fields(r: &SfRecord) -> Result<Fields, Refusal> {
    if r.do_not_sync == Some(true) {
        return Err(skip(RecordMessage::DoNotSync));
    }
    if present(&r.name).is_none() {
        return Err(fail(RecordMessage::MalformedData, "Account has no Name"));
    }
    Ok(Fields::Company(CompanyFields {
        name: text(&r.name)?,
        website: text(&r.website)?,
        industry: text(&r.industry)?,
    }))
}

/// What a push of a Conversion company writes: the mapped fields of [`COMPANY_FIELDS`].
pub fn outbound_values(
    row: &CompanyToPush,
    settings: &Settings,
) -> Vec<(&'static str, &'static str, Value)> {
    COMPANY_FIELDS
        .iter()
        .filter(|(field, _, _)| settings.company_fields.contains(field))
        .map(|&(field, _, salesforce)| (field.as_str(), salesforce, value(row, field)))
        .collect()
}

/// A mapped field's value.
fn value(row: &CompanyToPush, field: CompanyField) -> Value {
    match field {
        CompanyField::Name => json!(row.name),
        CompanyField::Website => json!(row.website),
        CompanyField::Industry => json!(row.industry),
    }
}
