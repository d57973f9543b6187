//! A record's story on the history benchmark's database (1,000,000 runs / 20,000,000 records by
//! default): the search by name prefix and by Salesforce ID, and a record's timeline, through the
//! store, p50 and p95.
//!
//!   cargo bench -p app --features ssr --bench history -- --db target/bench/history.db   # fills it
//!   cargo bench -p app --features ssr --bench record_story -- --db target/bench/history.db
//!
//! The history benchmark writes run records straight into `run_records`, past the store, so the
//! index a record's story reads (`record_touches`, `sync_records`) is built here the way the
//! migration that adds it builds it for an existing database: the migration is run again over
//! what the fill wrote. The fill files the record at position N of every run under one Salesforce
//! ID (`0035g0000` and N in nine digits), so the record at position 0 is touched by every run (a
//! million) and one at position 40,000 only by the big runs.

use app::domain::records::{RecordKey, RecordSearch, TouchCursor};
use app::domain::RunId;
use app::store::{self, Db, Location, WorkspaceId};
use std::time::{Duration, Instant};

const WS: &str = "bench";

fn arg(name: &str) -> Option<String> {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1).cloned())
}

/// A relative SQLite path from the workspace root (cargo runs a bench in `app/`).
fn from_workspace(db: String) -> String {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with('/') {
        db
    } else {
        format!("../{db}")
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    app::on_db!(db, |pool| {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.expect("count");
        n
    })
}

/// Builds the story index over the history the fill wrote, with the migration's own statements.
async fn index(db: &Db) {
    let started = Instant::now();
    match db {
        Db::Sqlite(pool) => {
            sqlx::raw_sql("DROP TABLE record_touches; DROP TABLE sync_records;")
                .execute(pool)
                .await
                .expect("drop");
            sqlx::raw_sql(include_str!("../migrations/20261214000001_record_index.sql"))
                .execute(pool)
                .await
                .expect("index");
        }
        Db::Postgres(pool) => {
            sqlx::raw_sql("DROP TABLE record_touches; DROP TABLE sync_records;")
                .execute(pool)
                .await
                .expect("drop");
            sqlx::raw_sql(include_str!("../migrations_postgres/20261214000001_record_index.sql"))
                .execute(pool)
                .await
                .expect("index");
            // One statement each: several in one string run as one transaction, and VACUUM
            // cannot run inside one.
            for table in ["record_touches", "sync_records"] {
                sqlx::raw_sql(&format!("VACUUM ANALYZE {table}"))
                    .execute(pool)
                    .await
                    .expect("analyze");
            }
        }
    }
    eprintln!("  story index built in {:.1?}", started.elapsed());
}

async fn time<F, Fut, T>(n: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for _ in 0..5 {
        f().await;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await;
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[samples.len() / 2], samples[(samples.len() * 95 / 100).min(samples.len() - 1)])
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let location = from_workspace(arg("--db").unwrap_or_else(|| "target/bench/history.db".into()));
    let n: usize = arg("--iterations").map_or(200, |v| v.parse().expect("--iterations"));
    let db = store::open(&Location::parse(&location)).await.expect("open database");
    let records = count(&db, "SELECT COUNT(*) FROM run_records").await;
    if records == 0 {
        panic!(
            "{location} has no history: fill it with the history benchmark first (see the header)"
        );
    }
    if count(&db, "SELECT COUNT(*) FROM record_touches").await != records {
        eprintln!("Indexing the {records} records of {location}…");
        index(&db).await;
    }
    let runs = count(&db, "SELECT COUNT(*) FROM sync_runs").await;
    let touches = count(&db, "SELECT COUNT(*) FROM record_touches").await;
    let directory = count(&db, "SELECT COUNT(*) FROM sync_records").await;
    let ws = WorkspaceId(WS.into());

    let id = |seq: i64| format!("0035g0000{seq:09}");
    let hot = RecordKey::Salesforce(id(0));
    let rare = RecordKey::Salesforce(id(40_000));
    let hot_touches =
        count(&db, &format!("SELECT COUNT(*) FROM record_touches WHERE record_key = '{hot}'"))
            .await;
    let rare_touches =
        count(&db, &format!("SELECT COUNT(*) FROM record_touches WHERE record_key = '{rare}'"))
            .await;
    // A page from the middle of the hot record's timeline.
    let middle: Option<(uuid::Uuid,)> = app::on_db!(&db, |pool| {
        sqlx::query_as(&format!(
            "SELECT run_id FROM record_touches WHERE workspace_id = '{WS}' AND record_key = '{hot}' \
             ORDER BY run_id LIMIT 1 OFFSET {}",
            hot_touches / 2
        ))
        .fetch_optional(pool)
        .await
        .expect("middle")
    });
    let middle = middle.map(|(u,)| TouchCursor { run_id: RunId(u), seq: 0 });

    let mut rows: Vec<(String, (Duration, Duration), usize)> = Vec::new();
    for (name, text) in [
        ("Search: name prefix \"Contact 12\"", "Contact 12"),
        ("Search: name prefix \"c\" (first 20 of many)", "c"),
        ("Search: Salesforce ID, 18 characters", "0035g0000000000012"),
        ("Search: no match", "zzz nobody"),
    ] {
        let search = RecordSearch::parse(text).expect("search");
        let found =
            store::search_records(&db, &ws, &search, 20).await.expect("search").records.len();
        let t = time(n, || store::search_records(&db, &ws, &search, 20)).await;
        rows.push((name.to_string(), t, found));
    }
    for (name, key, before) in [
        (format!("Timeline: first page, record touched by {hot_touches} runs"), &hot, None),
        ("Timeline: a middle page of the same record".to_string(), &hot, middle),
        (format!("Timeline: first page, record touched by {rare_touches} runs"), &rare, None),
    ] {
        let record = store::find_record(&db, &ws, key).await.expect("find").expect("the record");
        let keys = store::keys_of(&record);
        let shown = store::record_timeline(&db, &ws, &keys, before, 25).await.expect("timeline");
        let t = time(n, || store::record_timeline(&db, &ws, &keys, before, 25)).await;
        rows.push((name, t, shown.touches.len()));
    }
    let record = time(n, || store::find_record(&db, &ws, &hot)).await;
    rows.push(("Record page: the record by its key".into(), record, 1));

    println!(
        "\n{}, {location}: {runs} runs, {records} records, {touches} touches, {directory} records in the directory; {n} iterations after 5 warm-up runs\n",
        db.backend().name()
    );
    println!("| Query | Rows | Median (ms) | p95 (ms) |\n|---|---:|---:|---:|");
    for (name, (median, p95), found) in rows {
        println!("| {name} | {found} | {} | {} |", ms(median), ms(p95));
    }
    db.close().await;
}
