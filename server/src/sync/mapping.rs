//! What each Salesforce object looks like to the engine, and the pure rules that map a record to
//! Conversion or to the help article's message for why it was not: email checks, sync rules,
//! timestamps, and the per-record error codes of a push.

use crate::salesforce::datetime;
use crate::salesforce::RecordError;
use app::domain::email::valid_email;
use app::domain::{ObjectType, RecordMessage};
use serde::Deserialize;

/// Inbound objects in dependency order: companies before the contacts that belong to them,
/// contacts before the links and events that point at them.
pub const INBOUND_ORDER: [ObjectType; 6] = [
    ObjectType::Company,
    ObjectType::Contact,
    ObjectType::Lead,
    ObjectType::Opportunity,
    ObjectType::OpportunityContactRole,
    ObjectType::Event,
];

/// One record of any inbound object; the query selects only the object's own fields, the rest
/// stay `None`. One struct decodes every object without a generic map.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SfRecord {
    #[serde(rename = "Id")]
    pub id: Option<String>,
    #[serde(rename = "IsDeleted")]
    pub is_deleted: Option<bool>,
    #[serde(rename = "CreatedDate")]
    pub created_date: Option<String>,
    #[serde(rename = "SystemModstamp")]
    pub system_modstamp: Option<String>,
    #[serde(rename = "FirstName")]
    pub first_name: Option<String>,
    #[serde(rename = "LastName")]
    pub last_name: Option<String>,
    #[serde(rename = "Email")]
    pub email: Option<String>,
    #[serde(rename = "Title")]
    pub title: Option<String>,
    #[serde(rename = "AccountId")]
    pub account_id: Option<String>,
    #[serde(rename = "Company")]
    pub company: Option<String>,
    #[serde(rename = "IsConverted")]
    pub is_converted: Option<bool>,
    #[serde(rename = "Conversion_Do_Not_Sync__c")]
    pub do_not_sync: Option<bool>,
    /// Conversion's id of a record Conversion created (the external ID of the push).
    #[serde(rename = "Conversion_Id__c")]
    pub conversion_id: Option<String>,
    #[serde(rename = "Name")]
    pub name: Option<String>,
    #[serde(rename = "Website")]
    pub website: Option<String>,
    #[serde(rename = "Industry")]
    pub industry: Option<String>,
    #[serde(rename = "StageName")]
    pub stage_name: Option<String>,
    #[serde(rename = "CloseDate")]
    pub close_date: Option<String>,
    #[serde(rename = "Amount")]
    pub amount: Option<f64>,
    #[serde(rename = "OpportunityId")]
    pub opportunity_id: Option<String>,
    #[serde(rename = "ContactId")]
    pub contact_id: Option<String>,
    #[serde(rename = "Role")]
    pub role: Option<String>,
    #[serde(rename = "IsPrimary")]
    pub is_primary: Option<bool>,
    #[serde(rename = "Event_Name__c")]
    pub event_name: Option<String>,
    #[serde(rename = "Email__c")]
    pub event_email: Option<String>,
    #[serde(rename = "User_Id__c")]
    pub user_id: Option<String>,
    #[serde(rename = "Contact__c")]
    pub event_contact: Option<String>,
    #[serde(rename = "Occurred_At__c")]
    pub occurred_at: Option<String>,
    #[serde(rename = "Properties__c")]
    pub properties: Option<String>,
}

/// A non-empty, trimmed value.
pub fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SfRecord {
    /// `SystemModstamp` in Unix ms, if it reads as a datetime.
    pub fn modstamp(&self) -> Option<i64> {
        present(&self.system_modstamp)
            .and_then(|s| datetime::parse(s).ok())
            .map(|d| d.timestamp_millis())
    }
    pub fn created(&self) -> Option<i64> {
        present(&self.created_date)
            .and_then(|s| datetime::parse(s).ok())
            .map(|d| d.timestamp_millis())
    }
    pub fn deleted(&self) -> bool {
        self.is_deleted.unwrap_or(false)
    }
    /// What the run page shows for the record.
    pub fn label(&self, object: ObjectType) -> Option<String> {
        super::objects::label(object, self)
    }
}

/// Why a Lead or Contact cannot become a Conversion contact, if it cannot.
pub fn check_person(email: Option<&str>) -> Result<(), RecordMessage> {
    match email {
        None => Err(RecordMessage::MissingEmail),
        Some(e) if !valid_email(e) => Err(RecordMessage::InvalidEmail),
        Some(_) => Ok(()),
    }
}

/// Whether the sync rules exclude this email's domain.
pub fn excluded_by_domain(email: Option<&str>, excluded: &[String]) -> bool {
    let Some(domain) = email.and_then(|e| e.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase())
    else {
        return false;
    };
    excluded.iter().any(|x| {
        let x = x.trim().trim_start_matches('@').to_ascii_lowercase();
        !x.is_empty() && (domain == x || domain.ends_with(&format!(".{x}")))
    })
}

/// An event's `Occurred_At__c`: free text imported from other tools, read as a datetime or a date.
pub fn parse_occurred_at(s: Option<&str>) -> Option<i64> {
    let s = s?.trim();
    datetime::parse(s).or_else(|_| datetime::parse_date(s)).ok().map(|d| d.timestamp_millis())
}

/// Text that SQLite and JSON can store: no NUL characters (they truncate C strings).
pub fn encodable(s: &str) -> bool {
    !s.contains('\0')
}

/// The outbound message for one failed record of a push.
pub fn outbound_message(errors: &[RecordError]) -> RecordMessage {
    let Some(e) = errors.first() else { return RecordMessage::OutboundUnknownError };
    match e.status_code.as_str() {
        "INSUFFICIENT_ACCESS_OR_READONLY"
        | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
        | "INSUFFICIENT_ACCESS" => RecordMessage::InsufficientPermissions,
        "REQUIRED_FIELD_MISSING" => RecordMessage::RequiredFieldMissing,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" | "INVALID_PICKLIST_VALUE" => {
            RecordMessage::InvalidPicklistValue
        }
        "STRING_TOO_LONG" => RecordMessage::FieldLengthExceeded,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION" => RecordMessage::ValidationRuleFailure,
        "UNABLE_TO_LOCK_ROW" => RecordMessage::RecordLocked,
        "INVALID_CROSS_REFERENCE_KEY" | "ENTITY_IS_DELETED" | "INVALID_ID_FIELD" => {
            RecordMessage::InvalidCrossReference
        }
        "DUPLICATES_DETECTED" | "DUPLICATE_VALUE" => RecordMessage::DuplicateRecord,
        _ => RecordMessage::OutboundUnknownError,
    }
}

/// `STATUS_CODE: message (fields)` for the record's detail.
pub fn error_detail(errors: &[RecordError]) -> String {
    errors
        .iter()
        .map(|e| {
            if e.fields.is_empty() {
                format!("{}: {}", e.status_code, e.message)
            } else {
                format!("{}: {} ({})", e.status_code, e.message, e.fields.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_from_the_generator_are_classified() {
        for bad in
            ["ann lee@acme.com", "bob@", "carol@@globex.com", "dave.example.com", "eve@acme,com"]
        {
            assert_eq!(check_person(Some(bad)), Err(RecordMessage::InvalidEmail), "{bad}");
        }
        assert_eq!(check_person(None), Err(RecordMessage::MissingEmail));
        assert_eq!(check_person(Some("ann.lee.1@acme.example.com")), Ok(()));
        assert_eq!(check_person(Some("o'brien+x@sub.example.org")), Ok(()));
    }

    #[test]
    fn sync_rules_exclude_domains_and_subdomains() {
        let rules = vec!["example.org".to_string()];
        assert!(excluded_by_domain(Some("a@example.org"), &rules));
        assert!(excluded_by_domain(Some("a@mail.EXAMPLE.org"), &rules));
        assert!(!excluded_by_domain(Some("a@notexample.org"), &rules));
        assert!(!excluded_by_domain(None, &rules));
    }

    #[test]
    fn event_times_read_datetimes_and_dates_only() {
        assert_eq!(parse_occurred_at(Some("2024-01-01T00:00:00Z")), Some(1_704_067_200_000));
        assert_eq!(parse_occurred_at(Some("2024-01-01")), Some(1_704_067_200_000));
        for bad in ["yesterday", "2024-13-45T99:00:00Z", "31/02/2024", "not a date", ""] {
            assert_eq!(parse_occurred_at(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn push_errors_map_to_the_articles_messages() {
        let m = |code: &str| outbound_message(&[RecordError::new(code, "x", &[])]);
        assert_eq!(m("INSUFFICIENT_ACCESS_OR_READONLY"), RecordMessage::InsufficientPermissions);
        assert_eq!(m("REQUIRED_FIELD_MISSING"), RecordMessage::RequiredFieldMissing);
        assert_eq!(
            m("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
            RecordMessage::InvalidPicklistValue
        );
        assert_eq!(m("STRING_TOO_LONG"), RecordMessage::FieldLengthExceeded);
        assert_eq!(m("FIELD_CUSTOM_VALIDATION_EXCEPTION"), RecordMessage::ValidationRuleFailure);
        assert_eq!(m("UNABLE_TO_LOCK_ROW"), RecordMessage::RecordLocked);
        assert_eq!(m("INVALID_CROSS_REFERENCE_KEY"), RecordMessage::InvalidCrossReference);
        assert_eq!(m("DUPLICATES_DETECTED"), RecordMessage::DuplicateRecord);
        assert_eq!(m("SOMETHING_NEW"), RecordMessage::OutboundUnknownError);
        assert_eq!(outbound_message(&[]), RecordMessage::OutboundUnknownError);
    }
}
