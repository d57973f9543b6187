//! The Recent sync health summary shown on the Overview tab.

use super::{RecordMessage, RunId, RunMessage, SyncRun};
use serde::{Deserialize, Serialize};

/// Records that share one message within the health window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroup {
    pub message: RecordMessage,
    pub records: i64,
    pub runs: i64,
    /// The newest run with such a record, to open straight on them.
    pub latest_run: RunId,
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
    /// Skipped and failed records grouped by message, most frequent first.
    pub record_messages: Vec<FailureGroup>,
    /// Failed runs grouped by whole-run message.
    pub run_failures: Vec<(RunMessage, i64)>,
    /// The window hour by hour, oldest first, every hour present.
    pub hourly: Vec<HourBucket>,
}
