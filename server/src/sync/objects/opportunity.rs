//! Opportunity: a deal of an account, synced into `conversion_opportunities` (inbound only).

use super::rules::{fail, skip, text, Lookups, Refusal};
use crate::sync::mapping::{present, SfRecord};
use app::domain::RecordMessage;
use app::store::conversion::synced::{Fields, OpportunityFields};

/// The Opportunity fields the engine reads, beside the system ones.
pub const FIELDS: &str =
    "Name, AccountId, StageName, CloseDate, Amount, Conversion_Do_Not_Sync__c, Conversion_Id__c";

pub fn label(r: &SfRecord) -> Option<String> {
    present(r.text("Name")).map(str::to_string)
}

/// An Opportunity as Conversion's, linked to its account's company, or why not.
pub fn fields(r: &SfRecord, l: &Lookups) -> Result<Fields, Refusal> {
    if r.do_not_sync == Some(true) {
        return Err(skip(RecordMessage::DoNotSync));
    }
    if present(r.text("Name")).is_none() {
        return Err(fail(RecordMessage::MalformedData, "Opportunity has no Name"));
    }
    let account =
        present(&r.account_id).ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
    let company =
        l.companies.get(account).ok_or_else(|| skip(RecordMessage::NoAccountAssociation))?;
    Ok(Fields::Opportunity(OpportunityFields {
        name: text(r.text("Name"))?,
        stage: text(&r.stage_name)?,
        amount: r.amount,
        close_date: text(&r.close_date)?,
        company_id: company.id.clone(),
    }))
}
