//! Batch sizes, pacing and the pure decisions of the loops: what a whole-run failure is called and
//! how long to wait before trying again.

use crate::salesforce::bulk::Polling;
use crate::salesforce::SalesforceError;
use app::domain::{RecordMessage, RunMessage};
use app::store::keyring::Keyring;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

/// Everything tunable about the engine. Defaults are the help article's.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Time between scheduled inbound syncs.
    pub interval: Duration,
    /// How far before the cursor each incremental query starts, for late commits.
    pub overlap: Duration,
    /// Records per query page (~2,000).
    pub page_size: u32,
    /// A backfill of an object holding more records than this reads them through one Bulk API
    /// 2.0 query job instead of REST query pages; `None`: always REST.
    pub bulk_threshold: Option<u64>,
    /// How a Bulk API 2.0 query job is polled until it is complete.
    pub bulk_polling: Polling,
    /// Records per steady-state inbound run (~5,000).
    pub batch_size: usize,
    /// Records per backfill run (~50,000).
    pub backfill_batch_size: usize,
    /// At most this many records commit together (with the cursor): a whole page by default.
    pub commit_size: usize,
    /// While a page is written, a run's counts move at least this often: when writing a slice
    /// took longer, the next ones are smaller (`inbound::next_slice`), so a slow disk shows a
    /// page's records arriving instead of a jump from none to all of them.
    pub progress_every: Duration,
    /// Records per outbound run (sObject Collections take at most 200).
    pub push_batch_size: usize,
    /// No API calls for at most this long after the daily limit was exceeded.
    pub limit_pause: Duration,
    /// While the limit pauses syncing, how often `/limits` is asked whether Salesforce has
    /// requests to spare again (one request each time): syncing resumes as soon as it has.
    pub limit_check_every: Duration,
    /// First retry delay of the outbound worker after a whole-run failure.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How records whose push failed for a passing reason are pushed again.
    pub record_retry: RecordRetry,
    /// The keys the connection's refresh token is sealed with in the database (by default one
    /// random key that lives as long as the process: enough for an engine that keeps nothing).
    pub keyring: Keyring,
    /// This server's name in the leases (`--instance-name`): who holds which work.
    pub instance: String,
    /// A lease not renewed for this long can be taken over by another server; it is renewed
    /// every third of it, and by every write made under it.
    pub lease_ttl: Duration,
    /// How many pieces of work this server holds now, counted across the engines of all its
    /// workspaces (they share this config): a busy server waits a little longer before a
    /// scheduled pass, so an idle one takes the next workspace's work.
    pub held: Arc<AtomicUsize>,
}

/// This process's default name: the host and the process id.
pub fn default_instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

/// Pushing again a record that failed for a reason that can pass without anyone editing it
/// ([`Transient`]): a doubling delay from the reason's base, capped, for at most `attempts`
/// pushes in all (the first one included); after the last the record stays failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRetry {
    pub attempts: u32,
    /// First delay after "Record locked": locks are held for seconds.
    pub locked_base: Duration,
    /// First delay after "Insufficient permissions": access comes back when a person restores it,
    /// so slower; a successful push of the same object retries at once.
    pub access_base: Duration,
    pub max: Duration,
}

impl Default for RecordRetry {
    fn default() -> Self {
        RecordRetry {
            attempts: 5,
            locked_base: Duration::from_secs(10),
            access_base: Duration::from_secs(10 * 60),
            max: Duration::from_secs(2 * 3600),
        }
    }
}

/// A record failure that can pass without anyone changing the record in Conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// Record locked: another update held the record; it passes on its own.
    Locked,
    /// Insufficient permissions: passes once the integration user's access is restored.
    Access,
}

impl Transient {
    pub fn of(message: RecordMessage) -> Option<Transient> {
        match message {
            RecordMessage::RecordLocked => Some(Transient::Locked),
            RecordMessage::InsufficientPermissions => Some(Transient::Access),
            _ => None,
        }
    }
}

/// Delay before pushing again a record whose last `failures` pushes failed for `why`, or `None`
/// once it has had its `attempts`. Never zero, so a record is never pushed twice in one pass.
pub fn record_retry_delay(why: Transient, failures: u32, policy: &RecordRetry) -> Option<Duration> {
    if failures >= policy.attempts {
        return None;
    }
    let base = match why {
        Transient::Locked => policy.locked_base,
        Transient::Access => policy.access_base,
    };
    Some(retry_delay(failures.max(1), base, policy.max).max(Duration::from_millis(1)))
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            interval: Duration::from_secs(300),
            overlap: Duration::from_secs(60),
            page_size: 2_000,
            batch_size: 5_000,
            bulk_threshold: Some(10_000),
            bulk_polling: Polling::default(),
            backfill_batch_size: 50_000,
            commit_size: 2_000,
            progress_every: Duration::from_millis(250),
            push_batch_size: crate::salesforce::sobjects::MAX_COLLECTION_RECORDS,
            limit_pause: Duration::from_secs(15 * 60),
            limit_check_every: Duration::from_secs(30),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            record_retry: RecordRetry::default(),
            keyring: Keyring::ephemeral(),
            instance: default_instance_name(),
            lease_ttl: Duration::from_secs(30),
            held: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// The article's whole-run message for a Salesforce error.
pub fn run_message(e: &SalesforceError) -> RunMessage {
    if e.needs_reconnect() {
        RunMessage::AuthenticationFailure
    } else if e.is_limit_exceeded() {
        RunMessage::ApiLimitExceeded
    } else if e.is_insufficient_access() {
        RunMessage::InsufficientPermissions
    } else {
        RunMessage::UnknownError
    }
}

/// Whether a whole-run failure concerns the connection rather than one object: an authentication
/// failure or an exhausted daily limit fails every object alike, so the rest of a pass waits. Any
/// other failure (one object unreadable, one object's error) is that object's alone.
pub fn stops_the_pass(m: RunMessage) -> bool {
    matches!(m, RunMessage::AuthenticationFailure | RunMessage::ApiLimitExceeded)
}

/// Delay before attempt `failures + 1` after `failures` whole-run failures in a row: doubling from
/// `base`, capped at `max`.
pub fn retry_delay(failures: u32, base: Duration, max: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    base.saturating_mul(1u32.checked_shl(failures.saturating_sub(1).min(31)).unwrap_or(u32::MAX))
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::types::ApiErrorBody;

    fn api(status: u16, code: &str) -> SalesforceError {
        SalesforceError::Api {
            status,
            errors: vec![ApiErrorBody {
                message: "m".into(),
                error_code: code.into(),
                fields: None,
            }],
        }
    }

    #[test]
    fn whole_run_failures_get_the_articles_message() {
        let grant = SalesforceError::InvalidGrant {
            error: "invalid_grant".into(),
            description: "expired".into(),
        };
        assert_eq!(run_message(&grant), RunMessage::AuthenticationFailure);
        assert_eq!(run_message(&api(401, "INVALID_SESSION_ID")), RunMessage::AuthenticationFailure);
        assert_eq!(run_message(&api(403, "REQUEST_LIMIT_EXCEEDED")), RunMessage::ApiLimitExceeded);
        assert_eq!(
            run_message(&api(403, "INSUFFICIENT_ACCESS_OR_READONLY")),
            RunMessage::InsufficientPermissions
        );
        assert_eq!(run_message(&api(500, "UNKNOWN_EXCEPTION")), RunMessage::UnknownError);
        let down = SalesforceError::Unavailable { attempts: 4, detail: "503".into() };
        assert_eq!(run_message(&down), RunMessage::UnknownError);
    }

    #[test]
    fn only_connection_failures_stop_the_pass() {
        assert!(stops_the_pass(RunMessage::AuthenticationFailure));
        assert!(stops_the_pass(RunMessage::ApiLimitExceeded));
        assert!(!stops_the_pass(RunMessage::InsufficientPermissions));
        assert!(!stops_the_pass(RunMessage::UnknownError));
    }

    #[test]
    fn retry_delay_doubles_and_caps() {
        let (b, m) = (Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(retry_delay(0, b, m), Duration::ZERO);
        assert_eq!(retry_delay(1, b, m), Duration::from_secs(1));
        assert_eq!(retry_delay(2, b, m), Duration::from_secs(2));
        assert_eq!(retry_delay(4, b, m), Duration::from_secs(8));
        assert_eq!(retry_delay(7, b, m), Duration::from_secs(60));
        assert_eq!(retry_delay(u32::MAX, b, m), Duration::from_secs(60));
    }

    #[test]
    fn locked_and_unreadable_records_are_the_ones_retried() {
        assert_eq!(Transient::of(RecordMessage::RecordLocked), Some(Transient::Locked));
        assert_eq!(Transient::of(RecordMessage::InsufficientPermissions), Some(Transient::Access));
        for m in [
            RecordMessage::RequiredFieldMissing,
            RecordMessage::ValidationRuleFailure,
            RecordMessage::DuplicateRecord,
            RecordMessage::OutboundUnknownError,
        ] {
            assert_eq!(Transient::of(m), None, "{m:?} needs a person, not a retry");
        }
    }

    #[test]
    fn record_retries_back_off_per_reason_and_stop_at_the_limit() {
        let p = RecordRetry {
            attempts: 5,
            locked_base: Duration::from_secs(10),
            access_base: Duration::from_secs(600),
            max: Duration::from_secs(3600),
        };
        let locked: Vec<_> =
            (1..=5).map(|n| record_retry_delay(Transient::Locked, n, &p)).collect();
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(locked, vec![s(10), s(20), s(40), s(80), None]);
        let access: Vec<_> =
            (1..=5).map(|n| record_retry_delay(Transient::Access, n, &p)).collect();
        assert_eq!(access, vec![s(600), s(1200), s(2400), s(3600), None], "slower, and capped");
        assert_eq!(record_retry_delay(Transient::Locked, u32::MAX, &p), None);
        // A zero base still waits: a record is never pushed twice in the same pass.
        let zero = RecordRetry { locked_base: Duration::ZERO, ..p };
        assert_eq!(record_retry_delay(Transient::Locked, 1, &zero), Some(Duration::from_millis(1)));
        // One attempt in all: a failure is final.
        assert_eq!(
            record_retry_delay(Transient::Locked, 1, &RecordRetry { attempts: 1, ..p }),
            None
        );
    }
}
