//! Alerts to a real local receiver (axum on 127.0.0.1:0): a webhook that fails twice then takes
//! the alert sees the same signed body three times, the retries spaced by the backoff schedule;
//! alerts of one message fold for an hour (on an injected clock, no sleeping an hour).

use app::domain::access::Role;
use app::domain::{Direction, ObjectType, RunFailure, RunId, RunMessage, Trigger};
use app::store::alerts::{self as alerts_store, deliveries};
use app::store::keyring::Keyring;
use app::store::{self, Db, NewRun, WorkspaceId};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use server::alerts::{Alerts, AlertsConfig};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{ManualClock, ADMIN_EMAIL, ADMIN_PASSWORD};

/// What the receiver was sent.
#[derive(Clone)]
struct Hit {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on its own port that answers 500 to the first `failures` alerts and 200
/// after; the alerts it was sent.
async fn receiver(failures: usize) -> (String, Arc<Mutex<Vec<Hit>>>) {
    let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
    let seen = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let mut hits = seen.lock().unwrap();
                hits.push(Hit { at: Instant::now(), headers, body });
                if hits.len() <= failures {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

/// What a receiver does to check an alert: HMAC-SHA256 of `<timestamp>.<raw body>` under the
/// secret, compared with the signature header.
fn verifies(secret: &str, hit: &Hit) -> bool {
    let timestamp = hit.headers["x-sync-timestamp"].to_str().unwrap();
    let Some(given) = hit.headers["x-sync-signature"].to_str().unwrap().strip_prefix("sha256=")
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == given
}

async fn failed_run(db: &Db, ws: &WorkspaceId, at: i64, message: RunMessage) -> RunId {
    let new = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let id = store::begin_run(db, ws, &new).await.unwrap();
    let failure =
        RunFailure { message, detail: "invalid_grant: expired access/refresh token".into() };
    assert!(store::fail_run(db, ws, id, at + 500, &failure).await.unwrap());
    id
}

fn json(hit: &Hit) -> serde_json::Value {
    serde_json::from_slice(&hit.body).unwrap()
}

#[tokio::test]
async fn a_failing_webhook_is_retried_with_backoff_and_every_attempt_is_signed() {
    let (url, hits) = receiver(2).await;
    let server = common::InProcess::start_with(&[
        "--alert-backoff-secs",
        "1,2,30",
        "--alert-poll-ms",
        "50",
        "--public-url",
        "https://sync.example.com/",
    ])
    .await;
    let base = &server.base;
    let admin =
        common::sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder()).await;

    // Not an http(s) address: a 400 that says what to give.
    let refused = admin
        .put(format!("{base}/api/alerts"))
        .json(&serde_json::json!({ "url": "ftp://hooks.example.com/x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let why: serde_json::Value = refused.json().await.unwrap();
    assert!(why["error"].as_str().unwrap().contains("http or https"), "{why}");

    let saved = admin
        .put(format!("{base}/api/alerts"))
        .json(&serde_json::json!({ "url": url, "failed_threshold": 3, "enabled": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["cache-control"], "no-store");
    let saved: serde_json::Value = saved.json().await.unwrap();
    let secret = saved["secret"].as_str().expect("the first save shows the secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");

    // A member reads the setting (the address's host only) and changes nothing.
    server.add_user("mo@example.com", "Mo", Role::Member, ADMIN_PASSWORD).await;
    let member =
        common::sign_in(base, "mo@example.com", ADMIN_PASSWORD, reqwest::Client::builder()).await;
    let seen: serde_json::Value =
        member.get(format!("{base}/api/alerts")).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["webhook"]["url"], url.replace("/hook", "/\u{2026}"));
    assert_eq!(seen["can_change"], false);
    let put = member.put(format!("{base}/api/alerts")).json(&serde_json::json!({ "url": url }));
    assert_eq!(put.send().await.unwrap().status(), 403);

    let ws = WorkspaceId("acme".into());
    let now = chrono::Utc::now().timestamp_millis();
    let run = failed_run(&server.pool, &ws, now, RunMessage::AuthenticationFailure).await;

    let three =
        common::wait_for(Duration::from_secs(30), || async { hits.lock().unwrap().len() >= 3 })
            .await;
    assert!(three, "three attempts reached the receiver");
    let got = hits.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "no attempt after the one it took");
    for hit in &got {
        assert!(verifies(&secret, hit), "the signature verifies with the secret");
        assert!(!verifies("whsec_another", hit));
        let ts: i64 = hit.headers["x-sync-timestamp"].to_str().unwrap().parse().unwrap();
        assert!((ts - now / 1000).abs() < 120, "the timestamp is now: {ts}");
        assert_eq!(hit.headers["content-type"], "application/json");
        // Every retry carries the same bytes (only the timestamp and signature change).
        assert_eq!(hit.body, got[0].body);
        assert_eq!(hit.headers["x-sync-delivery"], got[0].headers["x-sync-delivery"]);
    }
    // Backoff: 1 s, then 2 s, from the schedule given.
    let (first, second) = (got[1].at - got[0].at, got[2].at - got[1].at);
    assert!(first >= Duration::from_millis(950), "first retry after {first:?}");
    assert!(second >= Duration::from_millis(1_950), "second retry after {second:?}");
    assert!(second > first);

    let body = json(&got[0]);
    assert_eq!(body["reason"], "run_failed");
    assert_eq!(body["workspace"]["id"], "acme");
    assert_eq!(body["run"]["id"], run.to_string());
    assert_eq!(
        body["run"]["url"],
        format!("https://sync.example.com/w/acme/settings/crm/sync-activity/runs/{run}")
    );
    assert_eq!(body["run"]["direction"], "inbound");
    assert_eq!(body["run"]["object_type"], "contact");
    assert_eq!(body["run"]["status"], "failed");
    assert_eq!(body["run"]["counts"]["failed"], 0);
    assert_eq!(body["message"]["code"], "authentication_failure");
    assert_eq!(body["message"]["title"], "Authentication failure");
    assert_eq!(body["message"]["detail"], "invalid_grant: expired access/refresh token");
    assert_eq!(body["folded"], 0);
    assert!(body["text"].as_str().unwrap().contains("Authentication failure"), "{body}");

    // Every attempt is recorded, as the Overview lists them (newest first).
    let view: serde_json::Value =
        admin.get(format!("{base}/api/alerts")).send().await.unwrap().json().await.unwrap();
    let attempts = view["attempts"].as_array().unwrap();
    let summary: Vec<(i64, i64, &str)> = attempts
        .iter()
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap(),
                a["status_code"].as_i64().unwrap(),
                a["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [(3, 200, "delivered"), (2, 500, "delivered"), (1, 500, "delivered")]);
    assert_eq!(attempts[0]["run_id"], run.to_string());
    assert_eq!(view["webhook"]["url"], url);

    // A test alert, at once, to the same receiver (which takes everything now).
    let test = admin.post(format!("{base}/api/alerts/test")).send().await.unwrap();
    assert_eq!(test.status(), 202);
    let tested =
        common::wait_for(Duration::from_secs(10), || async { hits.lock().unwrap().len() >= 4 })
            .await;
    assert!(tested, "the test alert arrived");
    let hit = hits.lock().unwrap()[3].clone();
    assert!(verifies(&secret, &hit));
    let body = json(&hit);
    assert_eq!((body["reason"].as_str(), body["run"].is_null()), (Some("test"), true));
    let _ = server.stop.send(());
}

#[tokio::test]
async fn alerts_of_one_message_fold_for_an_hour_into_one_digest() {
    let (url, hits) = receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let database = common::TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.open().await;
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&db, &ws, "Acme Inc.", 0).await.unwrap();
    let clock = ManualClock::now();
    let keyring = Keyring::ephemeral();
    let config =
        AlertsConfig { public_url: "https://sync.example.com".into(), ..AlertsConfig::default() };
    let alerts = Alerts::new(db.clone(), clock.clone(), keyring.clone(), config).unwrap();
    let input = app::domain::alerts::AlertSettingsInput {
        url,
        failed_threshold: 0,
        enabled: true,
        rotate_secret: false,
    };
    let now = || app::state::Clock::now_ms(&*clock);
    alerts_store::configure(&db, &keyring, &ws, &input, now()).await.unwrap();
    const MINUTE: i64 = 60_000;
    let auth = RunMessage::AuthenticationFailure;
    let sent = || hits.lock().unwrap().iter().map(json).collect::<Vec<_>>();

    clock.advance(MINUTE);
    let first = failed_run(&db, &ws, now(), auth).await;
    clock.advance(MINUTE);
    alerts.round().await.unwrap();
    assert_eq!(sent().len(), 1);
    assert_eq!(sent()[0]["run"]["id"], first.to_string());

    // Ten minutes on: the same message again is held back; another message goes at once.
    clock.advance(10 * MINUTE);
    failed_run(&db, &ws, now(), auth).await;
    let limit = failed_run(&db, &ws, now() + 1_000, RunMessage::ApiLimitExceeded).await;
    clock.advance(MINUTE);
    alerts.round().await.unwrap();
    assert_eq!(sent().len(), 2);
    assert_eq!(sent()[1]["run"]["id"], limit.to_string());
    clock.advance(10 * MINUTE);
    let latest = failed_run(&db, &ws, now(), auth).await;
    clock.advance(MINUTE);
    alerts.round().await.unwrap();
    assert_eq!(sent().len(), 2, "held back within the hour");

    // The hour since the first alert is over: one digest about the latest, standing for the
    // other one held back.
    clock.advance(40 * MINUTE);
    alerts.round().await.unwrap();
    let all = sent();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["run"]["id"], latest.to_string());
    assert_eq!(all[2]["folded"], 1);
    assert!(all[2]["text"].as_str().unwrap().contains("and 1 more"), "{}", all[2]);

    // The digest opened the next hour: another failure now waits for its end.
    clock.advance(5 * MINUTE);
    failed_run(&db, &ws, now(), auth).await;
    clock.advance(MINUTE);
    alerts.round().await.unwrap();
    assert_eq!(sent().len(), 3);
    let kept = deliveries::deliveries(&db, &ws).await.unwrap();
    assert_eq!(kept.iter().map(|d| d.folded).collect::<Vec<_>>(), [0, 0, 1]);
    assert!(kept.iter().all(|d| d.state == app::domain::alerts::DeliveryState::Delivered));
    drop(database);
}
