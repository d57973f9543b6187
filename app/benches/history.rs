//! History benchmark: the list, a run's records and a poll on a workspace with years of history.
//!
//! ```text
//! cargo bench -p app --features ssr --bench history -- [--runs 1000000] [--records 20000000] [--db PATH] [--iterations 200]
//! ```
//!
//! Fills a SQLite database (once; it is reused when it already has the requested size) with
//! `--runs` runs, exactly `--records` run records and the message index (`run_messages`) over
//! them, then reports the server-side time of each query the pages make, through our store layer
//! and as the same SQL run bare, median and p95.

use app::domain::{
    Direction, Message, ObjectType, RecordFilter, RecordMessage, RecordStatus, RunFilters, RunId,
    RunMessage, RunStatus,
};
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
    let mut a = Args {
        runs: 1_000_000,
        records: 20_000_000,
        db: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench/history.db").into(),
        iterations: 200,
    };
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
/// A record message on two runs in five (the common case), and one on about a run in 10,000.
const COMMON: RecordMessage = RecordMessage::MissingEmail;
const RARE: RecordMessage = RecordMessage::MissingExternalId;

/// A record's message, from its status and its run's direction, in shares like a real history's:
/// `k` is spread over 0..10,000 independently of the status. One inbound skip in 10,000 is the
/// rare message.
const RECORD_MESSAGE_SQL: &str = "
    CASE WHEN status = 'success' THEN NULL
         WHEN direction = 'inbound' AND status = 'skipped' THEN
              CASE WHEN k < 4000 THEN 'missing_email' WHEN k < 6000 THEN 'invalid_email'
                   WHEN k < 7000 THEN 'lead_converted' WHEN k < 7800 THEN 'outdated_record'
                   WHEN k < 8400 THEN 'do_not_sync' WHEN k < 8900 THEN 'no_account_association'
                   WHEN k < 9300 THEN 'write_mode_mismatch' WHEN k < 9600 THEN 'contact_not_found'
                   WHEN k < 9800 THEN 'missing_identifier' WHEN k < 9900 THEN 'opportunity_not_found'
                   WHEN k < 9999 THEN 'conflicting_identifier' ELSE 'missing_external_id' END
         WHEN direction = 'inbound' THEN
              CASE WHEN k < 7000 THEN 'malformed_data' WHEN k < 9000 THEN 'invalid_timestamp'
                   WHEN k < 9900 THEN 'encode_failed' ELSE 'inbound_unknown_error' END
         WHEN status = 'skipped' THEN
              CASE WHEN k < 7000 THEN 'no_fields_to_update' ELSE 'object_write_disabled' END
         ELSE CASE WHEN k < 3000 THEN 'required_field_missing' WHEN k < 5000 THEN 'validation_rule_failure'
                   WHEN k < 6500 THEN 'invalid_picklist_value' WHEN k < 7500 THEN 'field_length_exceeded'
                   WHEN k < 8500 THEN 'duplicate_record' WHEN k < 9200 THEN 'record_locked'
                   WHEN k < 9700 THEN 'invalid_cross_reference' WHEN k < 9950 THEN 'insufficient_permissions'
                   ELSE 'outbound_unknown_error' END
    END";

async fn fill(pool: &SqlitePool, runs: i64, records: i64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let ws = WorkspaceId(WS.into());
    store::ensure_workspace(pool, &ws, "Bench", T0).await?;
    sqlx::query("PRAGMA synchronous = OFF").execute(pool).await?;
    // Big runs only when the records leave room for them beside ~19 a run (not in a quick one).
    let big_runs = BIG_RUNS.min(records / 20 / BIG_RUN_SIZE);
    let small = ((records - big_runs * BIG_RUN_SIZE) / runs.max(1)).max(3);
    // Runs a minute apart; a UUIDv7 per run built from its start time (version 7, RFC variant).
    // `||` makes TEXT even of blobs: the CAST keeps the id a BLOB like the store's, without which
    // every comparison with a bound id (cursor, date range, lookup) is TEXT against BLOB. One run
    // in 97 fails as a whole (no records), as the engine's `fail_run` leaves it.
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
    .bind(big_runs)
    .bind(BIG_RUN_SIZE)
    .bind(small - 2)
    .execute(pool)
    .await?;
    // Exactly `records`: one more (or one fewer) record in as many of the oldest small completed
    // runs as the sizes above leave over (or short).
    loop {
        let (have,): (i64,) = sqlx::query_as("SELECT COALESCE(SUM(next_seq), 0) FROM sync_runs")
            .fetch_one(pool)
            .await?;
        let missing = records - have;
        if missing == 0 {
            break;
        }
        let step = missing.signum();
        let moved = sqlx::query(
            "UPDATE sync_runs SET next_seq = next_seq + ?1, expected_total = expected_total + ?1
             WHERE id IN (SELECT id FROM sync_runs WHERE status = 'completed' AND next_seq + ?1 BETWEEN 1 AND ?2 - 1
                          ORDER BY id LIMIT ?3)",
        )
        .bind(step)
        .bind(BIG_RUN_SIZE)
        .bind(missing.abs())
        .execute(pool)
        .await?;
        if moved.rows_affected() == 0 {
            panic!("cannot spread {records} records over {runs} runs");
        }
    }
    eprintln!("  {runs} runs written in {:.1?}", started.elapsed());
    // Records: position n of a run, with statuses and messages in realistic shares. Small runs
    // and the big ones are written separately so each joins against a short sequence, and runs
    // are walked in key order (CROSS JOIN keeps sync_runs outside) so rows arrive in index order.
    let (longest_small,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(next_seq), 0) FROM sync_runs WHERE next_seq < ?")
            .bind(BIG_RUN_SIZE)
            .fetch_one(pool)
            .await?;
    for (limit, only_big) in [(longest_small, false), (BIG_RUN_SIZE, true)] {
        if limit == 0 {
            continue;
        }
        sqlx::query(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
             INSERT INTO run_records (run_id, seq, status, action, message_code, detail, salesforce_id, conversion_id, label,
                                      external_created_at, external_updated_at)
             SELECT run_id, seq, status, action, {RECORD_MESSAGE_SQL}, NULL, salesforce_id, conversion_id, label,
                    external_created_at, external_updated_at
             FROM (SELECT r.id AS run_id, n.i AS seq, r.direction,
                          CASE WHEN (n.i * 7 + r.started_at / 60000) % 23 = 0 THEN 'failed'
                               WHEN (n.i * 7 + r.started_at / 60000) % 11 = 0 THEN 'skipped' ELSE 'success' END AS status,
                          CASE n.i % 10 WHEN 0 THEN 'created' WHEN 9 THEN 'deleted' ELSE 'updated' END AS action,
                          (n.i * 7919 + (r.started_at / 60000) * 104729) % 10000 AS k,
                          '0035g0000' || printf('%09d', n.i) AS salesforce_id, 'con_' || n.i AS conversion_id,
                          'Contact ' || n.i AS label,
                          r.started_at - 86400000 * 30 AS external_created_at, r.started_at - 60000 AS external_updated_at
                   FROM sync_runs r CROSS JOIN n
                   WHERE n.i < r.next_seq AND (r.next_seq = ?2) = ?3)",
        ))
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
    fill_run_messages(pool).await?;
    eprintln!("  database ready in {:.1?}", started.elapsed());
    Ok(())
}

/// `run_messages` from what the fill wrote, as the migration builds it for an existing database:
/// the store's append keeps it for records, a trigger for a failure set by UPDATE, and the fill
/// goes through neither.
async fn fill_run_messages(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type, records)
         SELECT s.workspace_id, r.message_code, r.run_id, s.direction, s.object_type, COUNT(*)
         FROM run_records r JOIN sync_runs s ON s.id = r.run_id
         WHERE r.message_code IS NOT NULL
         GROUP BY r.run_id, r.message_code",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type)
         SELECT workspace_id, failure_code, id, direction, object_type FROM sync_runs WHERE failure_code IS NOT NULL
         ON CONFLICT DO NOTHING",
    )
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    eprintln!("  run_messages filled in {:.1?}", started.elapsed());
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
    let (have,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sync_runs").fetch_one(&pool).await.expect("count");
    if have != a.runs {
        if have != 0 {
            panic!("{} holds {have} runs, not {}; remove it or pass another --db", a.db, a.runs);
        }
        eprintln!("Filling {} with {} runs and {} records…", a.db, a.runs, a.records);
        fill(&pool, a.runs, a.records).await.expect("fill");
    }
    let (id_type,): (String,) = sqlx::query_as("SELECT typeof(id) FROM sync_runs LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("id type");
    if id_type != "blob" {
        panic!("{}: run ids are {id_type}, not blob (made by an older version of this benchmark, whose deep pages, date ranges and run pages were empty); remove it or pass another --db", a.db);
    }
    let (records,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM run_records").fetch_one(&pool).await.expect("count");
    if records != a.records {
        panic!("{} holds {records} records, not {} (filled for another size, or by an older version of this benchmark); remove it or pass another --db", a.db, a.records);
    }
    // A database filled before the fill wrote the message index (the migration that adds it only
    // indexes what exists when it runs) gets it now.
    let (indexed,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM run_messages").fetch_one(&pool).await.expect("count");
    if indexed == 0 {
        eprintln!("Filling run_messages…");
        fill_run_messages(&pool).await.expect("fill run_messages");
    }
    let (indexed,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM run_messages").fetch_one(&pool).await.expect("count");
    eprintln!(
        "Database: {have} runs, {records} records, {indexed} run_messages rows",
        have = a.runs
    );

    let n = a.iterations;
    let mut stats = Vec::new();
    let no_filters = RunFilters::default();
    let newest_first =
        store::list_runs(&pool, &ws, &RunFilters::default(), 25).await.expect("list");
    // The cursor of page 1,000: the 25,000th newest run.
    let (deep_cursor,): (uuid::Uuid,) = sqlx::query_as(
        "SELECT id FROM sync_runs WHERE workspace_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    )
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
                stats.push(Stat {
                    name: "  the same, 25,000 runs deep".into(),
                    ours: ours_deep,
                    bare: None,
                });
            }
        }
    }
    // The status and message filters, and the direction the loop above leaves out. A message
    // page walks that message's entries in run_messages and fetches each run by primary key.
    let inbound_day = RunFilters {
        direction: Some(Direction::Inbound),
        from_ms: Some(week_ago),
        to_ms: Some(week_ago + 86_400_000),
        ..Default::default()
    };
    let common = Some(Message::Record(COMMON));
    let extra = [
        (
            "direction=outbound".to_string(),
            RunFilters { direction: Some(Direction::Outbound), ..Default::default() },
        ),
        (
            "status=failed".to_string(),
            RunFilters { status: Some(RunStatus::Failed), ..Default::default() },
        ),
        (
            format!("message={} (common)", COMMON.code()),
            RunFilters { message: common, ..Default::default() },
        ),
        (
            format!("message={} (rare)", RARE.code()),
            RunFilters { message: Some(Message::Record(RARE)), ..Default::default() },
        ),
        (
            format!("message={}, direction=inbound, one day a week ago", COMMON.code()),
            RunFilters { message: common, ..inbound_day.clone() },
        ),
        // A record message belongs to one direction: with the other, every entry of the message
        // is fetched and none matches (the worst case of a message with a second filter).
        (
            format!("message={}, direction=outbound (no run has both)", COMMON.code()),
            RunFilters {
                message: common,
                direction: Some(Direction::Outbound),
                ..Default::default()
            },
        ),
        (
            format!("message={} (whole-run failure)", RunMessage::ApiLimitExceeded.code()),
            RunFilters {
                message: Some(Message::Run(RunMessage::ApiLimitExceeded)),
                ..Default::default()
            },
        ),
    ];
    for (name, f) in extra {
        let ours = time(n, || store::list_runs(&pool, &ws, &f, 25)).await;
        let deep = RunFilters { before: Some(deep_cursor), ..f.clone() };
        let ours_deep = time(n, || store::list_runs(&pool, &ws, &deep, 25)).await;
        stats.push(Stat { name: format!("List: {name}"), ours, bare: None });
        stats.push(Stat {
            name: "  the same, 25,000 runs deep".into(),
            ours: ours_deep,
            bare: None,
        });
    }
    // The message page as bare SQL: the statement the store runs, without the neighbour probes.
    let bare_message = "SELECT r.* FROM run_messages m CROSS JOIN sync_runs r ON r.id = m.run_id \
                        WHERE m.workspace_id = ? AND m.code = ? AND r.workspace_id = ? ORDER BY m.run_id DESC LIMIT 25";
    let by_message = RunFilters { message: common, ..Default::default() };
    stats.push(Stat {
        name: format!("List: message={}, store vs bare SQL", COMMON.code()),
        ours: time(n, || store::list_runs(&pool, &ws, &by_message, 25)).await,
        bare: Some(
            time(n, || {
                sqlx::query(bare_message).bind(WS).bind(COMMON.code()).bind(WS).fetch_all(&pool)
            })
            .await,
        ),
    });
    // The biggest run: first page of its records, its last page, and its failed records.
    let (big, size): (uuid::Uuid, i64) = sqlx::query_as(
        "SELECT id, next_seq FROM sync_runs WHERE workspace_id = ? ORDER BY next_seq DESC LIMIT 1",
    )
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
        name: format!("Run ({} records): first records page", app::domain::format_count(size)),
        ours: time(n, || run_page(RecordFilter::default())).await,
        bare: Some(
            time(n, || {
                sqlx::query("SELECT * FROM run_records WHERE run_id = ? ORDER BY seq LIMIT 50")
                    .bind(big.0)
                    .fetch_all(&pool)
            })
            .await,
        ),
    });
    stats.push(Stat {
        name: format!("Run ({} records): last records page", app::domain::format_count(size)),
        ours: time(n, || run_page(RecordFilter { before: Some(size), ..Default::default() })).await,
        bare: Some(
            time(n, || {
                sqlx::query("SELECT * FROM run_records WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT 50")
                    .bind(big.0)
                    .bind(size)
                    .fetch_all(&pool)
            })
            .await,
        ),
    });
    stats.push(Stat {
        name: format!(
            "Run ({} records): failed records, deep page",
            app::domain::format_count(size)
        ),
        ours: time(n, || {
            run_page(RecordFilter {
                status: Some(RecordStatus::Failed),
                after: Some(size * 4 / 5),
                ..Default::default()
            })
        })
        .await,
        bare: None,
    });
    let watch: Vec<store::WatchedRun> = newest_first
        .runs
        .iter()
        .take(5)
        .map(|r| store::WatchedRun { id: r.id, processed: Some(r.counts.processed()) })
        .collect();
    let newest = newest_first.runs.first().map(|r| r.id);
    stats.push(Stat {
        name: "Poll: new runs + 5 watched".into(),
        ours: time(n, || store::poll_runs(&pool, &ws, &no_filters, newest, &watch)).await,
        bare: None,
    });
    // The same poll on a page filtered by the common message: new runs are looked for in its
    // run_messages entries, the watched ones by primary key.
    let message_first = store::list_runs(&pool, &ws, &by_message, 25).await.expect("list");
    let watch: Vec<store::WatchedRun> = message_first
        .runs
        .iter()
        .take(5)
        .map(|r| store::WatchedRun { id: r.id, processed: Some(r.counts.processed()) })
        .collect();
    let newest = message_first.runs.first().map(|r| r.id);
    stats.push(Stat {
        name: format!("Poll: message={}, new runs + 5 watched", COMMON.code()),
        ours: time(n, || store::poll_runs(&pool, &ws, &by_message, newest, &watch)).await,
        bare: None,
    });

    // How SQLite runs the message page, 25,000 runs deep: the SQL `list_runs` builds for it.
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT r.id, r.direction, r.status, r.failure_code FROM run_messages m \
         CROSS JOIN sync_runs r ON r.id = m.run_id WHERE m.workspace_id = ? AND m.code = ? AND r.workspace_id = ? \
         AND m.run_id < ? ORDER BY m.run_id DESC LIMIT 25",
    )
    .bind(WS)
    .bind(COMMON.code())
    .bind(WS)
    .bind(deep_cursor.0)
    .fetch_all(&pool)
    .await
    .expect("plan");
    let (version,): (String,) =
        sqlx::query_as("SELECT sqlite_version()").fetch_one(&pool).await.expect("version");
    println!("\nPlan of the message={} page, 25,000 runs deep (SQLite {version}):", COMMON.code());
    for (_, _, _, detail) in plan {
        println!("  {detail}");
    }

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
