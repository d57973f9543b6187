//! kill -9 and restart: the `server` binary syncs with a local org (configured by the
//! `SALESFORCE_*` environment, as a real org would be) and is killed mid-backfill and mid-push.
//! After each restart, the runs left in progress are failed with a clear message, and syncing
//! resumes from the last committed batch: every org record reported once, Conversion's data equal
//! to what an uninterrupted sync of the same org makes, every pushed change in the org exactly once.

use app::store::Db;
use server::fake_org::{self, FakeOrg, FaultCommand, OrgConfig};
use server::salesforce::Record;
use server::sync::mapping::INBOUND_ORDER;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::outcomes::{
    backfills_done, caught_up, conversion_data, inbound_outcomes, observe, scalar,
};
use common::uninterrupted_reference;
use common::{org_env, wait_for, ServerProcess, TestDatabase};

const INTERRUPTED: &str = "The server stopped while this batch was running";

/// The failed runs of `direction` with how many records each kept, after checking that each says
/// so: the records it had saved before the kill, which stay (and are not synced again: the
/// comparison with the uninterrupted sync shows every record once).
async fn interrupted_runs(db: &Db, direction: &str) -> Vec<(String, i64)> {
    let rows: Vec<(String, String, i64, Option<i64>)> = app::on_db!(db, |p| {
        sqlx::query_as(
        "SELECT failure_code, failure_detail, (SELECT COUNT(*) FROM run_records r WHERE r.run_id = s.id), expected_total \
         FROM sync_runs s WHERE status = 'failed' AND direction = $1",
    )
    .bind(direction)
    .fetch_all(p)
    .await
    .unwrap()
    });
    let (things, again) =
        if direction == "inbound" { ("records", "synced") } else { ("changes", "pushed") };
    rows.into_iter()
        .map(|(code, detail, kept, expected)| {
            assert_eq!(code, "unknown_error", "{detail}");
            assert!(detail.starts_with(INTERRUPTED), "{detail}");
            assert!(
                !detail.contains("synced again"),
                "no claim that saved records are synced again: {detail}"
            );
            let kept_text = app::domain::format_count(kept);
            let says = match expected {
                _ if kept == 0 => {
                    detail.contains(", before ")
                        && detail.ends_with(&format!("They are {again} on the next run."))
                }
                Some(total) if kept >= total => {
                    detail.contains(&format!("after all {kept_text} of its {things}"))
                }
                Some(total) => {
                    detail.contains(&format!(
                        "after {kept_text} of its {} {things}",
                        app::domain::format_count(total)
                    )) && detail.ends_with(&format!("the rest are {again} on the next run."))
                }
                None => detail.contains(&format!("after {kept_text} of its {things}")),
            };
            assert!(says, "{detail:?} does not say that {kept} {things} were kept");
            (detail, kept)
        })
        .collect()
}

/// The server syncing with `org` as with a real org: its connected app and refresh token by
/// environment, a one-second schedule and small pages.
async fn start_server(org: &FakeOrg, db: &Path, dir: &Path) -> ServerProcess {
    let mut env = org_env(org);
    env.push(("SALESFORCE_REFRESH_TOKEN", org.credentials().refresh_token.clone()));
    env.push(("SYNC_INTERVAL_SECS", "1".into()));
    env.push(("SYNC_PAGE_SIZE", "200".into()));
    // Restarted under the same name, a server takes its work back at once rather than after the
    // lease it held runs out.
    env.push(("SYNC_INSTANCE_NAME", "restarted".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(db, dir, &[], &env).await
}

/// Starts the server on a fresh database against `org`, slowed down so the backfill takes a while,
/// and returns as soon as the backfill is in progress with `records` run records committed.
async fn start_mid_backfill(
    org: &FakeOrg,
    dir: &Path,
    records: i64,
) -> (ServerProcess, Db, TestDatabase) {
    org.apply_fault(FaultCommand::SetLatency { ms: 15 });
    let database = TestDatabase::new(dir.join("sync.db")).await;
    let server = start_server(org, database.path(), dir).await;
    let watch = observe(database.path()).await;
    let mid_backfill = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM run_records").await >= records
            && scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' AND direction = 'inbound'").await > 0
    })
    .await;
    assert!(mid_backfill, "caught the backfill in progress");
    (server, watch, database)
}

/// Every org record of `sobject` with `fields`, read over the wire.
async fn org_records(org: &FakeOrg, soql: &str) -> Vec<Record> {
    let client = org.client().unwrap();
    let mut stream = client.query::<Record>(soql);
    let mut all = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        all.extend(page.records);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_backfill_and_mid_push_the_restarted_server_loses_nothing_and_counts_nothing_twice(
) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records: 12_000, seed: 11, ..OrgConfig::default() })
            .await
            .unwrap();
    let reference = uninterrupted_reference(&org, &dir.path().join("reference.db")).await;
    let expected = conversion_data(&reference.db).await;
    assert!(expected.len() > 5_000, "the reference sync holds the org's records");

    // 1. Killed mid-backfill: some batches committed, a run in progress, backfills unfinished.
    let (first, watch, database) = start_mid_backfill(&org, dir.path(), 2_000).await;
    let db = database.path();
    first.kill_9();
    let committed_before = scalar(&watch, "SELECT COUNT(*) FROM run_records").await;
    assert!(
        backfills_done(&watch).await < INBOUND_ORDER.len() as i64,
        "killed before the backfill finished"
    );

    // 2. Restarted: the interrupted run is failed with its message, and the backfill completes.
    let second = start_server(&org, db, dir.path()).await;
    let interrupted = interrupted_runs(&watch, "inbound").await;
    assert!(!interrupted.is_empty(), "the run left in progress is marked failed");
    assert_eq!(
        interrupted.len() as i64,
        scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'").await,
        "only inbound runs were in progress"
    );
    assert!(
        interrupted.iter().any(|(_, kept)| *kept > 0),
        "the kill came after the interrupted run had saved records: {interrupted:?}"
    );
    assert!(caught_up(&watch).await, "the backfill completes after the restart");
    assert!(scalar(&watch, "SELECT COUNT(*) FROM run_records").await > committed_before);

    // No record lost, none counted twice: the same outcome for every org record as the reference,
    // exactly once, and Conversion's data identical to the uninterrupted sync's.
    let got = inbound_outcomes(&watch).await;
    let want = inbound_outcomes(&reference.db).await;
    let twice: Vec<_> = got.iter().filter(|(_, v)| v.len() > 1).take(5).collect();
    assert!(twice.is_empty(), "records reported more than once: {twice:?}");
    assert_eq!(got.len(), want.len(), "every org record reported");
    assert!(got == want, "the same outcome for every record as an uninterrupted sync");
    let (ok_records, conversion_rows) = (
        scalar(&watch, "SELECT COUNT(*) FROM run_records WHERE status = 'success'").await,
        conversion_data(&watch).await,
    );
    assert!(ok_records > 0);
    assert!(conversion_rows == expected, "Conversion's data equals the uninterrupted sync's");

    // 3. Killed mid-push: the org writes each batch at once but holds its answer, so the first
    // outbound batch is in flight, already in Salesforce, when the server dies.
    org.apply_fault(FaultCommand::SetLatency { ms: 0 });
    org.apply_fault(FaultCommand::DelayResponses { ms: 1_500 });
    let http = second.signed_in().await;
    let mut created = Vec::new();
    for i in 0..250 {
        let body = serde_json::json!({ "email": format!("restart.{i}@example.org"), "last_name": format!("Restart {i}") });
        let r = http
            .post(format!("{}/api/conversion/contacts", second.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        created.push(v["id"].as_str().unwrap().to_string());
    }
    // Killed once a push is in progress and the org has written records of it (answer held):
    // contacts in Salesforce whose ids Conversion has not stored. A run merely begun may not have
    // sent its request yet when the kill lands on a busy machine.
    let pushing =
        "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' AND direction = 'outbound'";
    let mid_push = wait_for(Duration::from_secs(30), || async {
        if scalar(&watch, pushing).await == 0 {
            return false;
        }
        let in_org = org_contacts(&org, &created);
        let unlinked: Vec<(String,)> = app::on_db!(&watch, |p| {
            sqlx::query_as("SELECT id FROM conversion_contacts WHERE salesforce_id IS NULL")
                .fetch_all(p)
                .await
                .unwrap()
        });
        unlinked.iter().any(|(id,)| in_org.contains_key(id))
    })
    .await;
    assert!(mid_push, "caught a push in progress, its records written in the org");
    second.kill_9();
    assert!(
        scalar(&watch, "SELECT COUNT(*) FROM sync_outbox").await > 0,
        "changes still queued at the kill"
    );
    // The worst case: the request in flight still reaches the org, which writes the records, but
    // Conversion never learns their ids. Pushing them again must not create them twice.
    let written_unrecorded = wait_for(Duration::from_secs(5), || async {
        let in_org = org_records(
            &org,
            "SELECT Conversion_Id__c FROM Contact WHERE Conversion_Id__c != null",
        )
        .await;
        let mut any = false;
        for r in in_org {
            let id =
                r.get("Conversion_Id__c").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            if !created.contains(&id) {
                continue;
            }
            let (sf,): (Option<String>,) = app::on_db!(&watch, |p| sqlx::query_as(
                "SELECT salesforce_id FROM conversion_contacts WHERE id = $1"
            )
            .bind(&id)
            .fetch_one(p)
            .await
            .unwrap());
            any |= sf.is_none();
        }
        any
    })
    .await;
    assert!(written_unrecorded, "the org holds a pushed contact whose id Conversion never stored");

    // 4. Restarted: the changes are pushed again, each lands in the org exactly once (upsert by
    // Conversion's id), and each is reported once.
    org.apply_fault(FaultCommand::DelayResponses { ms: 0 });
    let _third = start_server(&org, db, dir.path()).await;
    let drained = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM sync_outbox").await == 0
            && scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress'").await
                == 0
    })
    .await;
    assert!(drained, "the outbox drains after the restart");
    let push_failed = interrupted_runs(&watch, "outbound").await;
    assert_eq!(push_failed.len(), 1, "the interrupted push is failed with its message");

    let in_org = org_records(
        &org,
        "SELECT Id, Email, Conversion_Id__c FROM Contact WHERE Conversion_Id__c != null",
    )
    .await;
    let mut by_conversion_id: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &in_org {
        let text = |f: &str| r.get(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        by_conversion_id
            .entry(text("Conversion_Id__c"))
            .or_default()
            .push((text("Id"), text("Email")));
    }
    for (i, id) in created.iter().enumerate() {
        let copies = by_conversion_id.get(id).cloned().unwrap_or_default();
        assert_eq!(copies.len(), 1, "{id}: exactly one Salesforce contact, got {copies:?}");
        assert_eq!(copies[0].1, format!("restart.{i}@example.org"));
        let (stored,): (Option<String>,) = app::on_db!(&watch, |p| sqlx::query_as(
            "SELECT salesforce_id FROM conversion_contacts WHERE id = $1"
        )
        .bind(id)
        .fetch_one(p)
        .await
        .unwrap());
        assert_eq!(
            stored.as_deref(),
            Some(copies[0].0.as_str()),
            "{id}: Conversion keeps the org's id"
        );
        let reported: Vec<(String,)> = app::on_db!(&watch, |p| sqlx::query_as(
            "SELECT r.action FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
             WHERE s.direction = 'outbound' AND r.conversion_id = $1 AND r.status = 'success'",
        )
        .bind(id)
        .fetch_all(p)
        .await
        .unwrap());
        // A contact new in Conversion is a create, even when the interrupted push had already
        // created it and the push after the restart found it there.
        assert_eq!(reported, vec![("created".to_string(),)], "{id}: reported once, as created");
    }
    org.shutdown().await;
}

/// The org's Contact rows carrying one of `conversion_ids`, deleted ones included: Conversion id →
/// (Salesforce id, in the recycle bin).
fn org_contacts(org: &FakeOrg, conversion_ids: &[String]) -> BTreeMap<String, Vec<(String, bool)>> {
    org.with_store(|s| {
        let t = s.table("Contact").unwrap();
        let field = t.def.field_index("Conversion_Id__c").unwrap();
        let mut all: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
        for (i, row) in t.rows.iter().enumerate() {
            if let Some(c) =
                row.own(field).as_text().filter(|c| conversion_ids.iter().any(|id| id == c))
            {
                all.entry(c.to_string()).or_default().push((t.id_of(i as u32), row.deleted));
            }
        }
        all
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_deleted_while_their_create_is_in_flight_and_killed_there_are_deleted_in_salesforce_after_the_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records: 1_500, seed: 13, ..OrgConfig::default() })
            .await
            .unwrap();
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();
    let first = start_server(&org, db, dir.path()).await;
    let watch = observe(db).await;
    assert!(caught_up(&watch).await, "the backfill is done: later inbound syncs are incremental");
    let companies: Vec<(String,)> = app::on_db!(&watch, |p| {
        sqlx::query_as(
        "SELECT id FROM conversion_companies WHERE salesforce_id IS NOT NULL ORDER BY id LIMIT 4",
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    assert_eq!(companies.len(), 4);

    // The org writes the push at once and holds its answer: the creates are in Salesforce, their
    // ids not yet in Conversion, when the contacts are deleted and the server is killed. Half of
    // them have an account, which is what would bring them back with an inbound sync; two more
    // contacts are created and kept, and must show as created once.
    org.apply_fault(FaultCommand::DelayResponses { ms: 5_000 });
    let http = first.signed_in().await;
    let create = |body: serde_json::Value| {
        let (http, url) = (http.clone(), format!("{}/api/conversion/contacts", first.base));
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201);
            let v: serde_json::Value = r.json().await.unwrap();
            v["id"].as_str().unwrap().to_string()
        }
    };
    // A first contact's push holds the worker, so the ten that follow go in one batch after it.
    let primer = create(
        serde_json::json!({ "email": "kill.flight.primer@example.org", "last_name": "Primer" }),
    )
    .await;
    let held = wait_for(Duration::from_secs(30), || async {
        org_contacts(&org, std::slice::from_ref(&primer)).len() == 1
    })
    .await;
    assert!(held, "the first push is in flight");
    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
    for i in 0..10 {
        let company = (i % 2 == 0).then(|| companies[i % 4].0.clone());
        let body = serde_json::json!({ "email": format!("kill.flight.{i}@example.org"), "last_name": format!("Flight {i}"), "company_id": company });
        let id = create(body).await;
        if i < 8 {
            deleted.push(id)
        } else {
            kept.push(id)
        }
    }
    let all: Vec<String> = deleted.iter().chain(&kept).cloned().collect();
    let written =
        wait_for(Duration::from_secs(30), || async { org_contacts(&org, &all).len() == all.len() })
            .await;
    assert!(written, "the org wrote the creates; their answer is held");
    for id in &deleted {
        let r = http
            .delete(format!("{}/api/conversion/contacts/{id}", first.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let unknown = scalar(
        &watch,
        "SELECT COUNT(*) FROM sync_outbox WHERE operation = 'delete' AND salesforce_id IS NULL",
    )
    .await;
    assert_eq!(
        unknown, 8,
        "the deletes were queued while the creates were in flight, with no Salesforce id"
    );
    first.kill_9();
    org.apply_fault(FaultCommand::DelayResponses { ms: 0 });

    let _second = start_server(&org, db, dir.path()).await;
    let drained = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM sync_outbox").await == 0
            && scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress'").await
                == 0
    })
    .await;
    assert!(drained, "the outbox drains after the restart");

    // Salesforce holds none of the deleted contacts live, and keeps the others once.
    let in_org = org_contacts(&org, &all);
    for id in &deleted {
        let rows = &in_org[id];
        assert!(rows.iter().all(|(_, gone)| *gone), "{id}: deleted in Salesforce, got {rows:?}");
    }
    for id in &kept {
        assert_eq!(in_org[id].len(), 1, "{id}: one Salesforce contact");
        assert!(!in_org[id][0].1, "{id}: kept");
    }
    // The activity shows each delete, with the Salesforce id it deleted, and each kept contact
    // as created, once.
    for id in &all {
        let reported: Vec<(String, String, Option<String>)> = app::on_db!(&watch, |p| {
            sqlx::query_as(
            "SELECT r.action, r.status, r.salesforce_id FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
             WHERE s.direction = 'outbound' AND r.conversion_id = $1 ORDER BY s.started_at, s.id, r.seq",
        )
        .bind(id)
        .fetch_all(p)
        .await
        .unwrap()
        });
        let sf = Some(in_org[id][0].0.clone());
        let want =
            if deleted.contains(id) { ("deleted", "success") } else { ("created", "success") };
        assert_eq!(reported.len(), 1, "{id}: one outbound record, got {reported:?}");
        assert_eq!((reported[0].0.as_str(), reported[0].1.as_str()), want, "{id}");
        assert_eq!(reported[0].2, sf, "{id}: the record names the Salesforce contact");
    }

    // The next inbound sync sees the deletes and brings none of them back.
    let sf_ids: Vec<String> = deleted.iter().map(|id| in_org[id][0].0.clone()).collect();
    let seen = wait_for(Duration::from_secs(60), || async {
        let rows: Vec<(String,)> = app::on_db!(&watch, |p| sqlx::query_as(
            "SELECT r.salesforce_id FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
             WHERE s.direction = 'inbound' AND s.object_type = 'contact' AND r.action = 'deleted' AND r.salesforce_id IS NOT NULL",
        )
        .fetch_all(p)
        .await
        .unwrap());
        sf_ids.iter().all(|sf| rows.iter().any(|(r,)| r == sf))
    })
    .await;
    assert!(seen, "an inbound sync has read the deletes");
    // GLOB on SQLite; SIMILAR TO on PostgreSQL, where `.` is a dot too and `[0-7]` a class.
    let matches = if watch.is_postgres() { "SIMILAR TO" } else { "GLOB" };
    let back = scalar(
        &watch,
        &format!(
            "SELECT COUNT(*) FROM conversion_contacts WHERE email {matches} 'kill.flight.[0-7]@example.org'"
        ),
    )
    .await;
    assert_eq!(back, 0, "no deleted contact is back in Conversion");
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_backfill_finishes_the_page_in_hand_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records: 6_000, seed: 12, ..OrgConfig::default() })
            .await
            .unwrap();
    let reference = uninterrupted_reference(&org, &dir.path().join("reference.db")).await;
    let (mut server, watch, database) = start_mid_backfill(&org, dir.path(), 1_000).await;
    let pid = server.pid().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the server exits after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a clean exit: {status:?}");
    // The run in hand was closed with what it committed: nothing is left in progress or failed.
    assert_eq!(
        scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status <> 'completed'").await,
        0
    );
    assert!(
        backfills_done(&watch).await < INBOUND_ORDER.len() as i64,
        "stopped before the backfill finished"
    );

    let _again = start_server(&org, database.path(), dir.path()).await;
    assert!(caught_up(&watch).await, "the backfill completes after the restart");
    assert!(
        inbound_outcomes(&watch).await == inbound_outcomes(&reference.db).await,
        "every record once, as uninterrupted"
    );
    assert!(conversion_data(&watch).await == conversion_data(&reference.db).await);
    org.shutdown().await;
}
