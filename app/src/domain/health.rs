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
}

impl SyncHealth {
    /// The card's split of [`Self::record_messages`]: failed records first (they need attention),
    /// then skipped ones (usually expected), each most frequent first. Kept apart so that many
    /// kinds of skip never push a failure off the card.
    pub fn record_groups(&self) -> (Vec<&FailureGroup>, Vec<&FailureGroup>) {
        self.record_messages.iter().partition(|g| !g.message.is_skip())
    }
}

/// The Sync activity view narrowed to runs with `message` (a [`RecordMessage`] or, with
/// `failed_runs`, a whole-run [`RunMessage`] code) since `since_ms`, and to one direction and
/// object type when given. Built here rather than in the page so the query string is tested.
pub fn activity_href(message: &str, failed_runs: bool, direction: Option<Direction>, object: Option<ObjectType>, since_ms: i64) -> String {
    let mut href = String::from("/settings/crm/sync-activity?");
    if failed_runs {
        href.push_str("status=failed&");
    }
    // Codes are lower-case ASCII and underscores: nothing to encode. The instant's colons are.
    href.push_str(&format!("message={message}&from={}", rfc3339_utc(since_ms).replace(':', "%3A")));
    if let Some(d) = direction {
        href.push_str(&format!("&direction={}", d.as_str()));
    }
    if let Some(o) = object {
        href.push_str(&format!("&object={}", o.as_str()));
    }
    href
}

/// `2026-11-30T18:19:38.123Z` for a Unix ms instant. Hand-written (days to civil date, after
/// Howard Hinnant) because this runs in the browser too, where chrono's formatting would add
/// weight to the Wasm for one string.
pub fn rfc3339_utc(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1_000 % 60, ms_of_day % 1_000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_chrono_across_eras_and_leap_days() {
        for ms in [0, 1_764_526_778_123, 951_782_400_000, 4_107_542_399_999, -86_400_001, 1_709_164_800_500] {
            let expected = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(rfc3339_utc(ms), expected, "{ms}");
        }
    }

    #[test]
    fn group_links_filter_the_activity_by_message_window_and_scope() {
        let since = 1_764_526_778_123; // 2025-11-30T18:19:38.123Z
        assert_eq!(
            activity_href("duplicate_record", false, Some(Direction::Outbound), Some(ObjectType::Contact), since),
            "/settings/crm/sync-activity?message=duplicate_record&from=2025-11-30T18%3A19%3A38.123Z&direction=outbound&object=contact"
        );
        assert_eq!(
            activity_href("missing_email", false, None, None, since),
            "/settings/crm/sync-activity?message=missing_email&from=2025-11-30T18%3A19%3A38.123Z"
        );
        assert_eq!(
            activity_href("authentication_failure", true, None, None, since),
            "/settings/crm/sync-activity?status=failed&message=authentication_failure&from=2025-11-30T18%3A19%3A38.123Z"
        );
    }

    fn group(message: RecordMessage, records: i64) -> FailureGroup {
        FailureGroup { message, records, runs: 1, latest_run: RunId(uuid::Uuid::nil()), direction: None, object: None }
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
        };
        let (failed, skipped) = h.record_groups();
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].message, failed[0].records), (RecordMessage::DuplicateRecord, 79));
        assert!(skipped.len() > 8 && skipped.iter().all(|g| g.message.is_skip()));
        assert_eq!(skipped[0].records, 1_000, "order kept");
    }
}
