//! History benchmark: the list, a run's records and a poll on a workspace with years of history.
//!
//! ```text
//! cargo bench -p app --features ssr --bench history -- [--runs 1000000] [--records 20000000] [--db PATH] [--iterations 200]
//! ```
//!
//! Fills a SQLite database (once; it is reused when it already has the requested size) with
//! `--runs` runs and about `--records` run records, then reports the server-side time of each query
//! the pages make, through our store layer and as the same SQL run bare, median and p95.

use app::domain::{Direction, ObjectType, RecordFilter, RecordStatus, RunFilters, RunId};
use app::store::{self, WorkspaceId};
use sqlx::SqlitePool;
use std::time::{Duration, Instant};

struct Args {
    runs: i64,
    records: i64,
    db: String,
    iterations: usize,
}

fn args() -> Args {
    let mut a = Args { runs: 1_000_000, records: 20_000_000, db: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/history.db").into(), iterations: 200 };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--runs" => a.runs = value.parse().expect("--runs takes a number"),
            "--records" => a.records = value.parse().expect("--records takes a number"),
            "--db" => a.db = value,
            "--iterations" => a.iterations = value.parse().expect("--iterations takes a number"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

const WS: &str = "bench";
/// Runs holding a backfill batch of 50,000 records (the run page's worst case).
const BIG_RUNS: i64 = 20;
const BIG_RUN_SIZE: i64 = 50_000;
const SPACING_MS: i64 = 60_000;
const T0: i64 = 1_700_000_000_000;

async fn fill(pool: &SqlitePool, runs: i64, records: i64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let ws = WorkspaceId(WS.into());
    store::ensure_workspace(pool, &ws, "Bench", T0).await?;
    sqlx::query("PRAGMA synchronous = OFF").execute(pool).await?;
    let small = ((records - BIG_RUNS * BIG_RUN_SIZE).max(0) / runs.max(1)).max(1);
    // Runs a minute apart; a UUIDv7 per run built from its start time (version 7, RFC variant).
    // `||` makes TEXT even of blobs: the CAST keeps the id a BLOB like the store's, without which
    // every comparison with a bound id (cursor, date range, lookup) is TEXT against BLOB.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
         INSERT INTO sync_runs (id, workspace_id, direction, object_type, trigger, status, started_at, finished_at,
                                expected_total, next_seq, failure_code, failure_detail)
         SELECT CAST(unhex(printf('%012x', ?2 + i * ?3)) || unhex(printf('%02x', 112 + abs(random()) % 16)) || randomblob(1)
                     || unhex(printf('%02x', 128 + abs(random()) % 64)) || randomblob(7) AS BLOB),
                ?4,
                CASE WHEN i % 3 = 0 THEN 'outbound' ELSE 'inbound' END,
                CASE i % 6 WHEN 0 THEN 'contact' WHEN 1 THEN 'lead' WHEN 2 THEN 'company' WHEN 3 THEN 'opportunity'
                           WHEN 4 THEN 'opportunity_contact_role' ELSE 'event' END,
                CASE WHEN i % 3 = 0 THEN 'push' WHEN i < ?5 THEN 'backfill' ELSE 'scheduled' END,
                CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'completed' END,
                ?2 + i * ?3, ?2 + i * ?3 + 1500 + i % 5000,
                CASE WHEN i < ?5 THEN ?6 ELSE ?7 + i % 5 END,
                CASE WHEN i % 97 = 0 THEN 0 WHEN i < ?5 THEN ?6 ELSE ?7 + i % 5 END,
                CASE WHEN i % 97 = 0 THEN 'api_limit_exceeded' END,
                CASE WHEN i % 97 = 0 THEN 'REQUEST_LIMIT_EXCEEDED' END
         FROM n",
    )
    .bind(runs)
    .bind(T0)
    .bind(SPACING_MS)
    .bind(WS)
    .bind(BIG_RUNS)
    .bind(BIG_RUN_SIZE)
    .bind(small - 2)
    .execute(pool)
    .await?;
    eprintln!("  {runs} runs written in {:.1?}", started.elapsed());
    // Records: position n of a run, with statuses and messages in realistic shares. Small runs
    // and the big ones are written separately so each joins against a short sequence, and runs
    // are walked in key order (CROSS JOIN keeps sync_runs outside) so rows arrive in index order.
    for (limit, only_big) in [(small + 3, false), (BIG_RUN_SIZE, true)] {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
             INSERT INTO run_records (run_id, seq, status, action, message_code, detail, salesforce_id, conversion_id, label,
                                      external_created_at, external_updated_at)
             SELECT r.id, n.i,
                    CASE WHEN (n.i * 7 + r.started_at / 60000) % 23 = 0 THEN 'failed'
                         WHEN (n.i * 7 + r.started_at / 60000) % 11 = 0 THEN 'skipped' ELSE 'success' END,
                    CASE n.i % 10 WHEN 0 THEN 'created' WHEN 9 THEN 'deleted' ELSE 'updated' END,
                    CASE WHEN (n.i * 7 + r.started_at / 60000) % 23 = 0 THEN 'malformed_data'
                         WHEN (n.i * 7 + r.started_at / 60000) % 11 = 0 THEN 'missing_email' END,
                    NULL,
                    '0035g0000' || printf('%09d', n.i), 'con_' || n.i, 'Contact ' || n.i,
                    r.started_at - 86400000 * 30, r.started_at - 60000
             FROM sync_runs r CROSS JOIN n
             WHERE n.i < r.next_seq AND (r.next_seq = ?2) = ?3",
        )
        .bind(limit)
        .bind(BIG_RUN_SIZE)
        .bind(only_big)
        .execute(pool)
        .await?;
    }
    eprintln!("  records written in {:.1?}", started.elapsed());
    // Counts equal what the records say.
    sqlx::query(
        "UPDATE sync_runs SET created = c.created, updated = c.updated, deleted = c.deleted, skipped = c.skipped, failed = c.failed
         FROM (SELECT run_id,
                      SUM(status = 'success' AND action = 'created') AS created,
                      SUM(status = 'success' AND action = 'updated') AS updated,
                      SUM(status = 'success' AND action = 'deleted') AS deleted,
                      SUM(status = 'skipped') AS skipped, SUM(status = 'failed') AS failed
               FROM run_records GROUP BY run_id) AS c
         WHERE sync_runs.id = c.run_id",
    )
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    eprintln!("  database ready in {:.1?}", started.elapsed());
    Ok(())
}

struct Stat {
    name: String,
    ours: (Duration, Duration),
    bare: Option<(Duration, Duration)>,
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.95))
}

async fn time<F, Fut, T>(iterations: usize, mut f: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    for _ in 0..5 {
        f().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        f().await;
        samples.push(t.elapsed());
    }
    summary(samples)
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let path = std::path::PathBuf::from(&a.db);
    let pool = store::open(&path).await.expect("open database");
    let ws = WorkspaceId(WS.into());
    let (have,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_runs").fetch_one(&pool).await.expect("count");
    if have != a.runs {
        if have != 0 {
            panic!("{} holds {have} runs, not {}; remove it or pass another --db", a.db, a.runs);
        }
        eprintln!("Filling {} with {} runs and about {} records…", a.db, a.runs, a.records);
        fill(&pool, a.runs, a.records).await.expect("fill");
    }
    let (id_type,): (String,) = sqlx::query_as("SELECT typeof(id) FROM sync_runs LIMIT 1").fetch_one(&pool).await.expect("id type");
    if id_type != "blob" {
        panic!("{}: run ids are {id_type}, not blob (made by an older version of this benchmark, whose deep pages, date ranges and run pages were empty); remove it or pass another --db", a.db);
    }
    let (records,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM run_records").fetch_one(&pool).await.expect("count");
    eprintln!("Database: {have} runs, {records} records", have = a.runs);

    let n = a.iterations;
    let mut stats = Vec::new();
    let no_filters = RunFilters::default();
    let newest_first = store::list_runs(&pool, &ws, &RunFilters::default(), 25).await.expect("list");
    // The cursor of page 1,000: the 25,000th newest run.
    let (deep_cursor,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM sync_runs WHERE workspace_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?")
        .bind(WS)
        .bind((a.runs - 1).min(24_999))
        .fetch_one(&pool)
        .await
        .expect("deep cursor");
    let deep_cursor = RunId(deep_cursor);

    let bare_first = "SELECT * FROM sync_runs WHERE workspace_id = ? ORDER BY id DESC LIMIT 25";
    stats.push(Stat {
        name: "List: first page".into(),
        ours: time(n, || store::list_runs(&pool, &ws, &no_filters, 25)).await,
        bare: Some(time(n, || sqlx::query(bare_first).bind(WS).fetch_all(&pool)).await),
    });
    let deep = RunFilters { before: Some(deep_cursor), ..Default::default() };
    stats.push(Stat {
        name: "List: page 1,000".into(),
        ours: time(n, || store::list_runs(&pool, &ws, &deep, 25)).await,
        bare: Some(
            time(n, || {
                sqlx::query("SELECT * FROM sync_runs WHERE workspace_id = ? AND id < ? ORDER BY id DESC LIMIT 25")
                    .bind(WS)
                    .bind(deep_cursor.0)
                    .fetch_all(&pool)
            })
            .await,
        ),
    });
    let week_ago = T0 + (a.runs - 1) * SPACING_MS - 7 * 86_400_000;
    for direction in [None, Some(Direction::Inbound)] {
        for object in [None, Some(ObjectType::Company)] {
            for range in [None, Some((week_ago, week_ago + 86_400_000))] {
                if direction.is_none() && object.is_none() && range.is_none() {
                    continue;
                }
                let f = RunFilters {
                    direction,
                    object_type: object,
                    from_ms: range.map(|r| r.0),
                    to_ms: range.map(|r| r.1),
                    ..Default::default()
                };
                let name = format!(
                    "List: {}",
                    [
                        direction.map(|d| format!("direction={d}")),
                        object.map(|o| format!("object={o}")),
                        range.map(|_| "one day a week ago".to_string()),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ")
                );
                let ours = time(n, || store::list_runs(&pool, &ws, &f, 25)).await;
                let deep = RunFilters { before: Some(deep_cursor), ..f.clone() };
                let ours_deep = time(n, || store::list_runs(&pool, &ws, &deep, 25)).await;
                stats.push(Stat { name, ours, bare: None });
                stats.push(Stat { name: "  the same, 25,000 runs deep".into(), ours: ours_deep, bare: None });
            }
        }
    }
    // The biggest run: first page of its records, its last page, and its failed records.
    let (big,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM sync_runs WHERE workspace_id = ? ORDER BY next_seq DESC LIMIT 1")
        .bind(WS)
        .fetch_one(&pool)
        .await
        .expect("big run");
    let big = RunId(big);
    let run_page = |f: RecordFilter| {
        let (pool, ws) = (pool.clone(), ws.clone());
        async move {
            store::get_run(&pool, &ws, big).await.expect("run");
            store::list_records(&pool, &ws, big, &f, 50).await.expect("records")
        }
    };
    stats.push(Stat {
        name: "Run (50,000 records): first records page".into(),
        ours: time(n, || run_page(RecordFilter::default())).await,
        bare: Some(
            time(n, || sqlx::query("SELECT * FROM run_records WHERE run_id = ? ORDER BY seq LIMIT 50").bind(big.0).fetch_all(&pool))
                .await,
        ),
    });
    stats.push(Stat {
        name: "Run (50,000 records): last records page".into(),
        ours: time(n, || run_page(RecordFilter { before: Some(BIG_RUN_SIZE), ..Default::default() })).await,
        bare: Some(
            time(n, || {
                sqlx::query("SELECT * FROM run_records WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT 50")
                    .bind(big.0)
                    .bind(BIG_RUN_SIZE)
                    .fetch_all(&pool)
            })
            .await,
        ),
    });
    stats.push(Stat {
        name: "Run (50,000 records): failed records, deep page".into(),
        ours: time(n, || run_page(RecordFilter { status: Some(RecordStatus::Failed), after: Some(40_000), ..Default::default() })).await,
        bare: None,
    });
    let watch: Vec<store::WatchedRun> =
        newest_first.runs.iter().take(5).map(|r| store::WatchedRun { id: r.id, processed: Some(r.counts.processed()) }).collect();
    let newest = newest_first.runs.first().map(|r| r.id);
    stats.push(Stat {
        name: "Poll: new runs + 5 watched".into(),
        ours: time(n, || store::poll_runs(&pool, &ws, &no_filters, newest, &watch)).await,
        bare: None,
    });

    println!("\n| Query | ours median ms | ours p95 ms | bare SQL median ms | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for s in stats {
        let (bare, ratio) = match s.bare {
            Some((m, _)) => (ms(m), format!("{:.1}x", s.ours.0.as_secs_f64() / m.as_secs_f64())),
            None => ("".into(), "".into()),
        };
        println!("| {} | {} | {} | {} | {} |", s.name, ms(s.ours.0), ms(s.ours.1), bare, ratio);
    }
}
