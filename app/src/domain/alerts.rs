//! Alerts: a workspace's webhook, told when a run fails as a whole or leaves more failed records
//! than its threshold. What an alert is about ([`alert_for`]), how alerts of one message are
//! folded (at most one an hour), how a failed delivery is retried ([`retry_delay`]), the JSON it
//! carries ([`AlertBody`]), and the views the Overview and `GET /api/alerts` show.

use super::{Counts, Direction, ObjectType, RunId, RunStatus, SyncRun};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why an alert was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertReason {
    /// The run failed as a whole, with one of the article's whole-run messages.
    RunFailed,
    /// The run finished with at least the webhook's threshold of failed records.
    FailedRecordsThreshold,
    /// An admin asked for a test alert.
    Test,
}

impl AlertReason {
    pub const ALL: &'static [AlertReason] =
        &[AlertReason::RunFailed, AlertReason::FailedRecordsThreshold, AlertReason::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertReason::RunFailed => "run_failed",
            AlertReason::FailedRecordsThreshold => "failed_records_threshold",
            AlertReason::Test => "test",
        }
    }

    pub fn parse(code: &str) -> Option<AlertReason> {
        AlertReason::ALL.iter().copied().find(|r| r.as_str() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AlertReason::RunFailed => "Run failed",
            AlertReason::FailedRecordsThreshold => "Failed records",
            AlertReason::Test => "Test alert",
        }
    }
}

/// Alerts of one message are folded: after one is sent, the next ones within this long are
/// counted instead, and go out as one digest when the hour is over.
pub const FOLD_WINDOW_MS: i64 = 60 * 60 * 1000;

/// The message key alerts about failed records are folded under (whole-run failures fold under
/// their message's code: `authentication_failure`, …).
pub const FAILED_RECORDS_KEY: &str = "failed_records";

/// The key a test alert carries (tests are never folded).
pub const TEST_KEY: &str = "test";

/// What a finished run alerts about, if anything: its whole-run failure (folded under the
/// message's code), else at least `threshold` failed records (0: never). A run in progress
/// alerts about nothing yet.
pub fn alert_for(run: &SyncRun, threshold: i64) -> Option<(AlertReason, &'static str)> {
    match run.status {
        RunStatus::InProgress => None,
        RunStatus::Failed => {
            let code = run.failure.as_ref().map_or("unknown_error", |f| f.message.code());
            Some((AlertReason::RunFailed, code))
        }
        RunStatus::Completed => (threshold > 0 && run.counts.failed >= threshold)
            .then_some((AlertReason::FailedRecordsThreshold, FAILED_RECORDS_KEY)),
    }
}

/// The waits between a failed delivery's attempts when `--alert-backoff-secs` names none: 10 s,
/// 1 min, 5 min, 30 min, then it gives up (five attempts in all).
pub const DEFAULT_BACKOFF_SECS: [u64; 4] = [10, 60, 300, 1_800];

/// How long to wait after the `attempts`-th failed attempt (1 for the first) before the next,
/// by the schedule; `None`: give up.
pub fn retry_delay(attempts: u32, schedule: &[Duration]) -> Option<Duration> {
    let i = usize::try_from(attempts).ok()?.checked_sub(1)?;
    schedule.get(i).copied()
}

/// The longest webhook address accepted.
pub const MAX_URL_CHARS: usize = 2_000;

/// A webhook address as typed, checked: an absolute `http://` or `https://` URL with a host and
/// no spaces. The sentence says what to fix.
pub fn check_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Give the address alerts are sent to, starting with https://.".into());
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("The address is too long (at most {MAX_URL_CHARS} characters)."));
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))
    else {
        let scheme = url.split_once("://").map(|(s, _)| s);
        return Err(match scheme {
            Some(s) => format!(
                "Alerts are sent over http or https only, not \u{201c}{s}\u{201d}: give an address starting with https:// (or http://)."
            ),
            None => "Give a whole address, starting with https:// (or http://), e.g. https://hooks.example.com/sync-alerts.".into(),
        });
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The address has spaces in it: encode them (%20) or remove them.".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = host.strip_prefix('[').map_or_else(
        || host.split(':').next().unwrap_or(""),
        |v6| v6.split(']').next().unwrap_or(""),
    );
    if host.is_empty() {
        return Err(
            "The address has no host: give one such as https://hooks.example.com/sync-alerts."
                .into(),
        );
    }
    Ok(url.to_string())
}

/// The address as members see it: its scheme and host only (the path of a chat tool's webhook is
/// its secret).
pub fn masked_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let more = rest.len() > authority.len();
    format!("{scheme}://{host}{}", if more { "/\u{2026}" } else { "" })
}

/// A workspace's webhook as the Overview and `GET /api/alerts` show it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettings {
    /// The whole address for admins; scheme and host only for members ([`masked_url`]).
    pub url: String,
    /// A finished run with at least this many failed records alerts (0: only whole-run failures).
    pub failed_threshold: i64,
    pub enabled: bool,
    pub updated_at: i64,
}

/// What an admin saves (`PUT /api/alerts`, the Overview's form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettingsInput {
    pub url: String,
    #[serde(default)]
    pub failed_threshold: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Make a new signing secret (the old one stops verifying at once).
    #[serde(default)]
    pub rotate_secret: bool,
}

fn yes() -> bool {
    true
}

impl AlertSettingsInput {
    /// The input with its address checked and trimmed, or what to fix.
    pub fn checked(self) -> Result<AlertSettingsInput, String> {
        let url = check_url(&self.url)?;
        if !(0..=1_000_000).contains(&self.failed_threshold) {
            return Err("The threshold of failed records is a whole number from 0 (whole-run failures only) to 1,000,000.".into());
        }
        Ok(AlertSettingsInput { url, ..self })
    }
}

/// The webhook and its latest attempts: `GET /api/alerts` and the Overview's Alerts card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsView {
    /// `None`: no webhook yet.
    pub webhook: Option<AlertSettings>,
    /// The latest attempts, newest first ([`ATTEMPTS_SHOWN`]).
    pub attempts: Vec<AlertAttempt>,
    /// Whether the person may change it (an admin).
    pub can_change: bool,
}

/// How many attempts the Overview and `GET /api/alerts` list.
pub const ATTEMPTS_SHOWN: u32 = 10;

/// What saving the webhook answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAlerts {
    pub webhook: AlertSettings,
    /// The signing secret, when this save made one (the first save, or `rotate_secret`): shown
    /// this once; receivers verify the signature with it.
    pub secret: Option<String>,
}

/// How a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not delivered yet: its next attempt is due at `next_attempt_at`.
    Pending,
    /// A 2xx answer came.
    Delivered,
    /// Every attempt of the schedule failed.
    GaveUp,
    /// The webhook was switched off before it was delivered.
    Cancelled,
}

impl DeliveryState {
    pub const ALL: &'static [DeliveryState] = &[
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::GaveUp,
        DeliveryState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::GaveUp => "gave_up",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(code: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.iter().copied().find(|s| s.as_str() == code)
    }
}

/// One attempt to deliver an alert, as the Overview lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertAttempt {
    pub delivery_id: i64,
    /// 1 for the first attempt of the delivery.
    pub attempt: i64,
    pub at: i64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// Why no answer came (refused, timed out), when none did.
    pub error: Option<String>,
    pub duration_ms: i64,
    pub reason: AlertReason,
    pub run_id: Option<RunId>,
    /// How the delivery stands now (not at this attempt).
    pub state: DeliveryState,
    pub next_attempt_at: Option<i64>,
}

impl AlertAttempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }

    /// "200 OK in 35 ms", "HTTP 500 in 12 ms", "connection refused".
    pub fn result(&self) -> String {
        match (self.status_code, &self.error) {
            (Some(code), _) if (200..300).contains(&code) => {
                format!("HTTP {code} in {} ms", self.duration_ms)
            }
            (Some(code), _) => format!("HTTP {code} in {} ms", self.duration_ms),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".into(),
        }
    }
}

/// The JSON body of an alert (`docs`: README, "Alerts"). Fixed at the first attempt, so every
/// retry carries the same bytes (only `X-Sync-Timestamp` and the signature change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertBody {
    /// The delivery's id: the same in every retry, for receivers that deduplicate.
    pub id: i64,
    pub reason: AlertReason,
    pub workspace: AlertWorkspace,
    /// One line a person can read in a chat channel.
    pub text: String,
    /// The run, except in a test alert.
    pub run: Option<AlertRun>,
    /// The whole-run message of a failed run.
    pub message: Option<AlertMessage>,
    /// The webhook's threshold, for `failed_records_threshold`.
    pub threshold: Option<i64>,
    /// Alerts of this message held back (at most one alert per message an hour) since the last
    /// one delivered, besides this one's own run: the digest.
    pub folded: i64,
    /// When the alert was made (Unix ms).
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertWorkspace {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRun {
    pub id: RunId,
    /// The run page, absolute (`--public-url`).
    pub url: String,
    pub direction: Direction,
    pub object_type: ObjectType,
    pub status: RunStatus,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub counts: Counts,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub code: String,
    pub title: String,
    pub detail: String,
    pub what_to_do: String,
}

impl AlertBody {
    /// The alert about `run` (`None`: a test alert). `public_url`: where the server is reached
    /// (no trailing slash).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        reason: AlertReason,
        workspace: AlertWorkspace,
        run: Option<&SyncRun>,
        threshold: i64,
        folded: i64,
        public_url: &str,
        created_at: i64,
    ) -> AlertBody {
        let message = run.and_then(|r| r.failure.as_ref()).map(|f| AlertMessage {
            code: f.message.code().into(),
            title: f.message.title().into(),
            detail: f.detail.clone(),
            what_to_do: f.message.what_to_do().into(),
        });
        let more = match folded {
            0 => String::new(),
            1 => " (and 1 more like it in the last hour)".into(),
            n => format!(" (and {n} more like it in the last hour)"),
        };
        let text = match (reason, run) {
            (_, None) | (AlertReason::Test, _) => format!(
                "Test alert from Conversion Sync activity for {}: the webhook works.",
                workspace.name
            ),
            (AlertReason::RunFailed, Some(r)) => format!(
                "{}: {} run failed: {}{more}",
                workspace.name,
                label(r),
                message.as_ref().map_or("Unknown error", |m| m.title.as_str())
            ),
            (AlertReason::FailedRecordsThreshold, Some(r)) => format!(
                "{}: {} run finished with {} failed records (threshold {threshold}){more}",
                workspace.name,
                label(r),
                r.counts.failed
            ),
        };
        let run = run.map(|r| AlertRun {
            id: r.id,
            url: format!(
                "{}{}",
                public_url.trim_end_matches('/'),
                super::href::in_workspace(
                    &workspace.id,
                    &format!("/settings/crm/sync-activity/runs/{}", r.id)
                )
            ),
            direction: r.direction,
            object_type: r.object_type,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: r.counts,
        });
        AlertBody {
            id,
            reason,
            workspace,
            text,
            run,
            message,
            threshold: (reason == AlertReason::FailedRecordsThreshold).then_some(threshold),
            folded,
            created_at,
        }
    }
}

/// "Inbound Contacts".
fn label(run: &SyncRun) -> String {
    format!("{} {}", run.direction.short_label(), run.object_type.plural())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{RunFailure, RunMessage, Trigger};

    /// A finished run, made from its JSON so that a field added to `SyncRun` with a default
    /// needs no edit here.
    fn run(status: RunStatus, failed: i64, failure: Option<RunMessage>) -> SyncRun {
        let failure =
            failure.map(|message| RunFailure { message, detail: "401 from /token".into() });
        serde_json::from_value(serde_json::json!({
            "id": RunId::new_at(1_000),
            "direction": Direction::Inbound,
            "object_type": ObjectType::Contact,
            "trigger": Trigger::Scheduled,
            "status": status,
            "started_at": 1_000,
            "finished_at": 2_000,
            "counts": Counts { created: 3, failed, ..Counts::default() },
            "expected_total": null,
            "failure": failure,
        }))
        .expect("a run's JSON")
    }

    #[test]
    fn a_failed_run_alerts_under_its_message_and_failed_records_past_the_threshold() {
        let auth = Some(RunMessage::AuthenticationFailure);
        assert_eq!(
            alert_for(&run(RunStatus::Failed, 0, auth), 0),
            Some((AlertReason::RunFailed, "authentication_failure"))
        );
        // A whole-run failure wins over its failed records.
        assert_eq!(
            alert_for(&run(RunStatus::Failed, 50, auth), 10).map(|a| a.0),
            Some(AlertReason::RunFailed)
        );
        let done = |failed| alert_for(&run(RunStatus::Completed, failed, None), 10);
        assert_eq!(done(9), None);
        assert_eq!(done(10), Some((AlertReason::FailedRecordsThreshold, FAILED_RECORDS_KEY)));
        // Threshold 0: failed records never alert.
        assert_eq!(alert_for(&run(RunStatus::Completed, 500, None), 0), None);
        assert_eq!(alert_for(&run(RunStatus::InProgress, 500, None), 1), None);
    }

    #[test]
    fn retries_follow_the_schedule_then_give_up() {
        let s: Vec<Duration> =
            DEFAULT_BACKOFF_SECS.iter().map(|s| Duration::from_secs(*s)).collect();
        assert_eq!(retry_delay(0, &s), None);
        assert_eq!(retry_delay(1, &s), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(2, &s), Some(Duration::from_secs(60)));
        assert_eq!(retry_delay(4, &s), Some(Duration::from_secs(1_800)));
        assert_eq!(retry_delay(5, &s), None);
        assert_eq!(retry_delay(1, &[]), None);
    }

    #[test]
    fn only_http_and_https_addresses_with_a_host_are_taken() {
        assert_eq!(
            check_url("  https://hooks.example.com/a?b=1 ").as_deref(),
            Ok("https://hooks.example.com/a?b=1")
        );
        for ok in ["http://127.0.0.1:8080/x", "HTTPS://Example.com", "http://[::1]:9/"] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        let refused = |u: &str| check_url(u).unwrap_err();
        assert!(refused("ftp://example.com/").contains("\u{201c}ftp\u{201d}"));
        assert!(refused("hooks.example.com/x").contains("starting with https://"));
        assert!(refused("https:///path").contains("no host"));
        assert!(refused("https://a b.com").contains("spaces"));
        assert!(refused("").contains("Give the address"));
    }

    #[test]
    fn members_see_the_scheme_and_host_only() {
        assert_eq!(
            masked_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/\u{2026}"
        );
        assert_eq!(masked_url("http://u:p@example.com:8080"), "http://example.com:8080");
    }

    #[test]
    fn the_body_links_the_run_and_says_what_failed() {
        let r = run(RunStatus::Failed, 2, Some(RunMessage::AuthenticationFailure));
        let ws = AlertWorkspace { id: "acme".into(), name: "Acme Inc.".into() };
        let body = AlertBody::new(
            7,
            AlertReason::RunFailed,
            ws,
            Some(&r),
            0,
            2,
            "https://sync.example/",
            9,
        );
        let run = body.run.as_ref().unwrap();
        assert_eq!(
            run.url,
            format!("https://sync.example/w/acme/settings/crm/sync-activity/runs/{}", r.id)
        );
        assert_eq!(body.message.as_ref().unwrap().code, "authentication_failure");
        assert_eq!(body.message.as_ref().unwrap().detail, "401 from /token");
        assert_eq!(body.threshold, None);
        assert!(body.text.contains("Authentication failure"), "{}", body.text);
        assert!(body.text.contains("and 2 more"), "{}", body.text);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["reason"], "run_failed");
        assert_eq!(json["run"]["counts"]["failed"], 2);
        assert_eq!(json["folded"], 2);
    }
}
