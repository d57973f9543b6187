//! What each Salesforce object looks like to the engine, and the pure rules that map a record to
//! Conversion or to the help article's message for why it was not: email checks, sync rules,
//! timestamps, and the per-record error codes of a push.

use crate::salesforce::datetime;
use crate::salesforce::RecordError;
use app::domain::email::valid_email;
use app::domain::{ObjectType, RecordMessage};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

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
/// stay `None`. The fields the engine's rules read by type are named here; every other text field
/// (those of the objects' field tables, [`app::domain::objects`]) is kept by its Salesforce name
/// and read with [`SfRecord::text`], so a field added to a table needs nothing here.
#[derive(Debug, Clone, Default)]
pub struct SfRecord {
    pub id: Option<String>,
    pub is_deleted: Option<bool>,
    pub created_date: Option<String>,
    pub system_modstamp: Option<String>,
    pub account_id: Option<String>,
    pub is_converted: Option<bool>,
    /// `Conversion_Do_Not_Sync__c`.
    pub do_not_sync: Option<bool>,
    /// `Conversion_Id__c`: Conversion's id of a record Conversion created (the external ID of
    /// the push).
    pub conversion_id: Option<String>,
    pub stage_name: Option<String>,
    pub close_date: Option<String>,
    pub amount: Option<f64>,
    pub opportunity_id: Option<String>,
    pub contact_id: Option<String>,
    pub role: Option<String>,
    pub is_primary: Option<bool>,
    /// `Event_Name__c`.
    pub event_name: Option<String>,
    /// `Email__c`.
    pub event_email: Option<String>,
    /// `User_Id__c`.
    pub user_id: Option<String>,
    /// `Contact__c`.
    pub event_contact: Option<String>,
    /// `Occurred_At__c`.
    pub occurred_at: Option<String>,
    /// `Properties__c`.
    pub properties: Option<String>,
    /// The other text fields, by Salesforce name (`Email`, `Name`, ...), as the record has them.
    pub texts: Vec<(String, Option<String>)>,
}

/// Reads a record's JSON object: the typed fields by name, other text by name, anything else (a
/// number or an object no rule reads, the `attributes`) passed over.
impl<'de> Deserialize<'de> for SfRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = SfRecord;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Salesforce record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SfRecord, A::Error> {
        let mut r = SfRecord::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "Id" => r.id = map.next_value()?,
                "IsDeleted" => r.is_deleted = map.next_value()?,
                "CreatedDate" => r.created_date = map.next_value()?,
                "SystemModstamp" => r.system_modstamp = map.next_value()?,
                "AccountId" => r.account_id = map.next_value()?,
                "IsConverted" => r.is_converted = map.next_value()?,
                "Conversion_Do_Not_Sync__c" => r.do_not_sync = map.next_value()?,
                "Conversion_Id__c" => r.conversion_id = map.next_value()?,
                "StageName" => r.stage_name = map.next_value()?,
                "CloseDate" => r.close_date = map.next_value()?,
                "Amount" => r.amount = map.next_value()?,
                "OpportunityId" => r.opportunity_id = map.next_value()?,
                "ContactId" => r.contact_id = map.next_value()?,
                "Role" => r.role = map.next_value()?,
                "IsPrimary" => r.is_primary = map.next_value()?,
                "Event_Name__c" => r.event_name = map.next_value()?,
                "Email__c" => r.event_email = map.next_value()?,
                "User_Id__c" => r.user_id = map.next_value()?,
                "Contact__c" => r.event_contact = map.next_value()?,
                "Occurred_At__c" => r.occurred_at = map.next_value()?,
                "Properties__c" => r.properties = map.next_value()?,
                _ => match map.next_value::<Text>()? {
                    Text::Value(v) => r.texts.push((key, v)),
                    Text::Other => {}
                },
            }
        }
        Ok(r)
    }
}

/// A value that is text or null, or something else to pass over.
enum Text {
    Value(Option<String>),
    Other,
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Value(Some(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text::Value(Some(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Value(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Value(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
        Ok(Text::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Text::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
        while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(Text::Other)
    }
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
    /// A text field by its Salesforce name; `None` when the record does not have it.
    pub fn text(&self, salesforce: &str) -> &Option<String> {
        const ABSENT: &Option<String> = &None;
        self.texts.iter().find(|(name, _)| name == salesforce).map_or(ABSENT, |(_, v)| v)
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
