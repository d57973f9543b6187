//! Account: a company, synced into `conversion_companies`, and pushed back from Conversion's
//! companies. The fields both sides keep are the company table's
//! ([`app::domain::objects::company::FIELDS`]); this file holds the rules.

use super::rules::{fail, skip, text, Refusal};
use crate::sync::mapping::{present, SfRecord};
use crate::sync::state::Settings;
use app::domain::{CompanyField, RecordMessage};
use app::store::conversion::changes::CompanyToPush;
use app::store::conversion::synced::{CompanyFields, Fields};
use serde_json::{json, Value};

/// The Account fields the engine reads beside the system ones and the company table's.
pub const FIELDS: &str = "Conversion_Do_Not_Sync__c, Conversion_Id__c";

pub fn label(r: &SfRecord) -> Option<String> {
    present(r.text("Name")).map(str::to_string)
}

/// An Account as Conversion's company, or why not.
pub fn fields(r: &SfRecord) -> Result<Fields, Refusal> {
    if r.do_not_sync == Some(true) {
        return Err(skip(RecordMessage::DoNotSync));
    }
    if present(r.text("Name")).is_none() {
        return Err(fail(RecordMessage::MalformedData, "Account has no Name"));
    }
    let values = CompanyField::all()
        .into_iter()
        .map(|field| Ok((field, text(r.text(field.salesforce()))?)))
        .collect::<Result<_, Refusal>>()?;
    Ok(Fields::Company(CompanyFields { values }))
}

/// What a push of a Conversion company writes: the fields of the company table the settings'
/// field mapping has.
pub fn outbound_values(
    row: &CompanyToPush,
    settings: &Settings,
) -> Vec<(&'static str, &'static str, Value)> {
    row.values
        .iter()
        .filter(|(field, _)| settings.company_fields.contains(field))
        .map(|(field, value)| (field.as_str(), field.salesforce(), json!(value)))
        .collect()
}
