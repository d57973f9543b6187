//! OpportunityContactRole: a contact's part in a deal, synced into
//! `conversion_opportunity_contacts` (inbound only).

use super::rules::{fail, skip, text, Lookups, Refusal};
use crate::sync::mapping::{present, SfRecord};
use app::domain::RecordMessage;
use app::store::conversion::synced::{Fields, OpportunityContactFields};

/// The OpportunityContactRole fields the engine reads, beside the system ones.
pub const FIELDS: &str = "OpportunityId, ContactId, Role, IsPrimary";

pub fn label(r: &SfRecord) -> Option<String> {
    present(&r.role).map(str::to_string).or_else(|| Some("Contact role".into()))
}

/// A contact role as the link between Conversion's opportunity and contact, or why not.
pub fn fields(r: &SfRecord, l: &Lookups) -> Result<Fields, Refusal> {
    let (Some(opp), Some(contact)) = (present(&r.opportunity_id), present(&r.contact_id)) else {
        return Err(fail(RecordMessage::MalformedData, "OpportunityId and ContactId are required"));
    };
    let opp = l.opportunities.get(opp).ok_or_else(|| skip(RecordMessage::OpportunityNotFound))?;
    let contact =
        l.contacts_by_sf.get(contact).ok_or_else(|| skip(RecordMessage::ContactNotFound))?;
    Ok(Fields::OpportunityContact(OpportunityContactFields {
        opportunity_id: opp.id.clone(),
        contact_id: contact.id.clone(),
        role: text(&r.role)?,
        is_primary: r.is_primary.unwrap_or(false),
    }))
}
