//! The help article's message tables as one catalog.
//!
//! Every record that is skipped or failed carries a [`RecordMessage`]; every run that fails as a
//! whole carries a [`RunMessage`]. Codes are stable (they are stored in the database and sent over
//! the API); titles and explanations are the article's own words, checked against
//! `shared/seed/sync-activity-help-article.md` by the test at the bottom of this file.

use serde::{Deserialize, Serialize};

/// Which of the article's tables a record message belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageTable {
    InboundSkipped,
    InboundFailed,
    OutboundSkipped,
    OutboundFailed,
}

impl MessageTable {
    /// The heading of the table in the help article.
    pub fn heading(self) -> &'static str {
        match self {
            Self::InboundSkipped => "Inbound: why a record was skipped",
            Self::InboundFailed => "Inbound: why a record failed",
            Self::OutboundSkipped => "Outbound: why a record was skipped",
            Self::OutboundFailed => "Outbound: why a record failed",
        }
    }
}

macro_rules! record_messages {
    ($( $variant:ident = $code:literal, $table:ident, $title:literal, $meaning:literal; )*) => {
        /// Why a single record was skipped or failed.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RecordMessage { $( $variant, )* }

        impl RecordMessage {
            pub const ALL: &'static [RecordMessage] = &[ $( RecordMessage::$variant, )* ];

            /// Stable code stored in the database and used in the API.
            pub fn code(self) -> &'static str { match self { $( Self::$variant => $code, )* } }
            /// The message as the article names it.
            pub fn title(self) -> &'static str { match self { $( Self::$variant => $title, )* } }
            /// The article's "What it means" text.
            pub fn meaning(self) -> &'static str { match self { $( Self::$variant => $meaning, )* } }
            pub fn table(self) -> MessageTable { match self { $( Self::$variant => MessageTable::$table, )* } }
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $( $code => Some(Self::$variant), )* _ => None }
            }
        }
    };
}

record_messages! {
    MissingEmail = "missing_email", InboundSkipped, "Missing email address",
        "The Lead or Contact has no email address. Contacts in Conversion must have an email address.";
    InvalidEmail = "invalid_email", InboundSkipped, "Invalid email address",
        "The Lead or Contact has an invalid email address (for example, it contains invalid characters).";
    LeadConverted = "lead_converted", InboundSkipped, "Lead already converted",
        "This Lead has been converted to a Contact in Salesforce.";
    DoNotSync = "do_not_sync", InboundSkipped, "Do not sync",
        "The record is flagged to not sync into Conversion (for example, excluded by sync rules).";
    MissingExternalId = "missing_external_id", InboundSkipped, "Missing external ID",
        "The record has no Salesforce ID.";
    OutdatedRecord = "outdated_record", InboundSkipped, "Outdated record",
        "More recent data for this Salesforce ID has already been synced.";
    NoAccountAssociation = "no_account_association", InboundSkipped, "No account association",
        "The record could not be associated with an account in Conversion.";
    WriteModeMismatch = "write_mode_mismatch", InboundSkipped, "Write mode mismatch",
        "The record didn\u{2019}t match the configured write mode (for example, update-only when no existing record was found).";
    OpportunityNotFound = "opportunity_not_found", InboundSkipped, "Opportunity not found",
        "The associated opportunity does not exist in Conversion.";
    MissingIdentifier = "missing_identifier", InboundSkipped, "Missing identifier",
        "No email or user ID was provided to resolve a contact.";
    ContactNotFound = "contact_not_found", InboundSkipped, "Contact not found",
        "No contact matches the provided identifier.";
    ConflictingIdentifier = "conflicting_identifier", InboundSkipped, "Conflicting identifier",
        "The provided identifiers resolved to different contacts (for example, a contact was found by email but has a different user ID).";
    MissingEventName = "missing_event_name", InboundSkipped, "Missing event name",
        "A custom event has no event name.";
    UnknownSkipReason = "unknown_skip_reason", InboundSkipped, "Unknown reason",
        "The record was skipped for an unknown reason.";
    MalformedData = "malformed_data", InboundFailed, "Malformed data",
        "The Salesforce record data was malformed or missing required fields and could not be processed.";
    EncodeFailed = "encode_failed", InboundFailed, "Failed to encode data",
        "The record data could not be encoded for storage.";
    InvalidTimestamp = "invalid_timestamp", InboundFailed, "Invalid timestamp",
        "The record\u{2019}s timestamp was missing or could not be read as a valid date.";
    InboundUnknownError = "inbound_unknown_error", InboundFailed, "Unknown error",
        "An unexpected error occurred while processing the record.";
    ObjectWriteDisabled = "object_write_disabled", OutboundSkipped, "Object write disabled",
        "Writing to this Salesforce object type is turned off (for example, Write changes to Salesforce leads and contacts is off).";
    NoFieldsToUpdate = "no_fields_to_update", OutboundSkipped, "No fields to update",
        "No fields were eligible to sync based on your field mapping and write rules.";
    InsufficientPermissions = "insufficient_permissions", OutboundFailed, "Insufficient permissions",
        "The integration user lacks permission to create or update this record (for example, due to sharing rules).";
    RequiredFieldMissing = "required_field_missing", OutboundFailed, "Required field missing",
        "A field required by Salesforce is empty in Conversion.";
    InvalidPicklistValue = "invalid_picklist_value", OutboundFailed, "Invalid picklist value",
        "A field value doesn\u{2019}t exist in the Salesforce picklist.";
    FieldLengthExceeded = "field_length_exceeded", OutboundFailed, "Field length exceeded",
        "A field value is longer than the Salesforce field allows.";
    ValidationRuleFailure = "validation_rule_failure", OutboundFailed, "Validation rule failure",
        "A Salesforce validation rule rejected the record.";
    RecordLocked = "record_locked", OutboundFailed, "Record locked",
        "Salesforce couldn\u{2019}t lock the record for update, usually due to too many concurrent updates to the same record.";
    InvalidCrossReference = "invalid_cross_reference", OutboundFailed, "Invalid cross reference",
        "The record references another record that\u{2019}s invalid or doesn\u{2019}t exist. Check that the referenced records exist.";
    DuplicateRecord = "duplicate_record", OutboundFailed, "Duplicate record",
        "The record is a duplicate of an existing Salesforce record.";
    OutboundUnknownError = "outbound_unknown_error", OutboundFailed, "Unknown error",
        "An unexpected error occurred while processing the record.";
}

impl RecordMessage {
    /// Whether a record with this message was skipped (intentionally) rather than failed.
    pub fn is_skip(self) -> bool {
        matches!(self.table(), MessageTable::InboundSkipped | MessageTable::OutboundSkipped)
    }
}

/// Why a whole run (batch) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMessage {
    AuthenticationFailure,
    InsufficientPermissions,
    ApiLimitExceeded,
    UnknownError,
}

impl RunMessage {
    pub const ALL: &'static [RunMessage] = &[
        Self::AuthenticationFailure,
        Self::InsufficientPermissions,
        Self::ApiLimitExceeded,
        Self::UnknownError,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::AuthenticationFailure => "authentication_failure",
            Self::InsufficientPermissions => "insufficient_permissions",
            Self::ApiLimitExceeded => "api_limit_exceeded",
            Self::UnknownError => "unknown_error",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.code() == code)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::AuthenticationFailure => "Authentication failure",
            Self::InsufficientPermissions => "Insufficient permissions",
            Self::ApiLimitExceeded => "API limit exceeded",
            Self::UnknownError => "Unknown error",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Self::AuthenticationFailure => {
                "Conversion couldn\u{2019}t authenticate with Salesforce."
            }
            Self::InsufficientPermissions => {
                "The integration user lacks permission to read this record type."
            }
            Self::ApiLimitExceeded => "Salesforce\u{2019}s daily API limit has been reached.",
            Self::UnknownError => "An unexpected error occurred while processing the sync.",
        }
    }

    pub fn what_to_do(self) -> &'static str {
        match self {
            Self::AuthenticationFailure => "Reconnect Salesforce from the Overview tab.",
            Self::InsufficientPermissions => {
                "Review the integration user\u{2019}s permission set in Salesforce."
            }
            Self::ApiLimitExceeded => {
                "Wait for the limit to reset, and review your usage under Rate limits."
            }
            Self::UnknownError => "Retry on the next run; contact support if it persists.",
        }
    }
}

/// Any message of the catalog: a record's or a whole run's. A code alone names a message (the
/// list's `message=` filter takes one): the one code both kinds use, `insufficient_permissions`,
/// is the same article title for a record and for a whole run, and the filter finds both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Message {
    Record(RecordMessage),
    Run(RunMessage),
}

impl Message {
    pub fn from_code(code: &str) -> Option<Self> {
        RecordMessage::from_code(code)
            .map(Self::Record)
            .or_else(|| RunMessage::from_code(code).map(Self::Run))
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Record(m) => m.code(),
            Self::Run(m) => m.code(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Record(m) => m.title(),
            Self::Run(m) => m.title(),
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Self::Record(m) => m.meaning(),
            Self::Run(m) => m.meaning(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Direction, RecordStatus, RunStatus};
    use std::collections::BTreeMap;

    /// The article's tables, each keyed by both of the two lines above it (a heading, then
    /// usually a sentence introducing the table).
    fn article_tables() -> BTreeMap<String, Vec<Vec<String>>> {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/seed/sync-activity-help-article.md");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the help article must be readable at {path}: {e}"));
        let mut tables: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        let (mut above, mut heading) = (String::new(), String::new());
        let mut current: Option<String> = None;
        for line in text.lines() {
            let line = line.trim();
            if !line.starts_with('|') {
                if let Some(name) = current.take() {
                    let rows = tables[&name].clone();
                    tables.entry(above.clone()).or_insert(rows);
                }
                above = std::mem::replace(&mut heading, line.to_string());
                continue;
            }
            let cells: Vec<String> =
                line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect();
            match &current {
                None => {
                    // The header row opens a table; it is stored under the line above it.
                    current = Some(heading.clone());
                    tables.insert(heading.clone(), Vec::new());
                }
                Some(_) if cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) => {}
                Some(name) => tables.get_mut(name).unwrap().push(cells),
            }
        }
        tables
    }

    #[test]
    fn every_record_message_row_is_in_the_catalog_word_for_word() {
        let tables = article_tables();
        for table in [
            MessageTable::InboundSkipped,
            MessageTable::InboundFailed,
            MessageTable::OutboundSkipped,
            MessageTable::OutboundFailed,
        ] {
            let rows = tables
                .get(table.heading())
                .unwrap_or_else(|| panic!("article has no table under {:?}", table.heading()));
            let ours: Vec<Vec<String>> = RecordMessage::ALL
                .iter()
                .filter(|m| m.table() == table)
                .map(|m| vec![m.title().to_string(), m.meaning().to_string()])
                .collect();
            assert_eq!(&ours, rows, "catalog differs from the article in {:?}", table.heading());
        }
    }

    #[test]
    fn every_whole_run_failure_row_is_in_the_catalog_word_for_word() {
        let tables = article_tables();
        let rows = tables
            .get("If an entire batch fails, the failure usually applies to every record in it. These are the most common causes:")
            .expect("article has the whole-run failure table");
        let ours: Vec<Vec<String>> = RunMessage::ALL
            .iter()
            .map(|m| {
                vec![m.title().to_string(), m.meaning().to_string(), m.what_to_do().to_string()]
            })
            .collect();
        assert_eq!(&ours, rows);
    }

    #[test]
    fn status_and_batching_tables_match_the_article() {
        let tables = article_tables();
        let run_rows = tables.get("A whole run (batch) shows one of:").expect("run status table");
        let ours: Vec<Vec<String>> = RunStatus::ALL
            .iter()
            .map(|s| vec![s.label().to_string(), s.meaning().to_string()])
            .collect();
        assert_eq!(&ours, run_rows);

        let record_rows = tables
            .get("Within a completed run, each record has its own status:")
            .expect("record status table");
        let ours: Vec<Vec<String>> = RecordStatus::ALL
            .iter()
            .map(|s| vec![s.label().to_string(), s.meaning().to_string()])
            .collect();
        assert_eq!(&ours, record_rows);

        let batching = tables
            .get("Conversion processes records in batches, and each batch is one entry in Sync activity. How those batches are formed depends on direction:")
            .expect("batching table");
        let ours: Vec<Vec<String>> = [Direction::Inbound, Direction::Outbound]
            .iter()
            .map(|d| {
                vec![d.tab_label().to_string(), d.timing().to_string(), d.batch_size().to_string()]
            })
            .collect();
        assert_eq!(&ours, batching);
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for m in RecordMessage::ALL {
            assert!(seen.insert(m.code()), "duplicate code {}", m.code());
            assert_eq!(RecordMessage::from_code(m.code()), Some(*m));
        }
        for m in RunMessage::ALL {
            if let Some(record) = RecordMessage::from_code(m.code()) {
                assert_eq!(record.title(), m.title(), "a shared code must name the same message");
            } else {
                assert_eq!(Message::from_code(m.code()), Some(Message::Run(*m)));
            }
            assert_eq!(RunMessage::from_code(m.code()), Some(*m));
        }
        for m in RecordMessage::ALL {
            assert_eq!(Message::from_code(m.code()), Some(Message::Record(*m)));
        }
        assert_eq!(RecordMessage::from_code("nope"), None);
        assert_eq!(Message::from_code("nope"), None);
    }
}
