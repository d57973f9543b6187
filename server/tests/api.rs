//! The read API (the server functions behind the pages, documented in docs/API.md) over real HTTP
//! against the server binary: every filter, the cursors, the polls, and every kind of bad
//! parameter, which gets a note or a 4xx with a reason, never a 500.

use app::domain::{
    Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunFailure, RunId,
    RunMessage, Trigger,
};
use app::store::{self, NewRecord, NewRun, WorkspaceId};
use serde_json::Value;
use std::path::Path;

mod common;
use common::{ServerProcess, TestDatabase};

const HOUR: i64 = 3_600_000;

/// The server with no local org and no engine: it serves exactly what the database holds.
async fn start(db: &Path, dir: &Path) -> ServerProcess {
    ServerProcess::start(db, dir, &["--demo", "false", "--workspace-name", "Globex Ltd."], &[])
        .await
}

fn record(status: RecordStatus, message: Option<RecordMessage>) -> NewRecord {
    NewRecord {
        status,
        action: RecordAction::Updated,
        message,
        detail: message.map(|_| "detail".to_string()),
        salesforce_id: Some("0035g00000AbCdEAAV".into()),
        conversion_id: Some("con_1".into()),
        label: Some("ava@example.com".into()),
        external_created_at: Some(1_700_000_000_000),
        external_updated_at: Some(1_700_000_100_000),
    }
}

/// What the seeded history holds, newest last.
struct Seeded {
    ids: Vec<RunId>,
    /// The run with 120 records, some skipped with an invalid email.
    big: RunId,
    failed: RunId,
    in_progress: RunId,
    /// Start of the history, Unix ms.
    t0: i64,
}

/// Eight runs an hour apart ending three hours ago: inbound contacts, outbound companies, one
/// failed with the API limit, and the newest still in progress. That one is begun only once the
/// server runs (at start-up the server fails runs a previous process left in progress).
async fn seed(
    db: &Path,
    server_started: impl std::future::Future<Output = ServerProcess>,
) -> (Seeded, ServerProcess) {
    let pool = common::open_location(db).await;
    let ws = WorkspaceId("acme".into());
    let now = chrono::Utc::now().timestamp_millis();
    let t0 = now - 10 * HOUR;
    store::ensure_workspace(&pool, &ws, "Acme Inc.", t0).await.unwrap();
    let mut ids = Vec::new();
    let (mut big, mut failed, mut in_progress) = (None, None, None);
    let mut server = None;
    let mut server_started = Box::pin(server_started);
    for i in 0..8i64 {
        if i == 7 {
            server = Some(server_started.as_mut().await);
        }
        let (direction, object_type) = if i % 2 == 0 {
            (Direction::Inbound, ObjectType::Contact)
        } else {
            (Direction::Outbound, ObjectType::Company)
        };
        let trigger =
            if direction == Direction::Inbound { Trigger::Scheduled } else { Trigger::Push };
        let started_at = t0 + i * HOUR;
        let run = NewRun { direction, object_type, trigger, started_at, expected_total: None };
        let id = store::begin_run(&pool, &ws, &run).await.unwrap();
        let records: Vec<NewRecord> = if i == 2 {
            big = Some(id);
            (0..120)
                .map(|n| {
                    if n % 10 == 0 {
                        record(RecordStatus::Skipped, Some(RecordMessage::InvalidEmail))
                    } else {
                        record(RecordStatus::Success, None)
                    }
                })
                .collect()
        } else {
            vec![record(RecordStatus::Success, None)]
        };
        store::append_records(&pool, &ws, id, &records).await.unwrap();
        match i {
            5 => {
                let failure = RunFailure {
                    message: RunMessage::ApiLimitExceeded,
                    detail: "REQUEST_LIMIT_EXCEEDED".into(),
                };
                store::fail_run(&pool, &ws, id, started_at + 1_000, &failure).await.unwrap();
                failed = Some(id);
            }
            7 => in_progress = Some(id),
            _ => {
                store::finish_run(&pool, &ws, id, started_at + 2_000).await.unwrap();
            }
        }
        ids.push(id);
    }
    pool.close().await;
    let seeded = Seeded {
        ids,
        big: big.unwrap(),
        failed: failed.unwrap(),
        in_progress: in_progress.unwrap(),
        t0,
    };
    (seeded, server.expect("started before the last run"))
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path_and_query}", self.base)).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path_and_query}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// The ids of a `/api/runs` answer, and its notes.
    async fn runs(&self, query: &str) -> (Vec<String>, Vec<String>, Value) {
        let (status, body) = self.get(&format!("/api/runs?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        let ids = body["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        let notes = body["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        (ids, notes, body)
    }
}

fn ids_of(seeded: &Seeded, which: &[usize]) -> Vec<String> {
    which.iter().map(|i| seeded.ids[*i].to_string()).collect()
}

/// An RFC 3339 instant, for `from` / `to` (the `+` of an offset would need encoding; Z does not).
fn instant(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test]
async fn every_filter_cursor_and_bad_parameter_of_the_read_api() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();
    let (seeded, server) = seed(db, start(db, dir.path())).await;
    let api = Api { http: server.signed_in().await, base: server.base.clone() };

    // The whole list, newest first, with the document's shape.
    let (all, notes, body) = api.runs("").await;
    assert_eq!(all, ids_of(&seeded, &[7, 6, 5, 4, 3, 2, 1, 0]));
    assert!(notes.is_empty());
    assert_eq!(body["workspace_has_runs"], true);
    let newest = &body["runs"][0];
    assert_eq!(
        (newest["direction"].as_str(), newest["status"].as_str()),
        (Some("outbound"), Some("in_progress"))
    );
    assert_eq!(newest["counts"]["updated"], 1);

    // Each filter alone, then combined.
    assert_eq!(api.runs("direction=inbound").await.0, ids_of(&seeded, &[6, 4, 2, 0]));
    assert_eq!(api.runs("direction=outbound").await.0, ids_of(&seeded, &[7, 5, 3, 1]));
    assert_eq!(api.runs("direction=all").await.0, all);
    assert_eq!(api.runs("object=company").await.0, ids_of(&seeded, &[7, 5, 3, 1]));
    assert!(api.runs("object=opportunity").await.0.is_empty());
    assert_eq!(api.runs("status=failed").await.0, vec![seeded.failed.to_string()]);
    assert_eq!(api.runs("status=in_progress").await.0, vec![seeded.in_progress.to_string()]);
    assert_eq!(api.runs("status=completed&direction=outbound").await.0, ids_of(&seeded, &[3, 1]));
    assert_eq!(api.runs("message=invalid_email").await.0, vec![seeded.big.to_string()]);
    assert_eq!(api.runs("message=api_limit_exceeded").await.0, vec![seeded.failed.to_string()]);
    assert!(api.runs("message=invalid_email&direction=outbound").await.0.is_empty());
    let from = instant(seeded.t0 + 2 * HOUR);
    let to = instant(seeded.t0 + 5 * HOUR);
    assert_eq!(api.runs(&format!("from={from}&to={to}")).await.0, ids_of(&seeded, &[4, 3, 2]));
    assert_eq!(
        api.runs(&format!("from={from}&to={to}&direction=inbound&object=contact")).await.0,
        ids_of(&seeded, &[4, 2])
    );
    // A date is a whole day in the given zone: today and yesterday in UTC-10 hold every run.
    let today_far_west = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::west_opt(10 * 3600).unwrap())
        .date_naive();
    let yesterday = today_far_west.pred_opt().unwrap();
    let (days, notes, _) =
        api.runs(&format!("from={yesterday}&to={today_far_west}&tz=-10:00")).await;
    assert_eq!((days.len(), notes.len()), (8, 0), "{notes:?}");
    // The same by the zone's name (Honolulu keeps UTC-10 all year).
    let (days, notes, _) =
        api.runs(&format!("from={yesterday}&to={today_far_west}&tz=Pacific/Honolulu")).await;
    assert_eq!((days.len(), notes.len()), (8, 0), "{notes:?}");

    // Keyset cursors: the first page has nothing newer; from a run in the middle, older and newer
    // pages hold exactly the runs beyond it.
    assert_eq!(body["newer"], Value::Null);
    let (older, _, body) = api.runs(&format!("before={}", seeded.ids[4])).await;
    assert_eq!(older, ids_of(&seeded, &[3, 2, 1, 0]));
    assert_eq!(body["newer"].as_str(), Some(seeded.ids[3].to_string().as_str()));
    assert_eq!(body["older"], Value::Null);
    let (newer, _, _) = api.runs(&format!("after={}", seeded.ids[3])).await;
    assert_eq!(newer, ids_of(&seeded, &[7, 6, 5, 4]));

    // Bad values: ignored, one note each, the rest of the query still applies.
    let (ids, notes, _) = api
        .runs("direction=sideways&object=unicorns&from=yesterday&to=2026-13-45&tz=Mars&status=exploded&message=nope&before=123")
        .await;
    assert_eq!(ids, all);
    assert_eq!(notes.len(), 8, "{notes:?}");
    let (ids, notes, _) = api.runs("direction=inbound&object=unicorns").await;
    assert_eq!((ids, notes.len()), (ids_of(&seeded, &[6, 4, 2, 0]), 1));
    // A year typed half way into a date input (a pasted link that caught it), or one after next
    // year: the date is ignored with a note that says which years are read.
    let next = chrono::Datelike::year(&chrono::Utc::now()) + 1;
    let (ids, notes, _) = api.runs(&format!("from=0002-11-27&to={}-01-01", next + 1)).await;
    assert_eq!(ids, all);
    assert_eq!(
        notes,
        [
            format!(
                "Ignored start date \u{201c}0002-11-27\u{201d}: use a date from 2000 to {next}."
            ),
            format!(
                "Ignored end date \u{201c}{}-01-01\u{201d}: use a date from 2000 to {next}.",
                next + 1
            ),
        ]
    );
    // Unknown parameters are not the API's: ignored.
    assert_eq!(api.runs("colour=blue").await.0, all);

    // A parameter given twice cannot be read: 400 with a reason, as JSON.
    let (status, body) = api.get("/api/runs?direction=inbound&direction=outbound").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("direction"), "{body}");

    // The live list's poll: runs newer than the newest shown, and watched runs that moved.
    let (status, body) = api.get(&format!("/api/runs/poll?newest={}", seeded.ids[5])).await;
    assert_eq!(status, 200);
    let polled: Vec<&str> =
        body["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(polled, [seeded.ids[7].to_string(), seeded.ids[6].to_string()]);
    let (_, body) =
        api.get(&format!("/api/runs/poll?direction=inbound&newest={}", seeded.ids[5])).await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 1, "only the inbound one: {body}");
    let watch = format!("{}~1", seeded.in_progress);
    let (_, body) = api.get(&format!("/api/runs/poll?watch={watch}")).await;
    assert!(body["runs"].as_array().unwrap().is_empty(), "nothing moved: {body}");
    let (_, body) = api
        .get(&format!("/api/runs/poll?watch={},{}~0,garbage", seeded.failed, seeded.in_progress))
        .await;
    assert_eq!(body["runs"].as_array().unwrap().len(), 2, "{body}");
    let (status, body) = api.get("/api/runs/poll?newest=not-a-run&watch=~~").await;
    assert_eq!((status, body["runs"].as_array().unwrap().len()), (200, 0));

    // A run with its records, filtered by status and paged.
    let (status, body) = api.get(&format!("/api/run?id={}", seeded.big)).await;
    assert_eq!(status, 200);
    assert_eq!(body["run"]["counts"]["skipped"], 12);
    assert_eq!(body["records"].as_array().unwrap().len(), 50);
    assert_eq!(body["later"], 49);
    let (_, body) = api.get(&format!("/api/run?id={}&status=skipped", seeded.big)).await;
    let skipped = body["records"].as_array().unwrap();
    assert_eq!(skipped.len(), 12);
    assert!(
        skipped.iter().all(|r| r["status"] == "skipped" && r["message"] == "invalid_email"),
        "{body}"
    );
    let (_, body) = api.get(&format!("/api/run?id={}&after=49", seeded.big)).await;
    assert_eq!(body["records"][0]["seq"], 50);
    let (_, body) =
        api.get(&format!("/api/run?id={}&status=weird&after=-3&before=x", seeded.big)).await;
    assert_eq!(
        (body["records"].as_array().unwrap().len(), body["notes"].as_array().unwrap().len()),
        (50, 3),
        "{body}"
    );
    let (_, body) = api.get(&format!("/api/run?id={}", seeded.failed)).await;
    assert_eq!(body["run"]["failure"]["message"], "api_limit_exceeded");

    // Unknown and malformed run ids: 404 with null; a missing id: 400 with the reason.
    for id in [RunId::new_at(seeded.t0).to_string(), "not-a-run".into(), "%00".into()] {
        let (status, body) = api.get(&format!("/api/run?id={id}")).await;
        assert_eq!((status, body), (404, Value::Null), "{id}");
    }
    let (status, body) = api.get("/api/run").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("id"), "{body}");

    // The run's poll: current state and records after a position; bad numbers read as absent.
    let (status, body) =
        api.get(&format!("/api/run/poll?id={}&after=115&room=10", seeded.big)).await;
    assert_eq!(status, 200);
    let seqs: Vec<i64> =
        body["records"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [116, 117, 118, 119]);
    let (status, body) =
        api.get(&format!("/api/run/poll?id={}&after=abc&room=xyz", seeded.big)).await;
    assert_eq!((status, body["records"].as_array().unwrap().len()), (200, 0));
    assert_eq!(body["run"]["id"].as_str(), Some(seeded.big.to_string().as_str()));
    let (status, _) = api.get("/api/run/poll?id=nope&after=1").await;
    assert_eq!(status, 404);

    // The health card's body as the Overview renders it: the seeded window's numbers, as HTML.
    let (status, body) = api.get("/api/health/card").await;
    assert_eq!(status, 200);
    let html = body["html"].as_str().unwrap();
    assert!(html.contains("data-stat=\"runs-failed\"") && html.contains("<svg"), "{html}");
    assert_eq!(body["in_progress"], true, "the newest run is in progress");
    let (_, health) = api.get("/api/health").await;
    assert_eq!(health["health"]["runs_failed"], 1);
    assert_eq!(health["health"]["records_skipped"], 12);

    // The pages take the same parameters: bad ones give a note, not an error page.
    let page = |path: &str| {
        let url = format!("{}{path}", server.base);
        let http = api.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (status, html) =
        page("/settings/crm/sync-activity?status=exploded&message=nope&direction=a&direction=b")
            .await;
    assert_eq!(status, 200);
    assert!(html.contains("Ignored status"), "the page says what it ignored");
    assert!(html.contains("Globex Ltd."), "the product bar names the server's workspace");
    let (status, html) = page("/settings/crm/sync-activity?message=invalid_email").await;
    assert_eq!(status, 200);
    assert!(html.contains("Invalid email address"), "the page names the message it filters by");
    assert_eq!(page("/settings/crm/sync-activity/runs/not-a-run").await.0, 404);
    assert_eq!(page("/settings/crm/sync-activity/runs/%ZZ").await.0, 404);
}

#[tokio::test]
async fn a_form_body_that_is_not_utf8_is_a_bad_request_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let server = start(database.path(), dir.path()).await;
    let http = server.signed_in().await;
    // Latin-1 "Müller" and a stray continuation byte: not UTF-8, so not a form the server can read.
    let body: &[u8] = b"write_mode=upsert&excluded_domains=M\xfcller.example&interval_secs=\x80";
    let r = http
        .post(format!("{}/api/settings/save", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/json");
    let said: Value = r.json().await.unwrap();
    let error = said["error"].as_str().unwrap();
    assert!(
        error.contains("request body could not be read") && error.contains("invalid utf-8"),
        "{said}"
    );
    // Nothing was saved: read as a form, the body would have switched every write off.
    let (status, connection) = Api { http, base: server.base.clone() }.get("/api/connection").await;
    assert_eq!(status, 200);
    assert_eq!(connection["settings"]["write_contacts"], true, "{connection}");
}
