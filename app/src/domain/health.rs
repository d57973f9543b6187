//! The Recent sync health summary shown on the Overview tab.

use super::{Direction, ObjectType, RecordMessage, RunId, RunMessage, SyncRun};
use serde::{Deserialize, Serialize};

/// Records that share one message within the health window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroup {
    pub message: RecordMessage,
    pub records: i64,
    pub runs: i64,
    /// The newest run with such a record, to open straight on them.
    pub latest_run: RunId,
    /// Set when every such record came from runs of one direction (one object type): the link to
    /// the activity then narrows to it.
    pub direction: Option<Direction>,
    pub object: Option<ObjectType>,
}

/// What the Overview's connection and Rate limits cards show, in brief: the health card's poll
/// compares it with what the page was rendered with, so a revoke or an exceeded limit during a
/// visit shows without the person reloading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionPulse {
    pub state: super::connection::ConnectionState,
    /// The daily API limit is exceeded or API calls are paused for it.
    pub limit_exceeded: bool,
}

/// One hour of the health chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourBucket {
    /// Start of the hour, Unix ms.
    pub hour_ms: i64,
    pub synced: i64,
    pub skipped: i64,
    pub failed: i64,
    /// Runs of this hour that failed as a whole.
    pub failed_runs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncHealth {
    /// Start of the window, Unix ms.
    pub since_ms: i64,
    pub runs_completed: i64,
    pub runs_failed: i64,
    pub runs_in_progress: i64,
    pub records_synced: i64,
    pub records_skipped: i64,
    pub records_failed: i64,
    pub last_inbound: Option<SyncRun>,
    pub last_outbound: Option<SyncRun>,
    /// Skipped and failed records grouped by message, most frequent first (see
    /// [`SyncHealth::record_groups`] for the card's split).
    pub record_messages: Vec<FailureGroup>,
    /// Failed runs grouped by whole-run message.
    pub run_failures: Vec<(RunMessage, i64)>,
    /// The window hour by hour, oldest first, every hour present.
    pub hourly: Vec<HourBucket>,
    /// Set while the server finds its database cannot be written (or is damaged): syncing and
    /// changes stop until it can, and the card says so first.
    #[serde(default)]
    pub storage: Option<StorageProblem>,
}

/// What kind of trouble the database file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageFailure {
    /// The file (or its write-ahead log) cannot be written: permissions, a read-only disk.
    ReadOnly,
    /// The disk holding it is full.
    DiskFull,
    /// The disk or file system answered a read or write with an error.
    WriteFailed,
    /// SQLite found the file damaged (pages overwritten, not a database).
    Damaged,
    /// No connection to it could be had, or one broke.
    Unavailable,
}

impl StorageFailure {
    /// The cause, as the end of a sentence.
    pub fn cause(self) -> &'static str {
        match self {
            Self::ReadOnly => "the database file cannot be written (it or its folder is read-only)",
            Self::DiskFull => "the disk holding the database is full",
            Self::WriteFailed => {
                "the disk or file system reported an error while writing the database"
            }
            Self::Damaged => "the database file is damaged",
            Self::Unavailable => "the database did not answer",
        }
    }

    /// What a person does about it.
    pub fn what_to_do(self) -> &'static str {
        match self {
            Self::Damaged => {
                "Stop the server and restore the file from a backup, or move it aside to start on an empty \
                 database (the next sync then fetches every record from Salesforce again)."
            }
            _ => {
                "Syncing and changes wait until it can be written again, then carry on from the last saved \
                 batch on their own; changes made meanwhile are refused and can be made again."
            }
        }
    }
}

/// A storage problem the server found at run time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageProblem {
    pub failure: StorageFailure,
    /// When it was first seen, Unix ms.
    pub since_ms: i64,
    /// The database file, as the server was given it.
    pub database: String,
}

impl StorageProblem {
    /// The card's sentence.
    pub fn message(&self) -> String {
        let cause = self.failure.cause();
        let mut chars = cause.chars();
        let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
        format!("{first}{} ({}). {}", chars.as_str(), self.database, self.failure.what_to_do())
    }
}

impl SyncHealth {
    /// The card's split of [`Self::record_messages`]: failed records first (they need attention),
    /// then skipped ones (usually expected), each most frequent first. Kept apart so that many
    /// kinds of skip never push a failure off the card.
    pub fn record_groups(&self) -> (Vec<&FailureGroup>, Vec<&FailureGroup>) {
        self.record_messages.iter().partition(|g| !g.message.is_skip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(message: RecordMessage, records: i64) -> FailureGroup {
        FailureGroup {
            message,
            records,
            runs: 1,
            latest_run: RunId(uuid::Uuid::nil()),
            direction: None,
            object: None,
        }
    }

    #[test]
    fn failures_are_never_crowded_out_by_skips() {
        // Most frequent first, as the store returns them: many kinds of skip ahead of one failure.
        let mut record_messages: Vec<FailureGroup> = RecordMessage::ALL
            .iter()
            .filter(|m| m.is_skip())
            .enumerate()
            .map(|(i, m)| group(*m, 1_000 - i as i64))
            .collect();
        record_messages.push(group(RecordMessage::DuplicateRecord, 79));
        let h = SyncHealth {
            since_ms: 0,
            runs_completed: 0,
            runs_failed: 0,
            runs_in_progress: 0,
            records_synced: 0,
            records_skipped: 0,
            records_failed: 79,
            last_inbound: None,
            last_outbound: None,
            record_messages,
            run_failures: Vec::new(),
            hourly: Vec::new(),
            storage: None,
        };
        let (failed, skipped) = h.record_groups();
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].message, failed[0].records), (RecordMessage::DuplicateRecord, 79));
        assert!(skipped.len() > 8 && skipped.iter().all(|g| g.message.is_skip()));
        assert_eq!(skipped[0].records, 1_000, "order kept");
    }

    #[test]
    fn a_storage_problem_reads_as_a_sentence_naming_the_file() {
        let p = StorageProblem {
            failure: StorageFailure::DiskFull,
            since_ms: 0,
            database: "data/sync-activity.db".into(),
        };
        let m = p.message();
        assert!(
            m.starts_with("The disk holding the database is full (data/sync-activity.db). "),
            "{m}"
        );
        assert!(m.contains("carry on from the last saved batch"), "{m}");
        let damaged = StorageProblem { failure: StorageFailure::Damaged, ..p }.message();
        assert!(damaged.contains("restore the file from a backup"), "{damaged}");
    }
}
