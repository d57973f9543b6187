//! Storage that misbehaves, under the `server` binary: a database file whose pages were
//! overwritten, a write-ahead log that cannot be written for a while in the middle of a backfill
//! (as on a full or read-only disk), and the WAL a backfill leaves behind.
//!
//! The write failure is real: the WAL file is made immutable (`chattr +i`), so SQLite's writes to
//! it fail with EPERM even for root, which `chmod` would not stop. That needs root
//! (CAP_LINUX_IMMUTABLE) and a file system with the immutable flag (ext4, xfs, btrfs, tmpfs).

use app::domain::{Direction, ObjectType, RecordAction, RecordStatus, Trigger};
use app::store::{self, Db, NewRecord, NewRun, WorkspaceId};
use server::fake_org::{self, FaultCommand, OrgConfig};
use server::sync::mapping::INBOUND_ORDER;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::SqlitePool;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod common;
use common::uninterrupted_reference;
use common::{org_env, wait_for, ServerProcess};

/// A file made immutable: every write to it fails, as on a read-only or full disk. Made writable
/// again when dropped, also when the test fails, so its folder can be removed.
struct Frozen(PathBuf);

impl Frozen {
    fn new(path: &Path) -> Frozen {
        let out = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .output()
            .expect("chattr runs (Debian's e2fsprogs)");
        assert!(
            out.status.success(),
            "chattr +i {}: {}. This test makes the database's write-ahead log immutable: it needs root \
             (CAP_LINUX_IMMUTABLE) and a file system with the immutable flag.",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Frozen(path.to_path_buf())
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn wal_of(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// A second connection to the server's database file (WAL: reads never block its writes).
async fn observe(db: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(db).busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap()
}

async fn scalar(pool: &SqlitePool, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
    n
}

/// Every Salesforce id Conversion holds, by table.
async fn synced_ids(db: &Db) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for table in [
        "conversion_contacts",
        "conversion_companies",
        "conversion_opportunities",
        "conversion_opportunity_contacts",
        "conversion_events",
    ] {
        let sql = format!("SELECT salesforce_id FROM {table} WHERE salesforce_id IS NOT NULL");
        let rows: Vec<(String,)> =
            app::on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await.unwrap());
        assert!(
            all.len() + rows.len() == all.len() + rows.iter().collect::<BTreeSet<_>>().len(),
            "{table}: a Salesforce id twice"
        );
        all.extend(rows.into_iter().map(|(id,)| (table.to_string(), id)));
    }
    all
}

async fn get_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// The settings form as a person submits it, every object and write switched on.
const SETTINGS_FORM: &str = "write_contacts=on&write_companies=on&write_events=on&write_mode=upsert&field_email=on\
    &field_first_name=on&field_last_name=on&field_title=on&company_field_name=on&company_field_website=on\
    &company_field_industry=on&interval_secs=default&inbound_contact=on&inbound_lead=on&inbound_company=on\
    &inbound_opportunity=on&inbound_opportunity_contact_role=on&inbound_event=on";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_database_could_not_be_written_for_a_while_the_server_carries_on_without_a_restart(
) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records: 16_000, seed: 21, ..OrgConfig::default() })
            .await
            .unwrap();
    let reference = uninterrupted_reference(&org, &dir.path().join("reference.db")).await;

    // The server syncing with the org as with a real one, slowed down so the backfill takes a while.
    org.apply_fault(FaultCommand::SetLatency { ms: 40 });
    let db = dir.path().join("sync.db");
    let mut env = org_env(&org);
    env.push(("SALESFORCE_REFRESH_TOKEN", org.credentials().refresh_token.clone()));
    env.push(("SYNC_INTERVAL_SECS", "1".into()));
    env.push(("SYNC_PAGE_SIZE", "200".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = ServerProcess::start(&db, dir.path(), &[], &env).await;
    // Signed in first: a sign-in (an argon2 check and a session write) between catching the
    // backfill and freezing the log would let the backfill finish before the outage.
    let http = server.signed_in().await;
    let watch = observe(&db).await;
    let mid_backfill = wait_for(Duration::from_secs(60), || async {
        scalar(&watch, "SELECT COUNT(*) FROM run_records").await >= 1_000
            && scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' AND direction = 'inbound'").await > 0
    })
    .await;
    assert!(mid_backfill, "caught the backfill in progress");
    let base = server.base.clone();

    // 1. The write-ahead log cannot be written: the backfill's next commit fails, and nothing but
    // the engine writes, so what the health card shows comes from the engine.
    let frozen = Frozen::new(&wal_of(&db));
    let shown = wait_for(Duration::from_secs(30), || async {
        !get_json(&http, format!("{base}/api/health")).await["health"]["storage"].is_null()
    })
    .await;
    assert!(shown, "the backfill's failed write shows on /api/health");
    let health = get_json(&http, format!("{base}/api/health")).await;
    // SQLite's word for it depends on the connection: an I/O error on one that had the log open,
    // "read-only" on one opened since.
    let failure = health["health"]["storage"]["failure"].as_str().unwrap_or_default().to_string();
    assert!(["write_failed", "read_only"].contains(&failure.as_str()), "{health}");
    let card = get_json(&http, format!("{base}/api/health/card")).await;
    let html = card["html"].as_str().unwrap();
    assert!(
        html.contains("data-testid=\"storage-problem\"") && html.contains("cannot be written"),
        "{html}"
    );
    assert!(html.contains(db.to_str().unwrap()), "the card names the file: {html}");

    // Changes are refused with 503 and a reason, not a 500.
    let contact =
        serde_json::json!({ "email": "during.outage@example.org", "last_name": "Outage" });
    let r =
        http.post(format!("{base}/api/conversion/contacts")).json(&contact).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    let said = body["error"].as_str().unwrap();
    assert!(
        said.starts_with("The change was not saved: the d")
            && said.ends_with("Try again in a few minutes."),
        "{said}"
    );
    let settings = get_json(&http, format!("{base}/api/sync/settings")).await;
    let r = http.put(format!("{base}/api/sync/settings")).json(&settings).send().await.unwrap();
    assert_eq!(r.status(), 503, "{:?}", r.text().await);
    let r = http
        .post(format!("{base}/api/settings/save"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(SETTINGS_FORM)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let said = r.text().await.unwrap();
    assert!(
        said.contains(
            "The settings were not saved: Conversion's database cannot be written right now"
        ),
        "{said}"
    );

    // 2. Writable again: no restart. The problem clears, the backfill carries on from its last
    // committed batch and finishes, and no run stays in progress.
    drop(frozen);
    let cleared = wait_for(Duration::from_secs(30), || async {
        get_json(&http, format!("{base}/api/health")).await["health"]["storage"].is_null()
    })
    .await;
    assert!(cleared, "the health card stops showing the problem once writing works");
    let caught_up = wait_for(Duration::from_secs(120), || async {
        scalar(&watch, "SELECT COUNT(*) FROM sync_cursors WHERE backfill_done = 1").await
            == INBOUND_ORDER.len() as i64
            && scalar(&watch, "SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress'").await
                == 0
    })
    .await;
    assert!(caught_up, "the backfill finishes and no run stays in progress");

    // The runs the outage stopped failed with the article's Unknown error and words a person can
    // read, not the database's.
    let failed: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT direction, failure_code, failure_detail FROM sync_runs WHERE status = 'failed'",
    )
    .fetch_all(&watch)
    .await
    .unwrap();
    assert!(!failed.is_empty(), "the run the outage stopped is failed");
    for (direction, code, detail) in &failed {
        assert_eq!((direction.as_str(), code.as_str()), ("inbound", "unknown_error"), "{detail}");
        assert!(detail.starts_with("Conversion could not save"), "{detail}");
        assert!(detail.ends_with("the rest are synced again on the next run."), "{detail}");
    }

    // Nothing lost, nothing twice: Conversion holds exactly what an uninterrupted sync holds, and
    // no org record was reported synced twice.
    // The server's file, beside the reference (a database of its own on PostgreSQL when the run
    // names a server: only Salesforce ids are compared).
    let watched = Db::Sqlite(watch.clone());
    let (got, want) = (synced_ids(&watched).await, synced_ids(&reference.db).await);
    let missing: Vec<_> = want.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(&want).take(10).collect();
    if !(missing.is_empty() && extra.is_empty()) {
        // What each side reported for a few of them, and the runs: where the two syncs parted.
        for (_, id) in missing.iter().take(3).chain(extra.iter().take(3)) {
            for (side, db) in [("server", &watched), ("reference", &reference.db)] {
                let rows: Vec<(String, String, Option<String>, String)> = app::on_db!(db, |p| {
                    sqlx::query_as(
                    "SELECT s.object_type, r.status, r.message_code, s.status FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
                     WHERE r.salesforce_id = $1 ORDER BY s.id, r.seq",
                )
                .bind(id)
                .fetch_all(p)
                .await
                .unwrap()
                });
                eprintln!("{side} {id}: {rows:?}");
            }
        }
        let runs: Vec<(String, String, i64, i64, Option<String>)> =
            sqlx::query_as("SELECT object_type, status, created + updated + deleted, skipped + failed, failure_detail FROM sync_runs ORDER BY id")
                .fetch_all(&watch)
                .await
                .unwrap();
        eprintln!("the server's runs: {runs:#?}");
    }
    assert!(missing.is_empty() && extra.is_empty(), "Conversion's records differ from the uninterrupted sync's: missing {missing:?}, extra {extra:?}");
    let twice = scalar(
        &watch,
        "SELECT COUNT(*) FROM (SELECT 1 FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
         WHERE s.direction = 'inbound' AND r.salesforce_id IS NOT NULL GROUP BY s.object_type, r.salesforce_id HAVING COUNT(*) > 1)",
    )
    .await;
    assert_eq!(twice, 0, "no org record reported twice");

    // And changes are taken again.
    let r =
        http.post(format!("{base}/api/conversion/contacts")).json(&contact).send().await.unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    org.shutdown().await;
}

/// A real database with some history, closed (its WAL folded back into the file).
async fn database_with_history(path: &Path) {
    let file = store::open_file(path).await.unwrap();
    let pool = Db::Sqlite(file.clone());
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&pool, &ws, "Acme Inc.", 0).await.unwrap();
    for n in 0..20i64 {
        let run = NewRun {
            direction: Direction::Inbound,
            object_type: ObjectType::Contact,
            trigger: Trigger::Scheduled,
            started_at: n * 60_000,
            expected_total: None,
        };
        let id = store::begin_run(&pool, &ws, &run).await.unwrap();
        let records: Vec<NewRecord> = (0..250)
            .map(|i| NewRecord {
                status: RecordStatus::Success,
                action: RecordAction::Updated,
                message: None,
                detail: None,
                salesforce_id: Some(format!("0035g{n:05}{i:08}")),
                conversion_id: Some(format!("con_{n}_{i}")),
                label: Some(format!("Person {n}-{i} <person.{n}.{i}@example.org>")),
                external_created_at: Some(1_700_000_000_000),
                external_updated_at: Some(1_700_000_100_000),
            })
            .collect();
        store::append_records(&pool, &ws, id, &records).await.unwrap();
        store::finish_run(&pool, &ws, id, n * 60_000 + 1_000).await.unwrap();
    }
    // Everything into the file itself, so a copy of the file is the whole database.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&file).await.unwrap();
    pool.close().await;
}

/// Overwrites pages `pages` (4 KiB each, counted from 0) of `path` with a byte pattern.
fn overwrite_pages(path: &Path, pages: std::ops::Range<u64>) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for page in pages {
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0xA5; 4096]).unwrap();
    }
    f.sync_all().unwrap();
}

/// Starts the server on `db` and waits for it to exit: its status and what it printed on stderr.
/// Fails if it answers requests instead.
async fn refused_start(db: &Path, dir: &Path) -> (std::process::ExitStatus, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir)
        .args([
            "--database",
            db.to_str().unwrap(),
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--demo",
            "false",
        ])
        .env("LEPTOS_OUTPUT_NAME", "sync-activity")
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut status = None;
    let settled = wait_for(Duration::from_secs(30), || {
        status = status.or_else(|| child.try_wait().unwrap());
        let answered = http.get(format!("http://127.0.0.1:{port}/healthz")).send();
        let exited = status.is_some();
        async move { exited || answered.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    assert!(settled, "the server neither exited nor answered");
    let Some(status) = status.or_else(|| child.try_wait().unwrap()) else {
        let _ = child.kill();
        panic!("the server started on {} and answers /healthz", db.display());
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

#[tokio::test]
async fn a_damaged_database_file_stops_the_start_with_a_sentence_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.db");
    database_with_history(&good).await;
    let pages = std::fs::metadata(&good).unwrap().len() / 4096;
    assert!(pages > 40, "a database of some size: {pages} pages");

    // Pages in the middle overwritten: the file opens, most reads work, writes fail.
    let damaged = dir.path().join("damaged.db");
    std::fs::copy(&good, &damaged).unwrap();
    overwrite_pages(&damaged, pages / 2..pages / 2 + 3);
    let (status, said) = refused_start(&damaged, dir.path()).await;
    assert!(!status.success(), "exits non-zero: {status:?}");
    assert!(
        said.contains(&format!("The database file {} is damaged", damaged.display())),
        "{said}"
    );
    assert!(said.contains("Restore the file from a backup"), "says what to do: {said}");
    assert!(
        !said.contains("SqliteError") && !said.contains("Error: "),
        "a sentence, not a debug print: {said}"
    );

    // The first page overwritten: not a database at all.
    let garbage = dir.path().join("garbage.db");
    std::fs::copy(&good, &garbage).unwrap();
    overwrite_pages(&garbage, 0..1);
    let (status, said) = refused_start(&garbage, dir.path()).await;
    assert!(!status.success());
    assert!(
        said.contains(&format!("The database file {} is not a SQLite database", garbage.display())),
        "{said}"
    );
    assert!(!said.contains("SqliteError") && !said.contains("code: 26"), "{said}");

    // The undamaged file still starts.
    let _server = ServerProcess::start(&good, dir.path(), &["--demo", "false"], &[]).await;
}

/// A file too large to check before the server starts (`store::open_with` checks those in the
/// background) is checked by `store::check_pages`: damage is reported to the storage state, which
/// the Overview's health card shows, and a sound file reports nothing.
#[tokio::test]
async fn a_large_files_background_check_reports_damage_to_the_health_card() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.db");
    database_with_history(&good).await;
    let pages = std::fs::metadata(&good).unwrap().len() / 4096;
    let damaged = dir.path().join("damaged.db");
    std::fs::copy(&good, &damaged).unwrap();
    overwrite_pages(&damaged, pages / 2..pages / 2 + 3);

    for (file, is_damaged) in [(&good, false), (&damaged, true)] {
        // Opened without the check at open, as a large file is.
        let pool = SqlitePoolOptions::new()
            .connect_with(SqliteConnectOptions::new().filename(file))
            .await
            .unwrap();
        let storage = store::StorageHealth::new(&file.display().to_string());
        store::check_pages(pool, storage.clone()).await;
        let problem = storage.problem();
        if is_damaged {
            let problem = problem.expect("the damage is reported");
            assert_eq!(problem.failure, app::domain::health::StorageFailure::Damaged);
            assert!(problem.message().contains("damaged"), "{}", problem.message());
        } else {
            assert!(problem.is_none(), "{problem:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_write_ahead_log_is_emptied_once_a_large_write_settles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sync.db");
    let file = store::open_file(&db).await.unwrap();
    let pool = Db::Sqlite(file.clone());
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&pool, &ws, "Acme Inc.", 0).await.unwrap();
    let run = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Backfill,
        started_at: 0,
        expected_total: None,
    };
    let id = store::begin_run(&pool, &ws, &run).await.unwrap();
    // A backfill's worth of writes, as they pile up in the WAL between checkpoints.
    for page in 0..20 {
        let records: Vec<NewRecord> = (0..2_000)
            .map(|i| NewRecord {
                status: RecordStatus::Success,
                action: RecordAction::Created,
                message: None,
                detail: None,
                salesforce_id: Some(format!("0035g{page:04}{i:09}")),
                conversion_id: Some(format!("con_{page}_{i}")),
                label: Some(format!(
                    "Person {page}-{i} <a.rather.long.address.{page}.{i}@example.org>"
                )),
                external_created_at: Some(1_700_000_000_000),
                external_updated_at: Some(1_700_000_100_000),
            })
            .collect();
        store::append_records(&pool, &ws, id, &records).await.unwrap();
    }
    let wal = wal_of(&db);
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let written = wal_size();
    assert!(written > 4 << 20, "the writes grew the WAL to {written} bytes");

    // The server's upkeep, then nothing more is written.
    let cancel = CancellationToken::new();
    let upkeep = tokio::spawn(server::maintenance::checkpoint_wal_every(
        file.clone(),
        Duration::from_millis(50),
        cancel.clone(),
    ));
    let emptied = wait_for(Duration::from_secs(30), || async { wal_size() == 0 }).await;
    assert!(
        emptied,
        "the WAL is emptied once the writes settle ({} of {written} bytes left)",
        wal_size()
    );
    // Everything written is in the database file.
    assert_eq!(scalar(&file, "SELECT COUNT(*) FROM run_records").await, 40_000);
    cancel.cancel();
    upkeep.await.unwrap();
}
