//! The alert tables on a fresh database (SQLite, or PostgreSQL with `SYNC_TEST_DATABASE`): the
//! scan looks at each finished run once, alerts of one message fold for an hour, switching off
//! cancels, attempts are kept.

use super::deliveries::{self, After, Attempt};
use super::*;
use crate::domain::alerts::{DeliveryState, FAILED_RECORDS_KEY};
use crate::domain::{
    Direction, ObjectType, RecordAction, RecordStatus, RunFailure, RunMessage, Trigger,
};
use crate::store::{
    append_records, begin_run, ensure_workspace, fail_run, finish_run, testing, NewRecord, NewRun,
};

const T0: i64 = 1_764_000_000_000;
const MINUTE: i64 = 60_000;

async fn fresh() -> (testing::TestDb, WorkspaceId, Keyring) {
    let db = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("acme".into());
    ensure_workspace(&db, &ws, "Acme", T0).await.unwrap();
    (db, ws, Keyring::ephemeral())
}

fn input(url: &str, threshold: i64, enabled: bool) -> AlertSettingsInput {
    AlertSettingsInput {
        url: url.into(),
        failed_threshold: threshold,
        enabled,
        rotate_secret: false,
    }
}

async fn failed_run(db: &Db, ws: &WorkspaceId, at: i64, message: RunMessage) -> RunId {
    let new = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let id = begin_run(db, ws, &new).await.unwrap();
    let failure = RunFailure { message, detail: "from the test".into() };
    assert!(fail_run(db, ws, id, at + 1_000, &failure).await.unwrap());
    id
}

async fn completed_run(db: &Db, ws: &WorkspaceId, at: i64, failed: usize) -> RunId {
    let new = NewRun {
        direction: Direction::Outbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let id = begin_run(db, ws, &new).await.unwrap();
    let records: Vec<NewRecord> = (0..failed)
        .map(|i| NewRecord {
            status: RecordStatus::Failed,
            action: RecordAction::Updated,
            message: Some(crate::domain::RecordMessage::ValidationRuleFailure),
            detail: None,
            salesforce_id: None,
            conversion_id: Some(format!("con_{i}")),
            label: None,
            external_created_at: None,
            external_updated_at: None,
        })
        .collect();
    append_records(db, ws, id, &records).await.unwrap();
    assert!(finish_run(db, ws, id, at + 1_000).await.unwrap());
    id
}

/// One scan as the alert task makes it: digests due, then each new finished run, then the
/// position moves on.
async fn scan(db: &Db, ws: &WorkspaceId, now: i64) -> Vec<Checked> {
    queue_digests(db, ws, now).await.unwrap();
    let hook = webhook(db, ws).await.unwrap().unwrap();
    let mut out = Vec::new();
    for run in runs_to_check(db, ws, &hook, 100).await.unwrap() {
        out.push(check_run(db, ws, &run, hook.failed_threshold, now).await.unwrap());
    }
    advance_scan(db, ws, now).await.unwrap();
    out
}

#[tokio::test]
async fn the_first_save_makes_a_sealed_secret_and_later_saves_keep_it() {
    let (db, ws, ring) = fresh().await;
    let first =
        configure(&db, &ring, &ws, &input("https://a.example/x", 5, true), T0).await.unwrap();
    let secret = first.new_secret.clone().expect("a secret at the first save");
    assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == SECRET_PREFIX.len() + 64);
    let stored = webhook(&db, &ws).await.unwrap().unwrap();
    assert_ne!(stored.secret.key_id(), None, "kept sealed");
    assert_eq!(ring.open(&ws, &stored.secret).unwrap(), secret);
    assert_eq!(stored.view(false).url, "https://a.example/\u{2026}");
    assert_eq!(stored.view(true).url, "https://a.example/x");

    let again =
        configure(&db, &ring, &ws, &input("https://b.example/", 7, true), T0 + 1).await.unwrap();
    assert_eq!(again.new_secret, None);
    assert_eq!(again.changed, ["address", "failed records threshold"]);
    let stored = webhook(&db, &ws).await.unwrap().unwrap();
    assert_eq!(ring.open(&ws, &stored.secret).unwrap(), secret);

    let rotated =
        AlertSettingsInput { rotate_secret: true, ..input("https://b.example/", 7, true) };
    let rotated = configure(&db, &ring, &ws, &rotated, T0 + 2).await.unwrap();
    let new = rotated.new_secret.expect("a new secret");
    assert_ne!(new, secret);
    let stored = webhook(&db, &ws).await.unwrap().unwrap();
    assert_eq!(ring.open(&ws, &stored.secret).unwrap(), new);
}

#[tokio::test]
async fn each_finished_run_is_looked_at_once_and_history_before_the_webhook_never() {
    let (db, ws, ring) = fresh().await;
    let before = failed_run(&db, &ws, T0 - 10 * MINUTE, RunMessage::UnknownError).await;
    let now = T0;
    configure(&db, &ring, &ws, &input("https://a.example/", 3, true), now).await.unwrap();
    // Finished before the webhook: none of its business.
    let hook = webhook(&db, &ws).await.unwrap().unwrap();
    assert!(runs_to_check(&db, &ws, &hook, 100).await.unwrap().iter().all(|r| r.id != before));

    let auth = failed_run(&db, &ws, now + MINUTE, RunMessage::AuthenticationFailure).await;
    let few = completed_run(&db, &ws, now + 2 * MINUTE, 2).await;
    let many = completed_run(&db, &ws, now + 3 * MINUTE, 3).await;
    let checked = scan(&db, &ws, now + 4 * MINUTE).await;
    assert!(
        matches!(checked[..], [Checked::Queued(_), Checked::Nothing, Checked::Queued(_)]),
        "{checked:?}"
    );
    // Looked at once: the next scan (or another server's) finds nothing new.
    assert_eq!(scan(&db, &ws, now + 5 * MINUTE).await, []);
    let hook = webhook(&db, &ws).await.unwrap().unwrap();
    let run = crate::store::get_run(&db, &ws, auth).await.unwrap().unwrap();
    assert_eq!(
        check_run(&db, &ws, &run, hook.failed_threshold, now).await.unwrap(),
        Checked::AlreadyChecked
    );

    let sent = deliveries::deliveries(&db, &ws).await.unwrap();
    assert_eq!(
        sent.iter().map(|d| (d.run, d.reason)).collect::<Vec<_>>(),
        [(Some(auth), AlertReason::RunFailed), (Some(many), AlertReason::FailedRecordsThreshold),]
    );
    assert_eq!(sent[0].message, "authentication_failure");
    assert_eq!(sent[1].message, FAILED_RECORDS_KEY);
    let _ = few;
    // Far past every run, the position moves on and the checks behind it go.
    advance_scan(&db, &ws, now + 60 * MINUTE).await.unwrap();
    let hook = webhook(&db, &ws).await.unwrap().unwrap();
    assert!(hook.scan_from > many);
}

#[tokio::test]
async fn a_run_in_progress_holds_the_scan_back_until_it_finishes() {
    let (db, ws, ring) = fresh().await;
    configure(&db, &ring, &ws, &input("https://a.example/", 0, true), T0).await.unwrap();
    let long = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Company,
        trigger: Trigger::Backfill,
        started_at: T0 + MINUTE,
        expected_total: None,
    };
    let long = begin_run(&db, &ws, &long).await.unwrap();
    assert_eq!(scan(&db, &ws, T0 + 30 * MINUTE).await, []);
    // Half an hour later the backfill fails: its id is far behind now, and still seen.
    let failure = RunFailure { message: RunMessage::ApiLimitExceeded, detail: String::new() };
    fail_run(&db, &ws, long, T0 + 90 * MINUTE, &failure).await.unwrap();
    assert!(matches!(scan(&db, &ws, T0 + 91 * MINUTE).await[..], [Checked::Queued(_)]));
}

#[tokio::test]
async fn alerts_of_one_message_fold_for_an_hour_and_go_out_as_one_digest() {
    let (db, ws, ring) = fresh().await;
    configure(&db, &ring, &ws, &input("https://a.example/", 0, true), T0).await.unwrap();
    let auth = RunMessage::AuthenticationFailure;
    let first = failed_run(&db, &ws, T0 + MINUTE, auth).await;
    assert!(matches!(scan(&db, &ws, T0 + 2 * MINUTE).await[..], [Checked::Queued(_)]));
    // Within the hour: the same message is held back; another message is not.
    failed_run(&db, &ws, T0 + 10 * MINUTE, auth).await;
    let latest = failed_run(&db, &ws, T0 + 20 * MINUTE, auth).await;
    let other = failed_run(&db, &ws, T0 + 21 * MINUTE, RunMessage::ApiLimitExceeded).await;
    let checked = scan(&db, &ws, T0 + 22 * MINUTE).await;
    assert!(
        matches!(checked[..], [Checked::Folded, Checked::Folded, Checked::Queued(_)]),
        "{checked:?}"
    );
    // Not yet an hour since the first alert (made at 2 min): no digest.
    assert!(queue_digests(&db, &ws, T0 + 61 * MINUTE).await.unwrap().is_empty());
    // The hour is over: one digest, about the latest, standing for the one before it.
    let digest = queue_digests(&db, &ws, T0 + 62 * MINUTE).await.unwrap();
    assert_eq!(digest.len(), 1);
    let all = deliveries::deliveries(&db, &ws).await.unwrap();
    assert_eq!(
        all.iter().map(|d| (d.run, d.folded)).collect::<Vec<_>>(),
        [(Some(first), 0), (Some(other), 0), (Some(latest), 1),]
    );
    // The digest opened the next hour: a failure ten minutes later is held back again...
    failed_run(&db, &ws, T0 + 70 * MINUTE, auth).await;
    assert!(matches!(scan(&db, &ws, T0 + 72 * MINUTE).await[..], [Checked::Folded]));
    // ...and one alone in its hour goes out, late, with nothing else folded into it.
    scan(&db, &ws, T0 + 122 * MINUTE).await;
    let all = deliveries::deliveries(&db, &ws).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].folded, 0);
    // Two hours on, a new failure goes out at once.
    failed_run(&db, &ws, T0 + 190 * MINUTE, auth).await;
    assert!(matches!(scan(&db, &ws, T0 + 191 * MINUTE).await[..], [Checked::Queued(_)]));
}

#[tokio::test]
async fn attempts_are_kept_and_switching_off_cancels_what_is_pending() {
    let (db, ws, ring) = fresh().await;
    assert_eq!(deliveries::queue_test(&db, &ws, T0).await.unwrap(), None, "no webhook yet");
    configure(&db, &ring, &ws, &input("https://a.example/", 0, true), T0).await.unwrap();
    let run = failed_run(&db, &ws, T0 + MINUTE, RunMessage::UnknownError).await;
    scan(&db, &ws, T0 + 2 * MINUTE).await;
    let test = deliveries::queue_test(&db, &ws, T0 + 2 * MINUTE).await.unwrap().unwrap();

    let due = deliveries::due(&db, &ws, T0 + 2 * MINUTE, 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.run).collect::<Vec<_>>(), [Some(run), None]);
    let alert = due[0].id;
    deliveries::keep_body(&db, &ws, alert, "{\"a\":1}").await.unwrap();
    deliveries::keep_body(&db, &ws, alert, "{\"a\":2}").await.unwrap();
    let refused =
        Attempt { at: T0 + 2 * MINUTE, status_code: Some(500), error: None, duration_ms: 12 };
    let n = deliveries::record_attempt(&db, &ws, alert, &refused, After::RetryAt(T0 + 3 * MINUTE))
        .await
        .unwrap();
    assert_eq!(n, 1);
    // Not due again before its retry; its body kept from the first attempt.
    assert_eq!(deliveries::due(&db, &ws, T0 + 2 * MINUTE + 1, 10).await.unwrap().len(), 1);
    let again = deliveries::due(&db, &ws, T0 + 3 * MINUTE, 10).await.unwrap();
    let again = again.iter().find(|d| d.id == alert).unwrap();
    assert_eq!((again.attempts, again.body.as_deref()), (1, Some("{\"a\":1}")));

    // Switched off: the run's alert is cancelled, the test still goes.
    configure(&db, &ring, &ws, &input("https://a.example/", 0, false), T0 + 4 * MINUTE)
        .await
        .unwrap();
    let due = deliveries::due(&db, &ws, T0 + 5 * MINUTE, 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [test]);
    let ok = Attempt { at: T0 + 5 * MINUTE, status_code: Some(204), error: None, duration_ms: 3 };
    deliveries::record_attempt(&db, &ws, test, &ok, After::Delivered).await.unwrap();

    let attempts = deliveries::recent_attempts(&db, &ws, 10).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (attempts[0].reason, attempts[0].state, attempts[0].status_code),
        (AlertReason::Test, DeliveryState::Delivered, Some(204))
    );
    assert_eq!((attempts[1].run_id, attempts[1].state), (Some(run), DeliveryState::Cancelled));
    // Switched on again: alerts start from then, not from the runs missed while off.
    failed_run(&db, &ws, T0 + 6 * MINUTE, RunMessage::UnknownError).await;
    configure(&db, &ring, &ws, &input("https://a.example/", 0, true), T0 + 8 * MINUTE)
        .await
        .unwrap();
    assert_eq!(scan(&db, &ws, T0 + 9 * MINUTE).await, []);
}
