//! The product's vocabulary, shared by the server and the browser: runs, records, their statuses,
//! and the message catalog taken from the help article.

pub mod access;
pub mod alerts;
pub mod connection;
pub mod email;
pub mod filters;
pub mod health;
pub mod href;
pub mod interrupted;
pub mod messages;
pub mod objects;
pub mod records;
pub mod retention;
pub mod salesforce_id;
pub mod settings;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use filters::{RecordFilter, RecordsQuery, RunFilters, RunsQuery};
pub use messages::{Message, MessageTable, RecordMessage, RunMessage};
pub use objects::{CompanyField, ContactField};

/// Generates `as_str` / `parse` / `ALL` for a plain enum stored as a short text code.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $( $variant:ident = $code:literal ),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            pub fn as_str(self) -> &'static str { match self { $( Self::$variant => $code, )* } }
            pub fn parse(code: &str) -> Option<Self> {
                match code { $( $code => Some(Self::$variant), )* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

coded_enum! {
    /// Which way a run moves data.
    Direction { Inbound = "inbound", Outbound = "outbound" }
}

impl Direction {
    /// The tab label, as the article writes it.
    pub fn tab_label(self) -> &'static str {
        match self {
            Self::Inbound => "Inbound (Salesforce \u{2192} Conversion)",
            Self::Outbound => "Outbound (Conversion \u{2192} Salesforce)",
        }
    }
    pub fn short_label(self) -> &'static str {
        match self {
            Self::Inbound => "Inbound",
            Self::Outbound => "Outbound",
        }
    }
    pub fn arrow_label(self) -> &'static str {
        match self {
            Self::Inbound => "Salesforce \u{2192} Conversion",
            Self::Outbound => "Conversion \u{2192} Salesforce",
        }
    }
    /// When runs in this direction happen (the article's batching table).
    pub fn timing(self) -> &'static str {
        match self {
            Self::Inbound => "Runs on a regular schedule",
            Self::Outbound => "Near-instant",
        }
    }
    /// How runs in this direction are batched (the article's batching table).
    pub fn batch_size(self) -> &'static str {
        match self {
            Self::Inbound => "Up to ~5,000 records per batch. Large syncs are split across multiple batches, fetched in pages of ~2,000 records at a time.",
            Self::Outbound => "Smaller batches, grouped by object type, pushed as changes happen",
        }
    }
}

coded_enum! {
    /// The kind of record a run carries. Leads and Contacts both become Conversion contacts, but
    /// they are separate Salesforce objects and sync in separate runs.
    ObjectType {
        Contact = "contact",
        Lead = "lead",
        Company = "company",
        Opportunity = "opportunity",
        OpportunityContactRole = "opportunity_contact_role",
        Event = "event",
    }
}

impl ObjectType {
    /// Plural, lower case, as used in sentences ("Synced contacts from Salesforce").
    pub fn plural(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Lead => "leads",
            Self::Company => "companies",
            Self::Opportunity => "opportunities",
            Self::OpportunityContactRole => "opportunity contact roles",
            Self::Event => "custom events",
        }
    }
    /// Plural, capitalised, for filters and chips.
    pub fn label(self) -> &'static str {
        match self {
            Self::Contact => "Contacts",
            Self::Lead => "Leads",
            Self::Company => "Companies",
            Self::Opportunity => "Opportunities",
            Self::OpportunityContactRole => "Opportunity contact roles",
            Self::Event => "Custom events",
        }
    }
    /// The Salesforce sObject this object type maps to.
    pub fn sobject(self) -> &'static str {
        match self {
            Self::Contact => "Contact",
            Self::Lead => "Lead",
            Self::Company => "Account",
            Self::Opportunity => "Opportunity",
            Self::OpportunityContactRole => "OpportunityContactRole",
            Self::Event => "Conversion_Event__c",
        }
    }
}

coded_enum! {
    /// What started a run.
    Trigger { Scheduled = "scheduled", Backfill = "backfill", Push = "push", Manual = "manual", Retry = "retry" }
}

impl Trigger {
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::Backfill => "Backfill",
            Self::Push => "Push",
            Self::Manual => "Manual",
            Self::Retry => "Retry",
        }
    }
}

coded_enum! {
    /// The status of a whole run (batch).
    RunStatus { InProgress = "in_progress", Completed = "completed", Failed = "failed" }
}

impl RunStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
        }
    }
    /// The article's explanation of the status.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::InProgress => "The batch is still being processed.",
            Self::Completed => "The batch finished. Individual records may still have been skipped or failed\u{2014}open the run to see details.",
            Self::Failed => "The whole batch could not be processed. See When a whole run fails.",
        }
    }
}

coded_enum! {
    /// The status of one record within a run.
    RecordStatus { Success = "success", Skipped = "skipped", Failed = "failed" }
}

impl RecordStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Skipped => "Skipped",
            Self::Failed => "Failed",
        }
    }
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "The record synced.",
            Self::Skipped => "The record was intentionally not synced\u{2014}usually expected behavior (for example, a record with no email).",
            Self::Failed => "The record hit an error while syncing and needs attention.",
        }
    }
}

coded_enum! {
    /// What a record's sync did (or tried to do).
    RecordAction { Created = "created", Updated = "updated", Deleted = "deleted" }
}

impl RecordAction {
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Updated => "Updated",
            Self::Deleted => "Deleted",
        }
    }
}

/// Opaque, shareable, time-sortable run id (UUIDv7: its first 48 bits are the start time in ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub Uuid);

impl RunId {
    /// A well-formed id that sorts before every run's ("runs newer than this" is every run).
    pub const MIN: RunId =
        RunId(Uuid::from_bytes([0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 0]));

    /// A new id for a run that started at `started_at_ms` (Unix milliseconds).
    pub fn new_at(started_at_ms: i64) -> Self {
        let ms = started_at_ms.max(0) as u64;
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            ms / 1000,
            ((ms % 1000) * 1_000_000) as u32,
        );
        Self(Uuid::new_v7(ts))
    }
    /// The smallest id a run started at or after `ms` can have: date filters become id ranges.
    pub fn lower_bound(ms: i64) -> Self {
        let ms = ms.clamp(0, (1i64 << 48) - 1) as u64;
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        Self(Uuid::from_bytes(bytes))
    }
    pub fn parse(s: &str) -> Option<Self> {
        Uuid::try_parse(s.trim()).ok().filter(|u| u.get_version_num() == 7).map(Self)
    }
    /// The start time encoded in the id, in Unix milliseconds.
    ///
    /// ```
    /// # use app::domain::RunId;
    /// assert_eq!(RunId::parse(&RunId::MIN.to_string()), Some(RunId::MIN));
    /// assert!(RunId::MIN <= RunId::new_at(0));
    /// ```
    pub fn timestamp_ms(&self) -> i64 {
        let b = self.0.as_bytes();
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&b[..6]);
        i64::from_be_bytes(ms)
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The five numbers every run shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub deleted: i64,
    pub skipped: i64,
    pub failed: i64,
}

impl Counts {
    /// Records processed so far (every record counts exactly once).
    pub fn processed(&self) -> i64 {
        self.created + self.updated + self.deleted + self.skipped + self.failed
    }
    pub fn synced(&self) -> i64 {
        self.created + self.updated + self.deleted
    }
    /// The count a record with this status and action adds to.
    pub fn add(&mut self, status: RecordStatus, action: RecordAction) {
        match (status, action) {
            (RecordStatus::Skipped, _) => self.skipped += 1,
            (RecordStatus::Failed, _) => self.failed += 1,
            (RecordStatus::Success, RecordAction::Created) => self.created += 1,
            (RecordStatus::Success, RecordAction::Updated) => self.updated += 1,
            (RecordStatus::Success, RecordAction::Deleted) => self.deleted += 1,
        }
    }
}

/// The whole-run failure of a failed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub message: RunMessage,
    /// Technical detail (for support), never shown in place of the message.
    pub detail: String,
}

/// One run (batch) as the list and the run page show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: RunId,
    pub direction: Direction,
    pub object_type: ObjectType,
    pub trigger: Trigger,
    pub status: RunStatus,
    /// Unix milliseconds, UTC.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub counts: Counts,
    /// How many records the batch holds, when known in advance.
    pub expected_total: Option<i64>,
    pub failure: Option<RunFailure>,
    /// The run whose failed records this one retries (trigger "Retry").
    #[serde(default)]
    pub retry_of: Option<RunId>,
}

impl SyncRun {
    /// The plain-language description of the run.
    pub fn description(&self) -> String {
        match (self.direction, self.trigger) {
            (Direction::Inbound, Trigger::Backfill) => {
                format!("Backfilled {} from Salesforce", self.object_type.plural())
            }
            (Direction::Inbound, _) => {
                format!("Synced {} from Salesforce", self.object_type.plural())
            }
            (Direction::Outbound, _) => "Pushed updates to Salesforce".to_string(),
        }
    }
    /// Start to finish, or to `now_ms` while in progress.
    pub fn duration_ms(&self, now_ms: i64) -> i64 {
        (self.finished_at.unwrap_or(now_ms) - self.started_at).max(0)
    }
}

/// One record of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Position within the run, from 0.
    pub seq: i64,
    pub status: RecordStatus,
    pub action: RecordAction,
    pub message: Option<RecordMessage>,
    pub detail: Option<String>,
    pub salesforce_id: Option<String>,
    pub conversion_id: Option<String>,
    pub label: Option<String>,
    pub external_created_at: Option<i64>,
    pub external_updated_at: Option<i64>,
}

/// "1.2 s", "3 min 4 s", "1 h 2 min": durations as people read them.
pub fn format_duration(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1000 {
        return format!("{ms} ms");
    }
    if ms < 10_000 {
        return format!("{:.1} s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Thousands separators: 12345 -> "12,345".
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Runs per page of the Sync activity list.
pub const RUNS_PAGE_SIZE: i64 = 25;
/// Records per page of a run.
pub const RECORDS_PAGE_SIZE: i64 = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_start_time_and_bounds_bracket_them() {
        let a = RunId::new_at(1_700_000_000_000);
        let b = RunId::new_at(1_700_000_000_001);
        assert!(a < b);
        assert_eq!(a.timestamp_ms(), 1_700_000_000_000);
        assert!(RunId::lower_bound(1_700_000_000_000) <= a);
        assert!(RunId::lower_bound(1_700_000_000_001) > a);
        assert_eq!(RunId::parse(&a.to_string()), Some(a));
        assert_eq!(RunId::parse("not-a-uuid"), None);
        // A v4 uuid is not a run id.
        assert_eq!(RunId::parse("936da01f-9abd-4d9d-80c7-02af85c822a8"), None);
    }

    #[test]
    fn durations_and_counts_read_naturally() {
        assert_eq!(format_duration(340), "340 ms");
        assert_eq!(format_duration(1_240), "1.2 s");
        assert_eq!(format_duration(42_000), "42 s");
        assert_eq!(format_duration(184_000), "3 min 4 s");
        assert_eq!(format_duration(3_720_000), "1 h 2 min");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1234567), "1,234,567");
    }

    #[test]
    fn counts_add_by_status_then_action() {
        let mut c = Counts::default();
        c.add(RecordStatus::Success, RecordAction::Created);
        c.add(RecordStatus::Success, RecordAction::Deleted);
        c.add(RecordStatus::Skipped, RecordAction::Updated);
        c.add(RecordStatus::Failed, RecordAction::Created);
        assert_eq!(c, Counts { created: 1, updated: 0, deleted: 1, skipped: 1, failed: 1 });
        assert_eq!(c.processed(), 4);
    }
}
