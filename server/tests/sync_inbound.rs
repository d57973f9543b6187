//! Inbound sync and what its runs say about themselves, with the store and the local org running
//! for real and its fault controls doing the breaking: one unreadable object fails only its own
//! run, connection failures pause the whole pass, the daily limit's pause ends when the org's
//! limit allows, a run's duration covers the wait for Salesforce, a run of several pages shows
//! its progress while it runs.

use app::domain::{ObjectType, Trigger};
use app::store::Db;
use server::fake_org::{FakeOrg, FaultCommand};
use server::sync::inbound::{self, InboundOutcome};
use server::sync::mapping::INBOUND_ORDER;
use server::sync::scheduler::{self, Pass};
use server::sync::{state, EngineConfig};
use std::time::Duration;

mod common;
use common::outcomes::scalar;
use common::{setup, wait_for, Setup};

/// (trigger, status, records, failure code, started_at, finished_at) of every inbound run of an
/// object, oldest first.
type RunRow = (String, String, i64, Option<String>, i64, Option<i64>);

async fn runs(db: &Db, object: ObjectType) -> Vec<RunRow> {
    app::on_db!(db, |p| {
        sqlx::query_as(
        "SELECT trigger, status, created + updated + deleted + skipped + failed, failure_code, started_at, finished_at \
         FROM sync_runs WHERE object_type = $1 AND direction = 'inbound' ORDER BY id",
    )
    .bind(object.as_str())
    .fetch_all(p)
    .await
    .unwrap()
    })
}

/// Sets SystemModstamp of the first `n` live rows of `sobject` to now, as an edit would.
fn touch(org: &FakeOrg, sobject: &str, n: usize) {
    let now = chrono::Utc::now().timestamp_millis();
    org.with_store_mut(|s| {
        for row in s.table_mut(sobject).unwrap().rows.iter_mut().filter(|r| !r.deleted).take(n) {
            row.modified = now;
        }
    });
}

#[tokio::test]
async fn an_unreadable_object_fails_its_own_run_and_the_pass_syncs_every_other_object() {
    let s = setup(3_000, EngineConfig::default()).await;
    s.org.apply_fault(FaultCommand::MakeUnreadable { object: "Contact".into() });
    assert_eq!(scheduler::inbound_pass(&s.engine, None, Trigger::Scheduled).await, Pass::Done);

    let contact = runs(&s.pool, ObjectType::Contact).await;
    assert_eq!(contact.len(), 1, "{contact:?}");
    assert_eq!(
        (contact[0].1.as_str(), contact[0].2, contact[0].3.as_deref()),
        ("failed", 0, Some("insufficient_permissions"))
    );
    assert_eq!(
        state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap(),
        state::Cursor::default(),
        "nothing of it is skipped"
    );
    // Leads, opportunities, contact roles and events come after contacts: each is attempted, and
    // its backfill completes.
    for object in INBOUND_ORDER.into_iter().filter(|o| *o != ObjectType::Contact) {
        let r = runs(&s.pool, object).await;
        assert!(
            !r.is_empty() && r.iter().all(|x| x.1 == "completed" && x.2 > 0),
            "{object}: {r:?}"
        );
        assert!(
            state::load_cursor(&s.pool, &s.ws, object).await.unwrap().backfill_done,
            "{object}"
        );
    }
    // Nothing about the connection changed: the next pass runs, and with Contact readable again
    // its backfill is done too.
    assert!(s.engine.may_call().await.unwrap());
    s.org.apply_fault(FaultCommand::MakeReadable { object: "Contact".into() });
    assert_eq!(scheduler::inbound_pass(&s.engine, None, Trigger::Scheduled).await, Pass::Done);
    let contact = runs(&s.pool, ObjectType::Contact).await;
    assert!(contact[1..].iter().all(|x| x.0 == "backfill" && x.1 == "completed"), "{contact:?}");
    assert!(state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap().backfill_done);
    s.org.shutdown().await;
}

#[tokio::test]
async fn connection_failures_pause_the_whole_pass() {
    let s = setup(1_000, EngineConfig::default()).await;
    // The daily limit: the first object's run fails, and no other object is attempted.
    s.org.apply_fault(FaultCommand::ExhaustDailyLimit);
    assert_eq!(scheduler::inbound_pass(&s.engine, None, Trigger::Scheduled).await, Pass::Paused);
    let first = runs(&s.pool, INBOUND_ORDER[0]).await;
    assert_eq!(
        first.iter().map(|x| (x.1.as_str(), x.3.as_deref())).collect::<Vec<_>>(),
        vec![("failed", Some("api_limit_exceeded"))]
    );
    for object in &INBOUND_ORDER[1..] {
        assert!(runs(&s.pool, *object).await.is_empty(), "{object} was not attempted");
    }
    // Authentication: the same.
    s.org.apply_fault(FaultCommand::ResetDailyLimit);
    s.engine.reconnected().await.unwrap();
    s.org.apply_fault(FaultCommand::RevokeTokens);
    s.org.apply_fault(FaultCommand::ExpireSessions);
    assert_eq!(scheduler::inbound_pass(&s.engine, None, Trigger::Scheduled).await, Pass::Paused);
    let first = runs(&s.pool, INBOUND_ORDER[0]).await;
    assert_eq!(first.last().and_then(|x| x.3.as_deref()), Some("authentication_failure"));
    for object in &INBOUND_ORDER[1..] {
        assert!(runs(&s.pool, *object).await.is_empty(), "{object} was not attempted");
    }
    s.org.shutdown().await;
}

#[tokio::test]
async fn a_runs_duration_covers_every_fetch_of_its_batch() {
    // Backfill runs of 400 records fetched in pages of 200: two fetches a full run.
    const PAGE: i64 = 200;
    let config = EngineConfig {
        backfill_batch_size: 400,
        page_size: PAGE as u32,
        ..EngineConfig::default()
    };
    let s = setup(3_000, config).await;
    let latency: i64 = 150;
    s.org.apply_fault(FaultCommand::SetLatency { ms: latency as u64 });
    for object in [ObjectType::Company, ObjectType::Contact] {
        let out = inbound::sync_object(&s.engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none() && out.backfill_finished, "{object}");
    }
    let backfill = runs(&s.pool, ObjectType::Contact).await;
    assert!(backfill.len() >= 2, "several runs: {backfill:?}");
    for (_, status, records, _, started, finished) in &backfill {
        assert_eq!(status, "completed");
        // Each of its pages waited `latency` at the org, one after the other, between the start
        // of its first fetch and its last write.
        let fetches = (records + PAGE - 1) / PAGE;
        let duration = finished.unwrap() - started;
        assert!(
            duration >= fetches * latency,
            "{records} records in {fetches} fetches of {latency} ms took {duration} ms"
        );
    }

    // A scheduled sync of a few edited contacts: one fetch, and its run lasts at least as long.
    touch(&s.org, "Contact", 20);
    let out =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert_eq!((out.runs.len(), out.records), (1, 20));
    let (trigger, _, records, _, started, finished) =
        runs(&s.pool, ObjectType::Contact).await.pop().unwrap();
    assert_eq!((trigger.as_str(), records), ("scheduled", 20));
    assert!(
        finished.unwrap() - started >= latency,
        "one fetch of {latency} ms, a run of {} ms",
        finished.unwrap() - started
    );
    s.org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_daily_limit_resets_syncing_resumes_long_before_the_pause_ends() {
    // An hour's pause and an hour's schedule: only the check of `/limits` can bring syncing back
    // within this test.
    let config = EngineConfig {
        limit_pause: Duration::from_secs(3_600),
        limit_check_every: Duration::from_millis(100),
        interval: Duration::from_secs(3_600),
        ..EngineConfig::default()
    };
    let s = setup(1_000, config).await;
    let creds = s.org.credentials();
    server::sync::connection::on_start(
        &s.engine,
        &creds.instance_url,
        Some(&creds.username),
        Some(&creds.refresh_token),
    )
    .await
    .unwrap();
    s.org.apply_fault(FaultCommand::ExhaustDailyLimit);
    let loops = [
        tokio::spawn(scheduler::run_inbound(s.engine.clone())),
        tokio::spawn(server::sync::usage::track_api_usage(
            s.engine.clone(),
            Duration::from_millis(20),
        )),
    ];
    let paused = wait_for(Duration::from_secs(30), || async {
        runs(&s.pool, INBOUND_ORDER[0])
            .await
            .iter()
            .any(|r| r.3.as_deref() == Some("api_limit_exceeded"))
    })
    .await;
    assert!(paused, "the first run fails with API limit exceeded");
    let paused_until = state::connection(&s.pool, &s.ws)
        .await
        .unwrap()
        .limit_paused_until
        .expect("the sync is paused");
    // Rate limits shows the limit used up, as the org says.
    let (_, max) = s.org.daily_api_usage();
    let shown = || async {
        app::store::connection_view(&s.pool, &s.ws).await.unwrap().api.map(|a| (a.used, a.max))
    };
    assert!(
        wait_for(Duration::from_secs(10), || async {
            shown().await == Some((max as i64, max as i64))
        })
        .await
    );

    // The org's rolling 24 hours move on: requests to spare again.
    s.org.apply_fault(FaultCommand::ResetDailyLimit);
    let backfilled = wait_for(Duration::from_secs(60), || async {
        let (done,): (i64,) = app::on_db!(&s.pool, |p| sqlx::query_as(
            "SELECT COUNT(*) FROM sync_cursors WHERE backfill_done = 1"
        )
        .fetch_one(p)
        .await
        .unwrap());
        done == INBOUND_ORDER.len() as i64
    })
    .await;
    assert!(backfilled, "every object syncs once the limit allows");
    let resumed = runs(&s.pool, INBOUND_ORDER[0])
        .await
        .into_iter()
        .find(|r| r.1 == "completed")
        .expect("a completed run");
    assert!(
        resumed.4 < paused_until,
        "resumed at {} although the pause lasted until {paused_until}",
        resumed.4
    );
    assert_eq!(
        state::connection(&s.pool, &s.ws).await.unwrap().limit_paused_until,
        None,
        "the pause is lifted"
    );
    // Nothing calls Salesforce any more (an hour's schedule, no pause): Rate limits shows the
    // org's own count of the requests made since the reset.
    let real = wait_for(Duration::from_secs(10), || async {
        let (used, max) = s.org.daily_api_usage();
        shown().await == Some((used as i64, max as i64))
    })
    .await;
    let (used, _) = s.org.daily_api_usage();
    assert!(real, "Rate limits shows {:?}, the org counts {used} of {max}", shown().await);
    assert!(used > 0 && used < max);
    s.engine.cancel_token().cancel();
    for l in loops {
        l.await.unwrap();
    }
    s.org.shutdown().await;
}

/// Syncs contacts while reading what the list and the run page read (the newest contact run's
/// row) every `every`: the counts an in-progress run showed, each once, and the sync's outcome.
async fn contact_sync_watched(s: &Setup, every: Duration) -> (Vec<i64>, InboundOutcome) {
    let engine = s.engine.clone();
    let sync = tokio::spawn(async move {
        inbound::sync_object(&engine, ObjectType::Contact, Trigger::Scheduled).await
    });
    let filters =
        app::domain::RunFilters { object_type: Some(ObjectType::Contact), ..Default::default() };
    let mut seen: Vec<i64> = Vec::new();
    while !sync.is_finished() {
        if let Some(run) =
            app::store::list_runs(&s.pool, &s.ws, &filters, 1).await.unwrap().runs.pop()
        {
            if run.status == app::domain::RunStatus::InProgress
                && seen.last() != Some(&run.counts.processed())
            {
                seen.push(run.counts.processed());
            }
        }
        if every.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(every).await;
        }
    }
    (seen, sync.await.unwrap().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_several_pages_shows_its_records_while_it_runs() {
    // One backfill run of every contact (about 900), fetched in pages of 200 from an org that
    // takes 200 ms to answer each.
    let config = EngineConfig { page_size: 200, ..EngineConfig::default() };
    let s = setup(3_000, config).await;
    s.org.apply_fault(FaultCommand::SetLatency { ms: 200 });
    let (seen, out) = contact_sync_watched(&s, Duration::from_millis(10)).await;
    assert_eq!(out.runs.len(), 1);
    let total = out.records as i64;
    let between: Vec<i64> = seen.iter().copied().filter(|n| *n > 0 && *n < total).collect();
    assert!(between.len() >= 2, "the run showed {seen:?} on its way to {total}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "counts only grow: {seen:?}");
    s.org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_one_page_shows_its_records_while_it_is_written() {
    // About 900 contacts come in one page (pages of 2,000) and one backfill run; they are written
    // in slices of 100, and the run's row shows each slice as it commits.
    let config = EngineConfig { commit_size: 100, ..EngineConfig::default() };
    let s = setup(3_000, config).await;
    let (seen, out) = contact_sync_watched(&s, Duration::ZERO).await;
    assert_eq!(out.runs.len(), 1);
    let total = out.records as i64;
    assert!(total > 500 && total < 2_000, "one page: {total} records");
    let between: Vec<i64> = seen.iter().copied().filter(|n| *n > 0 && *n < total).collect();
    assert!(between.len() >= 2, "the run showed {seen:?} on its way to {total}");
    assert!(between.iter().all(|n| n % 100 == 0), "counts move by whole slices: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "counts only grow: {seen:?}");
    s.org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_writing_is_slow_a_page_commits_in_smaller_slices() {
    // Pages of 2,000 may commit whole, but progress is wanted every microsecond: every slice
    // after the first takes longer than that, so the page is written 100 records at a time.
    let config =
        EngineConfig { progress_every: Duration::from_micros(1), ..EngineConfig::default() };
    let s = setup(3_000, config).await;
    let (seen, out) = contact_sync_watched(&s, Duration::ZERO).await;
    let total = out.records as i64;
    let between: Vec<i64> = seen.iter().copied().filter(|n| *n > 0 && *n < total).collect();
    assert!(between.len() >= 2, "the run showed {seen:?} on its way to {total}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "counts only grow: {seen:?}");
    s.org.shutdown().await;
}

/// One Salesforce ID chosen by `sql` (its first column).
async fn one_id(db: &Db, sql: &str) -> String {
    let row: (String,) =
        app::on_db!(db, |p| sqlx::query_as(sql).fetch_one(p).await.expect("a record to delete"));
    row.0
}

/// `queryAll` brings every record deleted since the last sync, also those no sync ever brought: a
/// record made and deleted between two syncs, one deleted before the backfill read it. Their
/// deletion is not reported (Conversion had nothing to delete), and the cursor moves past them.
/// A deletion is reported when Conversion holds the record, and when a run told of it before
/// (a skipped record's story ends with it).
#[tokio::test]
async fn deletions_of_records_no_sync_brought_are_not_reported() {
    let s = setup(600, EngineConfig::default()).await;
    for object in [ObjectType::Company, ObjectType::Contact] {
        let out = inbound::sync_object(&s.engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.backfill_finished, "{object}: {:?}", out.failure);
    }
    let held = one_id(
        &s.pool,
        "SELECT salesforce_id FROM conversion_contacts WHERE salesforce_object = 'Contact' \
         AND salesforce_id IS NOT NULL ORDER BY salesforce_id LIMIT 1",
    )
    .await;
    let told = one_id(
        &s.pool,
        "SELECT r.salesforce_id FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
         WHERE s.object_type = 'contact' AND r.status = 'skipped' AND r.salesforce_id IS NOT NULL \
         AND r.salesforce_id NOT IN (SELECT salesforce_id FROM conversion_contacts \
                                     WHERE salesforce_id IS NOT NULL) \
         ORDER BY r.salesforce_id LIMIT 1",
    )
    .await;
    let now = chrono::Utc::now().timestamp_millis();
    let unheard = s.org.with_store_mut(|st| {
        let t = st.table_mut("Contact").unwrap();
        let ext = t.def.field_index("Conversion_Id__c").unwrap();
        for id in [&held, &told] {
            let r = t.find(id).unwrap();
            // Neither carries Conversion's id: what decides is what Conversion and its runs know.
            t.rows[r as usize].set(ext, server::fake_org::store::Value::Null);
            t.delete(r, now);
        }
        let made = t.insert(server::fake_org::store::Row::blank(&t.def, now));
        t.delete(made, now + 1);
        t.id_of(made)
    });

    let out =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert!(out.failure.is_none(), "{:?}", out.failure);
    let mut reported: Vec<(String, String, String)> = app::on_db!(&s.pool, |p| {
        sqlx::query_as(
        "SELECT r.salesforce_id, r.action, r.status FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
         WHERE s.object_type = 'contact' AND s.trigger = 'scheduled'",
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    reported.sort();
    let deleted = |id: &String| (id.clone(), "deleted".to_string(), "success".to_string());
    let mut want = vec![deleted(&held), deleted(&told)];
    want.sort();
    assert_eq!(reported, want, "{unheard} is not reported");
    let left = scalar(
        &s.pool,
        &format!("SELECT COUNT(*) FROM conversion_contacts WHERE salesforce_id = '{held}'"),
    )
    .await;
    assert_eq!(left, 0, "the contact Conversion held is deleted");
    let cursor = state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap();
    assert_eq!(cursor.position, Some((now + 1, unheard.clone())), "the cursor is past {unheard}");

    // The next sync reads the same deletions again (they are inside its overlap) and has nothing
    // new to tell: no run.
    let again =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert!(again.runs.is_empty() && again.failure.is_none(), "{again:?}");
}
