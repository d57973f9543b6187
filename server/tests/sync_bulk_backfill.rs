//! The backfill of objects past the Bulk threshold, through Bulk API 2.0 query jobs of the local
//! org over the wire: the same outcome as a REST backfill of the same org in one run per set of
//! results; a stop mid-job reads on from the same job; an expired job is replaced and nothing is
//! written twice; a job that fails or is aborted fails the run as a whole with the article's
//! message, and the next sync makes a new job.

use app::domain::{ObjectType, Trigger};
use app::store::Db;
use server::fake_org::FaultCommand;
use server::sync::inbound;
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{state, Engine, EngineConfig};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod common;

/// Asserts two maps are equal, showing only the entries that differ.
fn assert_same<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    got: BTreeMap<K, V>,
    want: BTreeMap<K, V>,
    what: &str,
) {
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| (k, v, got.get(k)))
        .take(5)
        .collect();
    let extra: Vec<_> = got.iter().filter(|(k, _)| !want.contains_key(*k)).take(5).collect();
    assert!(
        differ.is_empty() && extra.is_empty(),
        "{what}: (key, want, got) {differ:?}; extra {extra:?}"
    );
}
use common::outcomes::{conversion_data, inbound_outcomes, scalar};
use common::{setup, uninterrupted_reference, wait_for, Setup, TestDatabase};

/// Conversion's data and every record's outcome in `pool` are those of an uninterrupted REST
/// backfill of `org` into a database of its own: every record once, none lost.
async fn same_as_uninterrupted(org: &server::fake_org::FakeOrg, pool: &Db) {
    let dir = tempfile::tempdir().unwrap();
    same_as(pool, &uninterrupted_reference(org, &dir.path().join("rest.db")).await.db).await;
}

/// Conversion's data and every record's outcome in `pool` are `reference`'s.
async fn same_as(pool: &Db, reference: &Db) {
    assert_same(conversion_data(pool).await, conversion_data(reference).await, "Conversion's data");
    assert_same(
        inbound_outcomes(pool).await,
        inbound_outcomes(reference).await,
        "every record once",
    );
}

/// Past 1,000 records an object's backfill is a Bulk job, read in sets of 1,000.
const THRESHOLD: u64 = 1_000;
const SET: usize = 1_000;

fn bulk_config() -> EngineConfig {
    EngineConfig {
        bulk_threshold: Some(THRESHOLD),
        backfill_batch_size: SET,
        bulk_polling: server::salesforce::bulk::Polling {
            first: Duration::from_millis(50),
            ..Default::default()
        },
        ..EngineConfig::default()
    }
}

/// Backfill runs of `object`, and the records they hold, oldest first.
async fn backfill_runs(db: &Db, object: ObjectType) -> Vec<(String, i64)> {
    app::on_db!(db, |p| sqlx::query_as(
        "SELECT status, next_seq FROM sync_runs WHERE direction = 'inbound' AND object_type = $1 \
         AND trigger = 'backfill' ORDER BY id",
    )
    .bind(object.as_str())
    .fetch_all(p)
    .await
    .unwrap())
}

/// Records of each object in the org, as `SELECT COUNT()` counts them.
async fn org_counts(s: &Setup) -> std::collections::HashMap<ObjectType, u64> {
    let client = s.org.client().unwrap();
    let mut counts = std::collections::HashMap::new();
    for object in INBOUND_ORDER {
        let mut q =
            client.query::<serde_json::Value>(format!("SELECT COUNT() FROM {}", object.sobject()));
        q.next_page().await.unwrap();
        counts.insert(object, q.total_size().unwrap());
    }
    counts
}

async fn backfill_all(engine: &Engine) {
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none(), "{object}: {:?}", out.failure);
        let cursor = state::load_cursor(engine.pool(), engine.workspace(), object).await.unwrap();
        assert!(cursor.backfill_done, "{object}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_backfill_makes_one_run_per_set_with_the_same_outcome_as_rest_pages() {
    let s = setup(8_000, bulk_config()).await;
    let counts = org_counts(&s).await;
    let large: Vec<ObjectType> =
        counts.iter().filter(|(_, n)| **n > THRESHOLD).map(|(o, _)| *o).collect();
    assert!(large.len() >= 2, "the org has objects past the threshold: {counts:?}");
    let requests_before = s.org.requests_received();
    backfill_all(&s.engine).await;
    let requests = s.org.requests_received() - requests_before;

    for object in INBOUND_ORDER {
        let runs = backfill_runs(&s.pool, object).await;
        let n = counts[&object];
        if n > THRESHOLD {
            assert_eq!(
                runs.len() as u64,
                n.div_ceil(SET as u64),
                "{object}: one run per set: {runs:?}"
            );
            assert!(runs.iter().all(|(status, held)| status == "completed" && *held <= SET as i64));
        }
        assert_eq!(runs.iter().map(|(_, held)| *held as u64).sum::<u64>(), n, "{object}");
        let cursor = state::load_cursor(&s.pool, &s.ws, object).await.unwrap();
        assert!(
            cursor.backfill_done && cursor.bulk.is_none() && cursor.position.is_some(),
            "{object}: {cursor:?}"
        );
    }
    let bulk = s.org.bulk_stats();
    assert_eq!(bulk.jobs_made, large.len() as u64, "one job per large object");
    assert!(
        bulk.result_reads.iter().all(|(_, _, reads)| *reads == 1),
        "no set read twice: {bulk:?}"
    );
    // A finished job is deleted: Salesforce need not keep its results.
    let client = s.org.client().unwrap();
    for (job, _, _) in &bulk.result_reads {
        let gone = client.query_job(job).await;
        assert!(
            matches!(gone, Err(server::salesforce::SalesforceError::Api { status: 404, .. })),
            "{gone:?}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let reference = uninterrupted_reference(&s.org, &dir.path().join("rest.db")).await;
    let rest_requests = s.org.requests_received() - requests_before - requests;
    same_as(&s.pool, &reference.db).await;
    assert!(
        requests < rest_requests,
        "Bulk spent {requests} API requests, REST pages {rest_requests}"
    );
}

/// An engine on the same database and org as `s`'s, stopped by `cancel`.
fn engine_with(s: &Setup, cancel: CancellationToken) -> Engine {
    let creds = s.org.credentials();
    let client =
        server::salesforce::SalesforceClient::new(creds.client_config(), &creds.refresh_token)
            .unwrap();
    Engine::new(
        s.pool.clone(),
        s.ws.clone(),
        client,
        Arc::new(app::state::SystemClock),
        bulk_config(),
        None,
        cancel,
    )
}

/// Starts the Contact backfill and stops its engine once `sets` sets of its job are written.
async fn stopped_after(s: &Setup, sets: i64) {
    s.org.apply_fault(FaultCommand::SetLatency { ms: 40 });
    let cancel = CancellationToken::new();
    let engine = engine_with(s, cancel.clone());
    let sync = tokio::spawn(async move {
        inbound::sync_object(&engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap()
    });
    let pool = s.pool.clone();
    let mid_job = wait_for(Duration::from_secs(60), || async {
        scalar(
            &pool,
            "SELECT COUNT(*) FROM sync_runs WHERE object_type = 'contact' AND status = 'completed'",
        )
        .await
            >= sets
    })
    .await;
    assert!(mid_job, "the backfill got {sets} sets in");
    cancel.cancel();
    let out = sync.await.unwrap();
    assert!(!out.backfill_finished, "stopped mid-job");
    s.org.apply_fault(FaultCommand::SetLatency { ms: 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_stopped_mid_job_reads_on_from_the_same_job_and_writes_nothing_twice() {
    let s = setup(8_000, bulk_config()).await;
    backfill_all_but_contacts(&s).await;
    stopped_after(&s, 1).await;
    let cursor = state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap();
    let bulk = cursor.bulk.clone().expect("the job is in the cursor");
    assert!(bulk.job.is_some() && bulk.locator.is_some(), "{bulk:?}");
    let jobs_before = s.org.bulk_stats().jobs_made;

    let out =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert!(out.failure.is_none() && out.backfill_finished, "{:?}", out.failure);
    let stats = s.org.bulk_stats();
    assert_eq!(stats.jobs_made, jobs_before, "no second job");
    let job = bulk.job.unwrap().id;
    let reads: Vec<u32> =
        stats.result_reads.iter().filter(|(j, _, _)| *j == job).map(|(_, _, n)| *n).collect();
    // The set being written at the stop, and the one fetched beside it, are read again; no other.
    assert!(
        reads.iter().filter(|n| **n > 1).count() <= 2 && reads.iter().all(|n| *n <= 2),
        "{reads:?}"
    );
    // The other objects, as the scheduled pass syncs them.
    backfill_all(&s.engine).await;

    same_as_uninterrupted(&s.org, &s.pool).await;
}

/// Backfills the objects contacts do not depend on and those before them, so a contact's
/// outcome does not depend on when its company arrived.
async fn backfill_all_but_contacts(s: &Setup) {
    let out =
        inbound::sync_object(&s.engine, ObjectType::Company, Trigger::Scheduled).await.unwrap();
    assert!(out.backfill_finished, "{:?}", out.failure);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_job_is_replaced_and_nothing_is_lost_or_written_twice() {
    // Four sets of contacts: stopped after two, the job has a set it has not begun (with three,
    // the third, fetched beside the second, is often written before the stop lands).
    let s = setup(12_000, bulk_config()).await;
    backfill_all_but_contacts(&s).await;
    stopped_after(&s, 2).await;
    let jobs_before = s.org.bulk_stats().jobs_made;
    let written = scalar(&s.pool, "SELECT COUNT(*) FROM conversion_contacts").await;
    assert!(written > 0);

    s.org.apply_fault(FaultCommand::ExpireBulkJobs);
    let out =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert!(out.failure.is_none() && out.backfill_finished, "{:?}", out.failure);
    assert_eq!(s.org.bulk_stats().jobs_made, jobs_before + 1, "one new job");

    backfill_all(&s.engine).await;

    same_as_uninterrupted(&s.org, &s.pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_aborted_job_fails_the_run_as_a_whole_and_the_next_sync_makes_a_new_one() {
    let s = setup(8_000, bulk_config()).await;
    backfill_all_but_contacts(&s).await;
    for (fault, state) in [
        (
            FaultCommand::FailBulkJobs {
                count: 1,
                message: Some("InternalServerError : Retried more than 15 times".into()),
            },
            "Failed",
        ),
        (FaultCommand::AbortBulkJobs { count: 1 }, "Aborted"),
    ] {
        s.org.apply_fault(fault);
        let out =
            inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
        let failure = out.failure.expect("the run failed as a whole");
        assert_eq!(failure.message, app::domain::RunMessage::UnknownError);
        assert!(failure.detail.contains(state), "{}", failure.detail);
        let cursor = state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap();
        assert!(!cursor.backfill_done);
        assert!(
            cursor.bulk.as_ref().is_some_and(|b| b.job.is_none()),
            "the failed job is dropped: {cursor:?}"
        );
    }
    let runs = backfill_runs(&s.pool, ObjectType::Contact).await;
    assert_eq!(runs, vec![("failed".to_string(), 0), ("failed".to_string(), 0)]);

    let jobs_before = s.org.bulk_stats().jobs_made;
    let out =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
    assert!(out.failure.is_none() && out.backfill_finished, "{:?}", out.failure);
    assert_eq!(s.org.bulk_stats().jobs_made, jobs_before + 1);
}

/// The Contact job's committed place: (job id, locator, offset), from beside the server.
async fn contact_job(watch: &Db) -> Option<(String, Option<String>, i64)> {
    app::on_db!(watch, |p| sqlx::query_as(
        "SELECT bulk_job_id, bulk_locator, bulk_offset FROM sync_cursors \
         WHERE object_type = 'contact' AND bulk_job_id IS NOT NULL",
    )
    .fetch_optional(p)
    .await
    .unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_job_the_restarted_server_reads_on_from_the_same_job() {
    use common::outcomes::{caught_up, observe};
    use common::{org_env, ServerProcess};
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = server::fake_org::OrgConfig { records: 8_000, seed: 5, ..Default::default() };
    let org = server::fake_org::start(listener, config).await.unwrap();
    let reference = uninterrupted_reference(&org, &dir.path().join("rest.db")).await;

    let mut env = org_env(&org);
    env.push(("SALESFORCE_REFRESH_TOKEN", org.credentials().refresh_token.clone()));
    env.push(("SYNC_INTERVAL_SECS", "1".into()));
    env.push(("SYNC_BULK_THRESHOLD", THRESHOLD.to_string()));
    env.push(("SYNC_BACKFILL_BATCH_SIZE", SET.to_string()));
    env.push(("SYNC_INSTANCE_NAME", "restarted".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();

    // Killed once the Contact job has sets written and more to read.
    org.apply_fault(FaultCommand::SetLatency { ms: 40 });
    let first = ServerProcess::start(db, dir.path(), &[], &env).await;
    let watch = observe(db).await;
    let mid_job = wait_for(Duration::from_secs(60), || async {
        contact_job(&watch).await.is_some_and(|(_, locator, _)| locator.is_some())
    })
    .await;
    assert!(mid_job, "caught the Contact job with sets written");
    first.kill_9();
    let (job, locator, offset) = contact_job(&watch).await.expect("the job is in the cursor");
    let before = org.bulk_stats();
    org.apply_fault(FaultCommand::SetLatency { ms: 0 });

    let second = ServerProcess::start(db, dir.path(), &[], &env).await;
    assert!(caught_up(&watch).await, "the backfill completes after the restart");
    drop(second);
    let after = org.bulk_stats();
    let contact_jobs: Vec<&String> =
        after.objects.iter().filter(|(_, o)| *o == "Contact").map(|(id, _)| id).collect();
    assert_eq!(contact_jobs, vec![&job], "no second Contact job");
    // Sets before the committed locator were read once, before the kill; after the restart the
    // committed set is read again (its first {offset} records skipped), and the one fetched
    // beside it at the kill may be; nothing else is.
    let reads = |stats: &server::fake_org::bulk::BulkStats| -> BTreeMap<usize, u32> {
        stats.result_reads.iter().filter(|(j, _, _)| *j == job).map(|(_, o, n)| (*o, *n)).collect()
    };
    let (reads_before, reads_after) = (reads(&before), reads(&after));
    let read_again: Vec<usize> = reads_after
        .iter()
        .filter(|(set, n)| {
            **n > reads_before.get(*set).copied().unwrap_or(0) && reads_before.contains_key(*set)
        })
        .map(|(set, _)| *set)
        .collect();
    assert!(
        read_again.len() <= 2,
        "sets read again after the restart: {read_again:?} (locator {locator:?}, offset {offset})"
    );
    assert!(reads_after.values().all(|n| *n <= 2), "{reads_after:?}");

    let failed: Vec<(String,)> = app::on_db!(&watch, |p| {
        sqlx::query_as(
        "SELECT failure_detail FROM sync_runs WHERE status = 'failed' AND object_type = 'contact'",
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    assert!(failed.len() <= 1, "at most the run in progress at the kill failed: {failed:?}");
    same_as(&watch, &reference.db).await;
}
