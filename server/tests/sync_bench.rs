//! Benchmarks of the sync engine (ignored by default; see docs/BENCHMARKS.md, "Sync engine"):
//! backfill throughput from the local org over loopback into SQLite, against a bare SQLite insert
//! of the same rows in the same run, and into PostgreSQL beside SQLite; peak memory of a backfill
//! batch; outbound latency.
//!
//! cargo test --release -p server --test sync_bench -- --ignored --nocapture --test-threads 1

use app::domain::{ObjectType, Trigger};
use app::state::SystemClock;
use app::store::{self, Db, WorkspaceId};
use server::conversion::changes::{self, ContactInput};
use server::fake_org::{self, FakeOrg, OrgConfig};
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{inbound, scheduler, Engine, EngineConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

mod common;
use common::memory::{reset_peak, rss_kb};

/// As in the server (`server/src/main.rs`).
const CHECKPOINT_EVERY: Duration = server::maintenance::CHECKPOINT_EVERY;

fn records() -> usize {
    std::env::var("BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

async fn setup(
    records: usize,
    config: EngineConfig,
    dir: &std::path::Path,
) -> (FakeOrg, Engine, sqlx::SqlitePool) {
    // Always SQLite (the benchmark compares with bare SQLite inserts), whatever the run names.
    let pool = store::open_file(&dir.join("bench.db")).await.unwrap();
    let (org, engine) = setup_on(records, config, Db::Sqlite(pool.clone())).await;
    (org, engine, pool)
}

/// A local org of `records` and an engine syncing it into `db`.
async fn setup_on(records: usize, config: EngineConfig, db: Db) -> (FakeOrg, Engine) {
    let ws = WorkspaceId("bench".into());
    store::ensure_workspace(&db, &ws, "Bench", 0).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // BENCH_ORG_LATENCY_MS: each API call of the org takes this long, as a remote org's would.
    let latency: u64 =
        std::env::var("BENCH_ORG_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let faults = if latency > 0 {
        vec![server::fake_org::FaultCommand::SetLatency { ms: latency }]
    } else {
        Vec::new()
    };
    let org = fake_org::start(listener, OrgConfig { records, faults, ..OrgConfig::default() })
        .await
        .unwrap();
    let engine = Engine::new(
        db,
        ws,
        org.client().unwrap(),
        Arc::new(SystemClock),
        config,
        None,
        CancellationToken::new(),
    );
    common::record_connection(&engine, &org).await;
    (org, engine)
}

/// Every object's backfill: records, runs, time taken.
async fn backfill(engine: &Engine) -> (usize, usize, Duration) {
    let started = Instant::now();
    let (mut synced, mut runs) = (0, 0);
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none());
        synced += out.records;
        runs += out.runs.len();
    }
    (synced, runs, started.elapsed())
}

/// The same backfill into PostgreSQL (a fresh database on the server `SYNC_TEST_DATABASE` names,
/// by default the local one) and into a SQLite file, one after the other in one run, through REST
/// pages and through Bulk API 2.0 as the engine chooses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn backfill_throughput_on_postgres_beside_sqlite() {
    server::tune_allocator();
    let n = records();
    let server = app::store::testing::postgres_server()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = app::store::testing::fresh_database(&server).await.unwrap();
    let pg =
        store::open(&store::Location::Postgres(app::store::testing::with_database(&server, &name)))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::Sqlite(store::open_file(&dir.path().join("bench.db")).await.unwrap());
    for (backend, db) in [("PostgreSQL", pg.clone()), ("SQLite", sqlite)] {
        let (org, engine) = setup_on(n, EngineConfig::default(), db.clone()).await;
        let checkpoints = db.sqlite().map(|pool| {
            tokio::spawn(server::maintenance::checkpoint_wal_every(
                pool.clone(),
                CHECKPOINT_EVERY,
                CancellationToken::new(),
            ))
        });
        let (synced, runs, took) = backfill(&engine).await;
        if let Some(c) = checkpoints {
            c.abort();
        }
        println!(
            "{backend}: backfill of {synced} records in {runs} runs, {:.2} s, {:.0} records/s",
            took.as_secs_f64(),
            synced as f64 / took.as_secs_f64()
        );
        org.shutdown().await;
        db.close().await;
    }
    app::store::testing::drop_database(&server, &name).await.unwrap();
}

/// One SQLite value, as read back from the backfill's tables.
enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Every row of `table`, in storage order.
async fn table_rows(pool: &sqlx::SqlitePool, table: &str) -> (Vec<String>, Vec<Vec<Cell>>) {
    use sqlx::{Row, TypeInfo, ValueRef};
    let columns: Vec<(String,)> =
        sqlx::query_as(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(pool)
            .await
            .unwrap();
    let columns: Vec<String> = columns.into_iter().map(|c| c.0).collect();
    let rows = sqlx::query(&format!("SELECT {} FROM {table}", columns.join(", ")))
        .fetch_all(pool)
        .await
        .unwrap();
    let cells = rows
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| {
                    let raw = row.try_get_raw(i).unwrap();
                    if raw.is_null() {
                        return Cell::Null;
                    }
                    match raw.type_info().name() {
                        "INTEGER" => Cell::Int(row.get(i)),
                        "REAL" => Cell::Real(row.get(i)),
                        "BLOB" => Cell::Blob(row.get(i)),
                        _ => Cell::Text(row.get(i)),
                    }
                })
                .collect()
        })
        .collect();
    (columns, cells)
}

/// The baseline the ratio is taken against: the very rows the backfill wrote (Conversion's rows,
/// the runs and their run records; then, timed apart, the record index's touches and directory
/// rows), read back and inserted into a fresh database with the same schema, indexes and
/// settings: multi-row INSERTs of 200 rows, one transaction per 2,000 rows (a page), and nothing
/// else: no HTTP, no JSON, no lookups, no decisions, no cursor. Returns (time, rows) of each part.
async fn bare_insert_of_the_same_rows(
    from: &sqlx::SqlitePool,
    dir: &std::path::Path,
) -> [(Duration, usize); 2] {
    let bare = store::open_file(&dir.join("bare.db")).await.unwrap();
    // The same background checkpoints as the server and the backfill have.
    let checkpoints = tokio::spawn(server::maintenance::checkpoint_wal_every(
        bare.clone(),
        CHECKPOINT_EVERY,
        CancellationToken::new(),
    ));
    store::ensure_workspace(&Db::Sqlite(bare.clone()), &WorkspaceId("bench".into()), "Bench", 0)
        .await
        .unwrap();
    let tables = [
        "sync_runs",
        "conversion_companies",
        "conversion_contacts",
        "conversion_opportunities",
        "conversion_opportunity_contacts",
        "conversion_events",
        "run_records",
        "record_touches",
        "sync_records",
    ];
    let mut parts = [(Duration::ZERO, 0); 2];
    for table in tables {
        let part = usize::from(matches!(table, "record_touches" | "sync_records"));
        let (took, rows_written) = &mut parts[part];
        let (columns, rows) = table_rows(from, table).await;
        let started = Instant::now();
        for page in rows.chunks(2_000) {
            let mut tx = bare.begin().await.unwrap();
            for chunk in page.chunks(200) {
                let mut qb = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO {table} ({}) ",
                    columns.join(", ")
                ));
                qb.push_values(chunk, |mut b, row| {
                    for cell in row {
                        match cell {
                            Cell::Null => b.push_bind(None::<i64>),
                            Cell::Int(v) => b.push_bind(*v),
                            Cell::Real(v) => b.push_bind(*v),
                            Cell::Text(v) => b.push_bind(v.as_str()),
                            Cell::Blob(v) => b.push_bind(v.as_slice()),
                        };
                    }
                });
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        *took += started.elapsed();
        *rows_written += rows.len();
    }
    checkpoints.abort();
    parts
}

/// The earlier, narrower baseline: the same number of rows, same width, multi-row INSERTs in one transaction
/// per 2,000 (a page), into a table with the same unique index.
async fn bare_insert(pool: &sqlx::SqlitePool, n: usize) -> Duration {
    sqlx::query("CREATE TABLE bare (id TEXT PRIMARY KEY, ws TEXT, email TEXT, first TEXT, last TEXT, title TEXT, sf TEXT, c INTEGER, u INTEGER)")
        .execute(pool).await.unwrap();
    sqlx::query("CREATE UNIQUE INDEX bare_sf ON bare (ws, sf)").execute(pool).await.unwrap();
    let started = Instant::now();
    for page in 0..n.div_ceil(2_000) {
        let mut tx = pool.begin().await.unwrap();
        let rows: Vec<usize> = (page * 2_000..((page + 1) * 2_000).min(n)).collect();
        for chunk in rows.chunks(200) {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO bare (id, ws, email, first, last, title, sf, c, u) ",
            );
            qb.push_values(chunk, |mut b, i| {
                b.push_bind(format!("01a2-{i:012}"))
                    .push_bind("bench")
                    .push_bind(format!("p.{i}@acme.example.com"))
                    .push_bind("Ann")
                    .push_bind("Lee")
                    .push_bind("CEO")
                    .push_bind(format!("003{i:015}"))
                    .push_bind(*i as i64)
                    .push_bind(*i as i64);
            });
            qb.build().execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn backfill_throughput_against_bare_sqlite() {
    server::tune_allocator();
    let n = records();
    let dir = tempfile::tempdir().unwrap();
    // BENCH_COMMIT_SIZE: records per transaction within a page (default: the engine's, 500; a
    // page's 2,000 is one transaction per page, as before slices).
    let commit_size = std::env::var("BENCH_COMMIT_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EngineConfig::default().commit_size);
    // BENCH_BULK_THRESHOLD: objects past this many records backfill through a Bulk API 2.0 query
    // job (default: the engine's, 10,000); 0: every object through REST query pages.
    let bulk_threshold = std::env::var("BENCH_BULK_THRESHOLD")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(EngineConfig::default().bulk_threshold, |t: u64| (t > 0).then_some(t));
    let config = EngineConfig { commit_size, bulk_threshold, ..EngineConfig::default() };
    println!(
        "commit size: {commit_size} records per transaction; Bulk API 2.0 past {}",
        bulk_threshold.map_or("never".to_string(), |t| format!("{t} records"))
    );
    let (org, engine, pool) = setup(n, config, dir.path()).await;
    let checkpoints = tokio::spawn(server::maintenance::checkpoint_wal_every(
        pool.clone(),
        CHECKPOINT_EVERY,
        CancellationToken::new(),
    ));
    let requests_before = org.requests_received();
    let (synced, runs, took) = backfill(&engine).await;
    checkpoints.abort();
    let rate = synced as f64 / took.as_secs_f64();
    println!(
        "backfill: {synced} records in {runs} runs, {:.2} s, {rate:.0} records/s; {} API requests, {} Bulk jobs",
        took.as_secs_f64(),
        org.requests_received() - requests_before,
        org.bulk_stats().jobs_made
    );
    let [(same, rows), (index, index_rows)] = bare_insert_of_the_same_rows(&pool, dir.path()).await;
    let same_rate = synced as f64 / same.as_secs_f64();
    println!(
        "bare SQLite insert of the same rows ({rows} rows: Conversion's, runs, run records; same schema): {:.2} s, \
         {same_rate:.0} records/s; ratio {:.2}",
        same.as_secs_f64(),
        rate / same_rate
    );
    let all = same + index;
    let all_rate = synced as f64 / all.as_secs_f64();
    println!(
        "  and the record index's rows ({index_rows}: touches, directory): {:.2} s more; all {} rows: {:.2} s, \
         {all_rate:.0} records/s; ratio {:.2}",
        index.as_secs_f64(),
        rows + index_rows,
        all.as_secs_f64(),
        rate / all_rate
    );
    let bare = bare_insert(&pool, synced).await;
    let bare_rate = synced as f64 / bare.as_secs_f64();
    println!("bare SQLite insert of {synced} narrow rows (9 columns, one index): {:.2} s, {bare_rate:.0} rows/s; ratio {:.2}", bare.as_secs_f64(), rate / bare_rate);
    org.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn peak_memory_is_flat_in_the_batch_size() {
    // ~300,000 contacts; backfilled once in batches of 5,000 and once of 50,000.
    for batch in [5_000, 50_000] {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig { backfill_batch_size: batch, ..EngineConfig::default() };
        let (org, engine, _pool) = setup(records(), config, dir.path()).await;
        inbound::sync_object(&engine, ObjectType::Company, Trigger::Scheduled).await.unwrap();
        let (before, _) = rss_kb();
        reset_peak();
        let out =
            inbound::sync_object(&engine, ObjectType::Contact, Trigger::Scheduled).await.unwrap();
        let (_, peak) = rss_kb();
        println!(
            "batch {batch}: {} contacts in {} runs; RSS before {} MB, peak during {} MB (+{} MB)",
            out.records,
            out.runs.len(),
            before / 1024,
            peak / 1024,
            peak.saturating_sub(before) / 1024
        );
        org.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn outbound_latency_from_change_to_salesforce_write() {
    // (changes per second, changes): 30 s at 10/s, 5 s at 1,000/s.
    for (per_sec, total) in [(10u32, 300usize), (1_000, 5_000)] {
        let dir = tempfile::tempdir().unwrap();
        let (org, engine, pool) = setup(10_000, EngineConfig::default(), dir.path()).await;
        let pool = Db::Sqlite(pool);
        let worker = tokio::spawn(scheduler::run_outbound(engine.clone()));
        // Conversion's id -> when the change was made.
        let pending: Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> =
            Arc::default();
        let producer = {
            let (pending, engine) = (pending.clone(), engine.clone());
            tokio::spawn(async move {
                let period = Duration::from_secs(1) / per_sec;
                let start = tokio::time::Instant::now();
                for i in 0..total {
                    // Open loop: each change at its own time, whether or not earlier ones landed.
                    tokio::time::sleep_until(start + period * i as u32).await;
                    let made = Instant::now();
                    let input = ContactInput {
                        email: Some(format!("lat.{i}@example.org")),
                        last_name: Some("Latency".into()),
                        ..Default::default()
                    };
                    let id =
                        changes::create_contact(&pool, engine.workspace(), &input, engine.now_ms())
                            .await
                            .unwrap();
                    pending.lock().unwrap().insert(id, made);
                    engine.outbox_changed();
                }
                start.elapsed()
            })
        };
        // The write has happened when the org holds a contact with Conversion's id.
        let mut samples = Vec::with_capacity(total);
        while samples.len() < total {
            tokio::time::sleep(Duration::from_micros(200)).await;
            let mut waiting = pending.lock().unwrap();
            let landed: Vec<String> = org.with_store(|s| {
                let contacts = &s.table("Contact").unwrap().by_external_id;
                waiting.keys().filter(|id| contacts.contains_key(id.as_str())).cloned().collect()
            });
            for id in landed {
                if let Some(made) = waiting.remove(&id) {
                    samples.push(made.elapsed());
                }
            }
        }
        let produced_in = producer.await.unwrap();
        samples.sort();
        let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
        println!(
            "outbound change -> Salesforce write at {per_sec} changes/s ({total} changes, made in {:.1} s): p50 {:?}, p99 {:?}, max {:?}",
            produced_in.as_secs_f64(),
            p(0.5),
            p(0.99),
            samples[samples.len() - 1]
        );
        engine.cancel_token().cancel();
        let _ = worker.await;
        org.shutdown().await;
    }
}
