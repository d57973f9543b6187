//! Several `server` processes on one database share a workspace's sync work through leases: at
//! most one syncs an object at a time, a server killed mid-backfill has its work taken over once
//! its lease runs out (its run failed, naming it), and a server paused past its lease writes
//! nothing when it wakes. Every record ends up reported once, and Conversion's data equals an
//! uninterrupted sync's.

use app::store::Db;
use server::fake_org::{self, FakeOrg, FaultCommand, OrgConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

/// Each test runs several servers, an org and a backfill: run side by side on two cores they
/// starve each other's timing (a lease that should run out, a moment outside a write), so they
/// take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use common::outcomes::{caught_up, conversion_data, inbound_outcomes, observe, scalar};
use common::{org_env, uninterrupted_reference, wait_for, Reference, ServerProcess, TestDatabase};

/// Seconds a lease lasts unrenewed in these tests.
const LEASE_SECS: u64 = 3;

/// A server named `name` on `db`, syncing with `org` every second in small pages.
async fn start_named(org: &FakeOrg, db: &Path, dir: &Path, name: &str) -> ServerProcess {
    let mut env = org_env(org);
    env.push(("SALESFORCE_REFRESH_TOKEN", org.credentials().refresh_token.clone()));
    env.push(("SYNC_INTERVAL_SECS", "1".into()));
    env.push(("SYNC_PAGE_SIZE", "200".into()));
    env.push(("SYNC_INSTANCE_NAME", name.into()));
    env.push(("SYNC_LEASE_SECS", LEASE_SECS.to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(db, dir, &[], &env).await
}

/// The inbound work `name` holds now (a live lease), if any.
async fn held_by(watch: &Db, name: &str, now_ms: i64) -> Option<String> {
    app::on_db!(watch, |p| {
        sqlx::query_scalar(
        "SELECT work FROM sync_leases WHERE holder = $1 AND expires_at > $2 AND work LIKE 'inbound:%'",
    )
    .bind(name)
    .bind(now_ms)
    .fetch_optional(p)
    .await
    .unwrap()
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// No two runs of one object overlap: each is listed (its id's time) only after the one before
/// it ended, whichever server made them.
async fn assert_runs_never_overlap(watch: &Db) {
    let rows: Vec<(String, uuid::Uuid, i64)> = app::on_db!(watch, |p| sqlx::query_as(
        "SELECT object_type, id, COALESCE(finished_at, 0) FROM sync_runs \
         WHERE direction = 'inbound' ORDER BY object_type, id",
    )
    .fetch_all(p)
    .await
    .unwrap());
    let mut by_object: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (object, id, finished) in rows {
        // A UUIDv7's first 48 bits are its Unix milliseconds.
        let listed = id.as_bytes()[..6].iter().fold(0i64, |ms, b| ms << 8 | i64::from(*b));
        by_object.entry(object).or_default().push((listed, finished));
    }
    for (object, runs) in by_object {
        for pair in runs.windows(2) {
            let ((_, ended), (listed, _)) = (pair[0], pair[1]);
            assert!(
                ended > 0 && listed >= ended,
                "{object}: a run was listed at {listed} before the one before it ended at {ended}"
            );
        }
    }
}

/// SIGSTOPs `pid` at a moment it is not inside a write transaction and has a run open. SQLite has
/// one writer at a time: a process frozen inside a transaction holds the whole file's write lock,
/// and no other server can write (nor claim its work) until it wakes, whatever the leases say.
/// (On PostgreSQL the rows it wrote stay locked: no session of the database may be left idle in a
/// transaction.) Between two objects (the next one's `SELECT COUNT()` and first page
/// on their way) it has no run open, and the one taking over would have none to fail.
async fn stop_outside_a_write(pid: &str, db: &Path, watch: &Db) {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};
    // Each try stops it for a moment; a backfill spends most of its time inside a write, so it
    // may take a few hundred.
    for _ in 0..400 {
        assert!(Command::new("kill").args(["-STOP", pid]).status().unwrap().success());
        let mut free = match watch {
            Db::Sqlite(_) => {
                let mut probe = SqliteConnectOptions::new()
                    .filename(db)
                    .busy_timeout(Duration::from_millis(300))
                    .connect()
                    .await
                    .unwrap();
                let free = probe.execute("BEGIN IMMEDIATE").await.is_ok();
                if free {
                    probe.execute("ROLLBACK").await.unwrap();
                }
                probe.close().await.unwrap();
                free
            }
            Db::Postgres(pool) => {
                // A statement the stopped server sent on its own ends (and commits) without it;
                // a transaction it opened waits for it, "idle in transaction", holding its locks.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let writing: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                writing == 0
            }
        };
        if free {
            let open = scalar(
                watch,
                "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' AND direction = 'inbound'",
            )
            .await;
            free = open > 0;
        }
        if free {
            return;
        }
        assert!(Command::new("kill").args(["-CONT", pid]).status().unwrap().success());
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
    panic!("never caught the server outside a write with a run open");
}

/// A local org of `records`, synced once without interruption into a reference database, then
/// slowed down (15 ms a call) so that a backfill of it takes a while.
async fn slow_org_and_its_reference(
    records: usize,
    seed: u64,
) -> (tempfile::TempDir, FakeOrg, Reference) {
    let dir = tempfile::tempdir().unwrap();
    let org = org_with_records(records, seed).await;
    let reference = uninterrupted_reference(&org, &dir.path().join("reference.db")).await;
    org.apply_fault(FaultCommand::SetLatency { ms: 15 });
    (dir, org, reference)
}

/// Once every backfill is done: no two runs of one object overlapped, every record was reported
/// once with the same outcome as the uninterrupted sync, and Conversion holds the same data.
async fn assert_as_uninterrupted(watch: &Db, reference: &Db) {
    assert!(caught_up(watch).await, "every backfill completes");
    assert_runs_never_overlap(watch).await;
    let (got, want) = (inbound_outcomes(watch).await, inbound_outcomes(reference).await);
    let twice: Vec<_> = got.iter().filter(|(_, v)| v.len() > 1).take(5).collect();
    assert!(twice.is_empty(), "records reported more than once: {twice:?}");
    assert!(got == want, "the same outcome for every record as an uninterrupted sync");
    assert!(conversion_data(watch).await == conversion_data(reference).await);
}

async fn org_with_records(records: usize, seed: u64) -> FakeOrg {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake_org::start(listener, OrgConfig { records, seed, ..OrgConfig::default() }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_servers_backfill_is_finished_by_another_once_its_lease_runs_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (dir, org, reference) = slow_org_and_its_reference(8_000, 21).await;

    // Two servers on one database; the first is mid-backfill when the second joins.
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();
    let a = start_named(&org, db, dir.path(), "server-a").await;
    let watch = observe(db).await;
    let started = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM run_records").await >= 1_000
    })
    .await;
    assert!(started, "the first server is backfilling");
    let b = start_named(&org, db, dir.path(), "server-b").await;

    // Killed while holding an object's backfill (the second server cannot have taken it: the
    // first renews its lease) with a batch of it running: between two batches the lease is held
    // while the next page is fetched, and there is no run yet to be left behind.
    let holding = wait_for(Duration::from_secs(30), || async {
        match held_by(&watch, "server-a", now_ms()).await {
            Some(work) => {
                let object = work.trim_start_matches("inbound:").to_string();
                scalar(
                    &watch,
                    &format!(
                        "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' \
                         AND direction = 'inbound' AND object_type = '{object}'"
                    ),
                )
                .await
                    > 0
            }
            None => false,
        }
    })
    .await;
    assert!(holding, "the first server holds an object's sync");
    let work = held_by(&watch, "server-a", now_ms()).await.unwrap();
    a.kill_9();
    let killed_at = Instant::now();
    let records_at_kill = scalar(&watch, "SELECT COUNT(*) FROM run_records").await;

    // The second server takes it over once the lease runs out: the run left in progress fails,
    // naming the server that stopped, and the backfill goes on from the last commit.
    let taken_over = wait_for(Duration::from_secs(30), || async {
        scalar(
            &watch,
            "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed' \
             AND failure_detail LIKE 'The server server-a stopped while this batch was running%'",
        )
        .await
            > 0
    })
    .await;
    assert!(taken_over, "the killed server's run is failed by the one that took over {work}");
    let resumed = wait_for(Duration::from_secs(30), || async {
        scalar(&watch, "SELECT COUNT(*) FROM run_records").await > records_at_kill
    })
    .await;
    assert!(resumed, "the survivor commits records after the kill");
    eprintln!(
        "{work}: first batch committed by the survivor {:.1} s after the kill (lease {LEASE_SECS} s)",
        killed_at.elapsed().as_secs_f64()
    );
    let holder: String = app::on_db!(&watch, |p| sqlx::query_scalar(
        "SELECT COALESCE(holder, '') FROM sync_leases WHERE work = $1"
    )
    .bind(&work)
    .fetch_one(p)
    .await
    .unwrap());
    assert!(holder.is_empty() || holder == "server-b", "{work} is held by {holder:?}");
    assert_eq!(
        scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'").await,
        1,
        "only the run the kill interrupted failed"
    );

    assert_as_uninterrupted(&watch, &reference.db).await;

    // Operators see which server holds what: the survivor, or no one once the work is done.
    let cluster: serde_json::Value = b
        .signed_in()
        .await
        .get(format!("{}/api/cluster", b.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cluster["instance"], "server-b");
    let leases = cluster["leases"].as_array().unwrap();
    assert!(leases.iter().any(|l| l["work"] == work.as_str()), "{cluster}");
    assert!(
        leases.iter().all(|l| l["holder"].is_null() || l["holder"] == "server-b"),
        "the killed server holds nothing: {cluster}"
    );
    drop(b);
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_paused_past_its_lease_writes_nothing_when_it_wakes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (dir, org, reference) = slow_org_and_its_reference(6_000, 22).await;
    // Slower still: the server waits on the org outside its writes for longer than it writes, so
    // it can be caught there while a run is open (writing a page into PostgreSQL takes tens of
    // milliseconds, and the next page is fetched while one is written).
    org.apply_fault(FaultCommand::SetLatency { ms: 60 });

    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();
    let a = start_named(&org, db, dir.path(), "server-a").await;
    let watch = observe(db).await;
    let holding = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM run_records").await >= 600
            && held_by(&watch, "server-a", now_ms()).await.is_some()
    })
    .await;
    assert!(holding, "the first server is backfilling");

    // Frozen mid-backfill, with its run open and its lease running out.
    let pid = a.pid().to_string();
    stop_outside_a_write(&pid, db, &watch).await;
    let _b = start_named(&org, db, dir.path(), "server-b").await;
    let taken_over = wait_for(Duration::from_secs(30), || async {
        scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'").await > 0
    })
    .await;
    assert!(taken_over, "the second server takes the work over");
    let (frozen_run, kept): (uuid::Uuid, i64) = app::on_db!(&watch, |p| {
        sqlx::query_as(
        "SELECT id, (SELECT COUNT(*) FROM run_records r WHERE r.run_id = s.id) FROM sync_runs s \
         WHERE status = 'failed'",
    )
    .fetch_one(p)
    .await
    .unwrap()
    });

    // Woken: whatever it was about to write (records of its run, the cursor, the run's end) is
    // refused by the fence, so its run keeps what it had, and nothing is reported twice.
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, now_kept): (String, i64) = app::on_db!(&watch, |p| {
        sqlx::query_as(
        "SELECT status, (SELECT COUNT(*) FROM run_records r WHERE r.run_id = s.id) FROM sync_runs s \
         WHERE id = $1",
    )
    .bind(frozen_run)
    .fetch_one(p)
    .await
    .unwrap()
    });
    assert_eq!((status.as_str(), now_kept), ("failed", kept), "the woken server wrote to its run");

    assert_as_uninterrupted(&watch, &reference.db).await;
    drop(a);
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_written_through_another_server_is_pushed_within_about_a_second() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let org = org_with_records(300, 23).await;
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let db = database.path();
    let _a = start_named(&org, db, dir.path(), "server-a").await;
    let watch = observe(db).await;
    assert!(caught_up(&watch).await);

    // Another server's write: Conversion's own change, with its outbox row, on the same file. No
    // announcement reaches this server's worker; its poll of the outbox does.
    let input: server::conversion::changes::ContactInput = serde_json::from_value(
        serde_json::json!({ "email": "elsewhere@example.org", "last_name": "Elsewhere" }),
    )
    .unwrap();
    let ws = app::store::WorkspaceId("acme".into());
    let written = Instant::now();
    let id =
        server::conversion::changes::create_contact(&watch, &ws, &input, now_ms()).await.unwrap();
    let pushed = wait_for(Duration::from_secs(15), || async {
        let sf: Option<String> = app::on_db!(&watch, |p| sqlx::query_scalar(
            "SELECT salesforce_id FROM conversion_contacts WHERE id = $1"
        )
        .bind(&id)
        .fetch_one(p)
        .await
        .unwrap());
        sf.is_some()
    })
    .await;
    assert!(pushed, "the change reached Salesforce");
    eprintln!("pushed {:.2} s after another server wrote it", written.elapsed().as_secs_f64());
    org.shutdown().await;
}
