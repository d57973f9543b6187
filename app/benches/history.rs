//! History benchmark: the list, a run's records and a poll on a workspace with years of history,
//! on SQLite, on PostgreSQL, or on both side by side.
//!
//! ```text
//! cargo bench -p app --features ssr --bench history -- [--runs 1000000] [--records 20000000] [--db PATH-or-postgres-URL]... [--iterations 200]
//! ```
//!
//! `--db` is a SQLite file (default `target/bench/history.db`; a relative path is taken from the
//! workspace root) or a PostgreSQL address
//! (`postgres://postgres@127.0.0.1:5432/history_bench`; the database is created when missing);
//! given more than once, each database is measured in turn and a table puts them side by side.
//! Each database is filled once (it is reused when it already has the requested size) with
//! `--runs` runs, exactly `--records` run records and the message index (`run_messages`) over
//! them, then the benchmark reports the server-side time of each query the pages make, through
//! our store layer ("ours") and as the statement the store runs, bare ("bare"), median and p95.

use app::domain::{
    Direction, Message, ObjectType, RecordFilter, RecordMessage, RecordStatus, RunFilters, RunId,
    RunMessage, RunStatus,
};
use app::store::{self, Db, Location, WorkspaceId};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{Connection, SqlitePool};
use std::str::FromStr;
use std::time::{Duration, Instant};
use uuid::Uuid;

struct Args {
    runs: i64,
    records: i64,
    dbs: Vec<String>,
    iterations: usize,
}

fn args() -> Args {
    let mut a = Args { runs: 1_000_000, records: 20_000_000, dbs: Vec::new(), iterations: 200 };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--runs" => a.runs = value.parse().expect("--runs takes a number"),
            "--records" => a.records = value.parse().expect("--records takes a number"),
            "--db" => a.dbs.push(from_workspace(value)),
            "--iterations" => a.iterations = value.parse().expect("--iterations takes a number"),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if a.dbs.is_empty() {
        a.dbs.push(from_workspace("target/bench/history.db".into()));
    }
    a
}

/// A relative SQLite path from the workspace root: cargo runs a bench in its package's folder
/// (`app/`), not where the command was typed.
fn from_workspace(db: String) -> String {
    match Location::parse(&db) {
        Location::File(path) if path.is_relative() => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let root = root.canonicalize().unwrap_or(root);
            root.join(path).display().to_string()
        }
        _ => db,
    }
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

async fn fill_sqlite(pool: &SqlitePool, runs: i64, records: i64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let ws = WorkspaceId(WS.into());
    store::ensure_workspace(&Db::Sqlite(pool.clone()), &ws, "Bench", T0).await?;
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
    fill_run_messages_sqlite(pool).await?;
    eprintln!("  database ready in {:.1?}", started.elapsed());
    Ok(())
}

/// `run_messages` from what the fill wrote, as the migration builds it for an existing database:
/// the store's append keeps it for records, a trigger for a failure set by UPDATE, and the fill
/// goes through neither.
async fn fill_run_messages_sqlite(pool: &SqlitePool) -> Result<(), sqlx::Error> {
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

/// Creates the PostgreSQL database `url` names when it does not exist (connecting to the
/// server's `postgres` database to do it).
async fn create_postgres_database(url: &str) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options.get_database().unwrap_or("postgres").to_string();
    let mut c = PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut c)
        .await?
        .is_some();
    if !exists {
        eprintln!("Creating database {name}");
        sqlx::raw_sql(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")))
            .execute(&mut c)
            .await?;
    }
    c.close().await
}

/// The same data as [`fill_sqlite`], in PostgreSQL's dialect: `generate_series` for the recursive
/// sequences, the UUIDv7 built as hex (the start time's 48 bits, version 7, the RFC variant, random
/// bits) and cast to `uuid`, `COUNT(*) FILTER` for the counts. One transaction (a fill that stops
/// leaves no half-filled database), on one connection that neither waits for the WAL to reach
/// the disk at commit nor runs the foreign-key and failure triggers (`session_replication_role =
/// replica`: every record's run exists by construction, and `run_messages` is written here).
/// Records are written a slice of runs at a time, in primary-key order, and each slice's counts
/// right after it while its records are in the cache.
async fn fill_postgres(pool: &PgPool, runs: i64, records: i64) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let ws = WorkspaceId(WS.into());
    store::ensure_workspace(&Db::Postgres(pool.clone()), &ws, "Bench", T0).await?;
    let mut c = pool.acquire().await?.detach();
    sqlx::raw_sql(
        "SET synchronous_commit = off; SET session_replication_role = replica; \
         SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'",
    )
    .execute(&mut c)
    .await?;
    let mut tx = c.begin().await?;
    let big_runs = BIG_RUNS.min(records / 20 / BIG_RUN_SIZE);
    let small = ((records - big_runs * BIG_RUN_SIZE) / runs.max(1)).max(3);
    // `h` is evaluated once a row (a subquery with a volatile output is not merged into its
    // parent): 3 random hex digits after the version, 15 after the variant digit.
    sqlx::query(
        "INSERT INTO sync_runs (id, workspace_id, direction, object_type, trigger, status, started_at, finished_at,
                                expected_total, next_seq, failure_code, failure_detail)
         SELECT (lpad(to_hex($2 + i * $3), 12, '0') || '7' || substr(h, 1, 3)
                 || to_hex(8 + floor(random() * 4)::int) || substr(h, 4, 15))::uuid,
                $4,
                CASE WHEN i % 3 = 0 THEN 'outbound' ELSE 'inbound' END,
                CASE i % 6 WHEN 0 THEN 'contact' WHEN 1 THEN 'lead' WHEN 2 THEN 'company' WHEN 3 THEN 'opportunity'
                           WHEN 4 THEN 'opportunity_contact_role' ELSE 'event' END,
                CASE WHEN i % 3 = 0 THEN 'push' WHEN i < $5 THEN 'backfill' ELSE 'scheduled' END,
                CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'completed' END,
                $2 + i * $3, $2 + i * $3 + 1500 + i % 5000,
                CASE WHEN i < $5 THEN $6 ELSE $7 + i % 5 END,
                CASE WHEN i % 97 = 0 THEN 0 WHEN i < $5 THEN $6 ELSE $7 + i % 5 END,
                CASE WHEN i % 97 = 0 THEN 'api_limit_exceeded' END,
                CASE WHEN i % 97 = 0 THEN 'REQUEST_LIMIT_EXCEEDED' END
         FROM (SELECT i, md5(random()::text) AS h FROM generate_series(0, $1 - 1) AS i) AS n
         ORDER BY i",
    )
    .bind(runs)
    .bind(T0)
    .bind(SPACING_MS)
    .bind(WS)
    .bind(big_runs)
    .bind(BIG_RUN_SIZE)
    .bind(small - 2)
    .execute(&mut *tx)
    .await?;
    // Exactly `records`, as in the SQLite fill.
    loop {
        let (have,): (i64,) =
            sqlx::query_as("SELECT CAST(COALESCE(SUM(next_seq), 0) AS BIGINT) FROM sync_runs")
                .fetch_one(&mut *tx)
                .await?;
        let missing = records - have;
        if missing == 0 {
            break;
        }
        let step = missing.signum();
        let moved = sqlx::query(
            "UPDATE sync_runs SET next_seq = next_seq + $1, expected_total = expected_total + $1
             WHERE id IN (SELECT id FROM sync_runs WHERE status = 'completed' AND next_seq + $1 BETWEEN 1 AND $2 - 1
                          ORDER BY id LIMIT $3)",
        )
        .bind(step)
        .bind(BIG_RUN_SIZE)
        .bind(missing.abs())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            panic!("cannot spread {records} records over {runs} runs");
        }
    }
    eprintln!("  {runs} runs written in {:.1?}", started.elapsed());
    // The runs in slices of their start times (a slice is an id range: run i started at
    // T0 + i minutes, and its id begins with that time).
    let slices = 20.min(runs.max(1));
    for s in 0..slices {
        let from = RunId::lower_bound(T0 + runs * s / slices * SPACING_MS).0;
        let to = RunId::lower_bound(T0 + runs * (s + 1) / slices * SPACING_MS).0;
        sqlx::query(&format!(
            "INSERT INTO run_records (run_id, seq, status, action, message_code, detail, salesforce_id, conversion_id, label,
                                      external_created_at, external_updated_at)
             SELECT run_id, seq, status, action, {RECORD_MESSAGE_SQL}, NULL, salesforce_id, conversion_id, label,
                    external_created_at, external_updated_at
             FROM (SELECT r.id AS run_id, n.i AS seq, r.direction,
                          CASE WHEN (n.i * 7 + r.started_at / 60000) % 23 = 0 THEN 'failed'
                               WHEN (n.i * 7 + r.started_at / 60000) % 11 = 0 THEN 'skipped' ELSE 'success' END AS status,
                          CASE n.i % 10 WHEN 0 THEN 'created' WHEN 9 THEN 'deleted' ELSE 'updated' END AS action,
                          (n.i * 7919 + (r.started_at / 60000) * 104729) % 10000 AS k,
                          '0035g0000' || lpad(n.i::text, 9, '0') AS salesforce_id, 'con_' || n.i AS conversion_id,
                          'Contact ' || n.i AS label,
                          r.started_at - CAST(86400000 AS BIGINT) * 30 AS external_created_at,
                          r.started_at - 60000 AS external_updated_at
                   FROM (SELECT id, direction, started_at, next_seq FROM sync_runs
                         WHERE id >= $1 AND id < $2 ORDER BY id) AS r
                   CROSS JOIN LATERAL generate_series(CAST(0 AS BIGINT), r.next_seq - 1) AS n(i)) AS x",
        ))
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        // Counts equal what the records say.
        sqlx::query(
            "UPDATE sync_runs SET created = c.created, updated = c.updated, deleted = c.deleted,
                                  skipped = c.skipped, failed = c.failed
             FROM (SELECT run_id,
                          COUNT(*) FILTER (WHERE status = 'success' AND action = 'created') AS created,
                          COUNT(*) FILTER (WHERE status = 'success' AND action = 'updated') AS updated,
                          COUNT(*) FILTER (WHERE status = 'success' AND action = 'deleted') AS deleted,
                          COUNT(*) FILTER (WHERE status = 'skipped') AS skipped,
                          COUNT(*) FILTER (WHERE status = 'failed') AS failed
                   FROM run_records WHERE run_id >= $1 AND run_id < $2 GROUP BY run_id) AS c
             WHERE sync_runs.id = c.run_id",
        )
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        eprintln!("  records of slice {}/{slices} written in {:.1?}", s + 1, started.elapsed());
    }
    fill_run_messages_postgres(&mut tx).await?;
    tx.commit().await?;
    eprintln!("  committed in {:.1?}", started.elapsed());
    vacuum_analyze(&mut c).await?;
    c.close().await?;
    eprintln!("  database ready in {:.1?}", started.elapsed());
    Ok(())
}

/// `run_messages` from what the fill wrote, in key order (the SQLite fill's statements, grouped
/// by the run's primary key as PostgreSQL requires).
async fn fill_run_messages_postgres(c: &mut PgConnection) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type, records)
         SELECT s.workspace_id, r.message_code, s.id, s.direction, s.object_type, COUNT(*)
         FROM run_records r JOIN sync_runs s ON s.id = r.run_id
         WHERE r.message_code IS NOT NULL
         GROUP BY s.id, r.message_code
         ORDER BY s.workspace_id, r.message_code, s.id",
    )
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO run_messages (workspace_id, code, run_id, direction, object_type)
         SELECT workspace_id, failure_code, id, direction, object_type FROM sync_runs WHERE failure_code IS NOT NULL
         ORDER BY workspace_id, failure_code, id
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut *c)
    .await?;
    eprintln!("  run_messages filled in {:.1?}", started.elapsed());
    Ok(())
}

/// Statistics for the planner, and the dead rows the counts' UPDATE left removed and the
/// visibility map set (what autovacuum would do some time later, so it does not happen
/// during a measurement).
async fn vacuum_analyze(c: &mut PgConnection) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    sqlx::raw_sql("VACUUM (ANALYZE) sync_runs, run_records, run_messages").execute(&mut *c).await?;
    eprintln!("  VACUUM ANALYZE in {:.1?}", started.elapsed());
    Ok(())
}

/// A value bound to a bare statement.
#[derive(Clone)]
enum Arg {
    Text(&'static str),
    Id(Uuid),
    Int(i64),
}

/// A statement run bare: its text (`$N` placeholders, which both backends bind by number) and its
/// values.
#[derive(Clone, Default)]
struct Bare {
    sql: String,
    args: Vec<Arg>,
}

impl Bare {
    /// Adds a value; returns its placeholder.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

/// Runs `statements` one after the other, rows fetched but not decoded; returns the rows.
async fn run_bare(db: &Db, statements: &[Bare]) -> usize {
    let mut rows = 0;
    for b in statements {
        rows += app::on_db!(db, |pool| {
            let mut q = sqlx::query(&b.sql);
            for a in &b.args {
                q = match a {
                    Arg::Text(s) => q.bind(*s),
                    Arg::Id(u) => q.bind(*u),
                    Arg::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(pool).await.expect("bare statement").len()
        });
    }
    rows
}

/// `SELECT {select} FROM` the runs matching `f` (never its cursor) as the store writes it for the
/// backend (`pg`): the same driving index, join and hints; and the column it pages by.
fn bare_filtered(select: &str, f: &RunFilters, pg: bool) -> (Bare, &'static str) {
    let mut b = Bare::default();
    let by_status = matches!(f.status, Some(RunStatus::Failed | RunStatus::InProgress));
    let by_message = !by_status && f.message.is_some();
    let mut sql;
    if by_message {
        let m = f.message.expect("message");
        let (ws, code, ws2) =
            (b.arg(Arg::Text(WS)), b.arg(Arg::Text(m.code())), b.arg(Arg::Text(WS)));
        let join = if pg { "JOIN" } else { "CROSS JOIN" };
        sql = format!(
            "SELECT {select} FROM run_messages m {join} sync_runs r ON r.id = m.run_id \
             WHERE m.workspace_id = {ws} AND m.code = {code} AND r.workspace_id = {ws2}"
        );
    } else if by_status {
        let ws = b.arg(Arg::Text(WS));
        let hint = if pg { "" } else { " INDEXED BY sync_runs_by_status" };
        sql = format!("SELECT {select} FROM sync_runs r{hint} WHERE r.workspace_id = {ws}");
        if let Some(m) = f.message {
            let code = b.arg(Arg::Text(m.code()));
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM run_messages m WHERE m.workspace_id = r.workspace_id \
                 AND m.code = {code} AND m.run_id = r.id)"
            );
        }
    } else {
        let ws = b.arg(Arg::Text(WS));
        sql = format!("SELECT {select} FROM sync_runs r WHERE r.workspace_id = {ws}");
    }
    let t = if by_message { "m" } else { "r" };
    if let Some(d) = f.direction {
        sql += &format!(" AND {t}.direction = {}", b.arg(Arg::Text(d.as_str())));
    }
    if let Some(o) = f.object_type {
        sql += &format!(" AND {t}.object_type = {}", b.arg(Arg::Text(o.as_str())));
    }
    if let Some(s) = f.status {
        sql += &format!(" AND r.status = {}", b.arg(Arg::Text(s.as_str())));
    }
    let id = if by_message { "m.run_id" } else { "r.id" };
    if let Some(from) = f.from_ms {
        sql += &format!(" AND {id} >= {}", b.arg(Arg::Id(RunId::lower_bound(from).0)));
    }
    if let Some(to) = f.to_ms {
        sql += &format!(" AND {id} < {}", b.arg(Arg::Id(RunId::lower_bound(to).0)));
    }
    b.sql = sql;
    (b, id)
}

/// The statement behind a page of the list (without the two neighbour probes).
fn bare_list(f: &RunFilters, pg: bool, limit: i64) -> Vec<Bare> {
    let (mut b, id) = bare_filtered("r.*", f, pg);
    let ascending = f.after.is_some() && f.before.is_none();
    if let Some(before) = f.before {
        let v = b.arg(Arg::Id(before.0));
        b.sql += &format!(" AND {id} < {v}");
    } else if let Some(after) = f.after {
        let v = b.arg(Arg::Id(after.0));
        b.sql += &format!(" AND {id} > {v}");
    }
    let limit = b.arg(Arg::Int(limit));
    b.sql += &format!(" ORDER BY {id} {} LIMIT {limit}", if ascending { "ASC" } else { "DESC" });
    vec![b]
}

/// The two one-row probes the store runs after a page of the list that has runs: is there a
/// newer run than its first, an older one than its last (not timed bare; shown in the plans).
fn bare_probes(f: &RunFilters, pg: bool, page: &store::RunsPage) -> Vec<Bare> {
    let (Some(first), Some(last)) = (page.runs.first(), page.runs.last()) else {
        return Vec::new();
    };
    [(">", first.id), ("<", last.id)]
        .into_iter()
        .map(|(op, run)| {
            let (mut b, id) = bare_filtered("1", f, pg);
            let v = b.arg(Arg::Id(run.0));
            b.sql += &format!(" AND {id} {op} {v} LIMIT 1");
            b
        })
        .collect()
}

/// The statements behind a poll: runs newer than `newest`, and the watched runs by id.
fn bare_poll(f: &RunFilters, pg: bool, newest: Option<RunId>, watch: &[RunId]) -> Vec<Bare> {
    let mut out = Vec::new();
    if let Some(newest) = newest {
        let (mut b, id) = bare_filtered("r.*", f, pg);
        let (newest, limit) = (b.arg(Arg::Id(newest.0)), b.arg(Arg::Int(store::PAGE_SIZE)));
        b.sql += &format!(" AND {id} > {newest} ORDER BY {id} DESC LIMIT {limit}");
        out.push(b);
    }
    if !watch.is_empty() {
        let mut b = Bare::default();
        let ws = b.arg(Arg::Text(WS));
        let ids: Vec<String> = watch.iter().map(|w| b.arg(Arg::Id(w.0))).collect();
        b.sql = format!(
            "SELECT r.* FROM sync_runs r WHERE workspace_id = {ws} AND id IN ({}) ORDER BY id DESC",
            ids.join(", ")
        );
        out.push(b);
    }
    out
}

/// The statement behind a page of a run's records.
fn bare_records(run: RunId, f: &RecordFilter, limit: i64) -> Vec<Bare> {
    let mut b = Bare::default();
    let run = b.arg(Arg::Id(run.0));
    b.sql = format!("SELECT * FROM run_records WHERE run_id = {run}");
    if let Some(s) = f.status {
        let v = b.arg(Arg::Text(s.as_str()));
        b.sql += &format!(" AND status = {v}");
    }
    let descending = f.before.is_some() && f.after.is_none();
    if let Some(after) = f.after {
        let v = b.arg(Arg::Int(after));
        b.sql += &format!(" AND seq > {v}");
    } else if let Some(before) = f.before {
        let v = b.arg(Arg::Int(before));
        b.sql += &format!(" AND seq < {v}");
    }
    let limit = b.arg(Arg::Int(limit));
    b.sql += &format!(" ORDER BY seq {} LIMIT {limit}", if descending { "DESC" } else { "ASC" });
    vec![b]
}

struct Stat {
    name: String,
    ours: (Duration, Duration),
    bare: (Duration, Duration),
    /// What "bare" runs.
    statements: Vec<Bare>,
    /// What the store runs besides (the list's neighbour probes), for the plans.
    probes: Vec<Bare>,
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

/// One row: `ours` through the store, then the bare `statements`.
async fn row<F, Fut, T>(db: &Db, n: usize, name: String, ours: F, statements: Vec<Bare>) -> Stat
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let ours = time(n, ours).await;
    let bare = time(n, || run_bare(db, &statements)).await;
    Stat { name, ours, bare, statements, probes: Vec::new() }
}

/// A row of a list page: through the store (the page, and its neighbour probes when it has runs)
/// and its statement bare.
async fn list_row(db: &Db, n: usize, name: String, f: &RunFilters) -> Stat {
    let ws = WorkspaceId(WS.into());
    let pg = db.is_postgres();
    let page = store::list_runs(db, &ws, f, 25).await.expect("list");
    let ours = || store::list_runs(db, &ws, f, 25);
    let mut stat = row(db, n, name, ours, bare_list(f, pg, 25)).await;
    stat.probes = bare_probes(f, pg, &page);
    stat
}

/// Opens the database at `location` (creating a PostgreSQL database when missing), fills it when
/// empty and checks it holds the requested size. Returns the database and its fill time, if it
/// was filled now.
async fn prepare(location: &str, a: &Args) -> (Db, Option<Duration>) {
    let loc = Location::parse(location);
    if let Location::Postgres(url) = &loc {
        create_postgres_database(url).await.expect("create the PostgreSQL database");
    }
    let db = store::open(&loc).await.expect("open database");
    let remove = match &loc {
        Location::File(_) => "remove it or pass another --db".to_string(),
        Location::Postgres(url) => format!(
            "drop it (dropdb {}) or pass another --db",
            PgConnectOptions::from_str(url)
                .ok()
                .and_then(|o| o.get_database().map(String::from))
                .unwrap_or_default()
        ),
    };
    let (have,): (i64,) = app::on_db!(&db, |pool| {
        sqlx::query_as("SELECT COUNT(*) FROM sync_runs").fetch_one(pool).await.expect("count")
    });
    let mut filled = None;
    if have != a.runs {
        if have != 0 {
            panic!("{location} holds {have} runs, not {}; {remove}", a.runs);
        }
        eprintln!("Filling {location} with {} runs and {} records…", a.runs, a.records);
        let started = Instant::now();
        match &db {
            Db::Sqlite(pool) => fill_sqlite(pool, a.runs, a.records).await.expect("fill"),
            Db::Postgres(pool) => fill_postgres(pool, a.runs, a.records).await.expect("fill"),
        }
        filled = Some(started.elapsed());
    }
    if let Db::Sqlite(pool) = &db {
        let (id_type,): (String,) = sqlx::query_as("SELECT typeof(id) FROM sync_runs LIMIT 1")
            .fetch_one(pool)
            .await
            .expect("id type");
        if id_type != "blob" {
            panic!("{location}: run ids are {id_type}, not blob (made by an older version of this benchmark, whose deep pages, date ranges and run pages were empty); {remove}");
        }
    }
    let (records,): (i64,) = app::on_db!(&db, |pool| {
        sqlx::query_as("SELECT COUNT(*) FROM run_records").fetch_one(pool).await.expect("count")
    });
    if records != a.records {
        panic!("{location} holds {records} records, not {} (filled for another size, or by an older version of this benchmark); {remove}", a.records);
    }
    // A database filled before the fill wrote the message index (the migration that adds it only
    // indexes what exists when it runs) gets it now.
    let count_messages = || async {
        let (n,): (i64,) = app::on_db!(&db, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM run_messages")
                .fetch_one(pool)
                .await
                .expect("count")
        });
        n
    };
    if count_messages().await == 0 {
        eprintln!("Filling run_messages…");
        match &db {
            Db::Sqlite(pool) => fill_run_messages_sqlite(pool).await.expect("fill run_messages"),
            Db::Postgres(pool) => {
                let mut c = pool.acquire().await.expect("connection");
                fill_run_messages_postgres(&mut c).await.expect("fill run_messages");
                vacuum_analyze(&mut c).await.expect("vacuum");
            }
        }
    }
    eprintln!(
        "Database {location} ({}): {} runs, {records} records, {} run_messages rows",
        db.backend().name(),
        a.runs,
        count_messages().await
    );
    (db, filled)
}

/// Every query of the pages, through the store and bare.
async fn measure(db: &Db, a: &Args) -> Vec<Stat> {
    let pg = db.is_postgres();
    let ws = WorkspaceId(WS.into());
    let n = a.iterations;
    let mut stats = Vec::new();
    let no_filters = RunFilters::default();
    let newest_first = store::list_runs(db, &ws, &RunFilters::default(), 25).await.expect("list");
    // The cursor of page 1,000: the 25,000th newest run.
    let (deep_cursor,): (Uuid,) = app::on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id FROM sync_runs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2",
        )
        .bind(WS)
        .bind((a.runs - 1).min(24_999))
        .fetch_one(pool)
        .await
        .expect("deep cursor")
    });
    let deep_cursor = RunId(deep_cursor);

    stats.push(list_row(db, n, "List: first page".into(), &no_filters).await);
    let deep = RunFilters { before: Some(deep_cursor), ..Default::default() };
    stats.push(list_row(db, n, "List: page 1,000".into(), &deep).await);
    let week_ago = T0 + (a.runs - 1) * SPACING_MS - 7 * 86_400_000;
    let mut filters = Vec::new();
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
                let name = [
                    direction.map(|d| format!("direction={d}")),
                    object.map(|o| format!("object={o}")),
                    range.map(|_| "one day a week ago".to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
                filters.push((name, f));
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
    filters.extend([
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
    ]);
    for (name, f) in filters {
        stats.push(list_row(db, n, format!("List: {name}"), &f).await);
        let deep = RunFilters { before: Some(deep_cursor), ..f.clone() };
        stats.push(list_row(db, n, "  the same, 25,000 runs deep".into(), &deep).await);
    }
    // The biggest run: first page of its records, its last page, and its failed records.
    let (big, size): (Uuid, i64) = app::on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, next_seq FROM sync_runs WHERE workspace_id = $1 ORDER BY next_seq DESC LIMIT 1",
        )
        .bind(WS)
        .fetch_one(pool)
        .await
        .expect("big run")
    });
    let big = RunId(big);
    let run_page = |f: RecordFilter| {
        let ws = ws.clone();
        async move {
            store::get_run(db, &ws, big).await.expect("run");
            store::list_records(db, &ws, big, &f, 50).await.expect("records")
        }
    };
    let big_size = app::domain::format_count(size);
    for (what, f) in [
        ("first records page", RecordFilter::default()),
        ("last records page", RecordFilter { before: Some(size), ..Default::default() }),
        (
            "failed records, deep page",
            RecordFilter {
                status: Some(RecordStatus::Failed),
                after: Some(size * 4 / 5),
                ..Default::default()
            },
        ),
    ] {
        let statements = bare_records(big, &f, 50);
        stats.push(
            row(db, n, format!("Run ({big_size} records): {what}"), || run_page(f), statements)
                .await,
        );
    }
    let watched = |page: &store::RunsPage| -> Vec<store::WatchedRun> {
        page.runs
            .iter()
            .take(5)
            .map(|r| store::WatchedRun { id: r.id, processed: Some(r.counts.processed()) })
            .collect()
    };
    let watch = watched(&newest_first);
    let newest = newest_first.runs.first().map(|r| r.id);
    let ids: Vec<RunId> = watch.iter().map(|w| w.id).collect();
    stats.push(
        row(
            db,
            n,
            "Poll: new runs + 5 watched".into(),
            || store::poll_runs(db, &ws, &no_filters, newest, &watch),
            bare_poll(&no_filters, pg, newest, &ids),
        )
        .await,
    );
    // The same poll on a page filtered by the common message: new runs are looked for in its
    // run_messages entries, the watched ones by primary key.
    let by_message = RunFilters { message: common, ..Default::default() };
    let message_first = store::list_runs(db, &ws, &by_message, 25).await.expect("list");
    let watch = watched(&message_first);
    let newest = message_first.runs.first().map(|r| r.id);
    let ids: Vec<RunId> = watch.iter().map(|w| w.id).collect();
    stats.push(
        row(
            db,
            n,
            format!("Poll: message={}, new runs + 5 watched", COMMON.code()),
            || store::poll_runs(db, &ws, &by_message, newest, &watch),
            bare_poll(&by_message, pg, newest, &ids),
        )
        .await,
    );
    // How the backend runs the message page, 25,000 runs deep (the statements `list_runs` runs
    // for it), and the statements of the row with the highest p95 through the store.
    let message_deep =
        RunFilters { message: common, before: Some(deep_cursor), ..Default::default() };
    let page = store::list_runs(db, &ws, &message_deep, 25).await.expect("list");
    let mut statements = bare_list(&message_deep, pg, 25);
    statements.extend(bare_probes(&message_deep, pg, &page));
    print_plan(db, &format!("the message={} page, 25,000 runs deep", COMMON.code()), &statements)
        .await;
    if let Some(worst) = stats.iter().max_by_key(|s| s.ours.1) {
        let statements: Vec<Bare> = worst.statements.iter().chain(&worst.probes).cloned().collect();
        let what = format!("the slowest row by p95 through the store, \"{}\"", worst.name.trim());
        print_plan(db, &what, &statements).await;
    }
    stats
}

/// A value as an SQL literal.
fn literal(a: &Arg) -> String {
    match a {
        Arg::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Arg::Id(u) => format!("'{u}'::uuid"),
        Arg::Int(i) => i.to_string(),
    }
}

/// The plan of `statements`. On SQLite `EXPLAIN QUERY PLAN`. On PostgreSQL `EXPLAIN (ANALYZE,
/// BUFFERS)` of each as the store's connections run it: sqlx keeps a statement prepared on its
/// connection, and from its sixth execution PostgreSQL may run a generic plan, made without the
/// values (`$1` in the plan), so the statement is prepared and executed five times first.
async fn print_plan(db: &Db, what: &str, statements: &[Bare]) {
    let version: String = match db {
        Db::Sqlite(pool) => {
            let (v,): (String,) =
                sqlx::query_as("SELECT sqlite_version()").fetch_one(pool).await.expect("version");
            format!("SQLite {v}")
        }
        Db::Postgres(pool) => {
            let (v,): (String,) =
                sqlx::query_as("SHOW server_version").fetch_one(pool).await.expect("version");
            format!("PostgreSQL {v}, sixth execution of the prepared statement")
        }
    };
    println!("\nPlan of {what} ({version}):");
    for b in statements {
        println!("  {}", b.sql);
        let lines: Vec<String> = match db {
            Db::Sqlite(pool) => {
                let sql = format!("EXPLAIN QUERY PLAN {}", b.sql);
                let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
                for a in &b.args {
                    q = match a {
                        Arg::Text(s) => q.bind(*s),
                        Arg::Id(u) => q.bind(*u),
                        Arg::Int(i) => q.bind(*i),
                    };
                }
                q.fetch_all(pool).await.expect("plan").into_iter().map(|r| r.3).collect()
            }
            Db::Postgres(pool) => {
                let mut c = pool.acquire().await.expect("connection");
                let values = b.args.iter().map(literal).collect::<Vec<_>>().join(", ");
                sqlx::raw_sql(&format!("PREPARE bench_plan AS {}", b.sql))
                    .execute(&mut *c)
                    .await
                    .expect("prepare");
                for _ in 0..5 {
                    sqlx::raw_sql(&format!("EXECUTE bench_plan({values})"))
                        .execute(&mut *c)
                        .await
                        .expect("execute");
                }
                let rows = sqlx::raw_sql(&format!(
                    "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_plan({values})"
                ))
                .fetch_all(&mut *c)
                .await
                .expect("plan");
                sqlx::raw_sql("DEALLOCATE bench_plan").execute(&mut *c).await.expect("deallocate");
                rows.iter()
                    .map(|r| {
                        use sqlx::Row;
                        r.get::<String, _>(0)
                    })
                    .collect()
            }
        };
        for l in lines {
            println!("    {l}");
        }
    }
}

fn print_table(stats: &[Stat]) {
    println!("| Query | ours median ms | ours p95 ms | bare median ms | bare p95 ms | ratio |");
    println!("|---|---:|---:|---:|---:|---:|");
    for s in stats {
        println!(
            "| {} | {} | {} | {} | {} | {:.1}x |",
            s.name,
            ms(s.ours.0),
            ms(s.ours.1),
            ms(s.bare.0),
            ms(s.bare.1),
            s.ours.0.as_secs_f64() / s.bare.0.as_secs_f64()
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let mut results = Vec::new();
    for location in &a.dbs {
        let (db, filled) = prepare(location, &a).await;
        let stats = measure(&db, &a).await;
        let backend = db.backend().name();
        println!(
            "\n{backend}, {location}: {} runs, {} records{}, {} iterations after 5 warm-up runs\n",
            a.runs,
            a.records,
            filled.map(|d| format!(", filled now in {d:.1?}")).unwrap_or_default(),
            a.iterations
        );
        print_table(&stats);
        db.close().await;
        results.push((backend, stats));
    }
    if results.len() > 1 {
        println!("\nSide by side (ms):\n");
        let mut head = "| Query |".to_string();
        let mut rule = "|---|".to_string();
        for (backend, _) in &results {
            head += &format!(
                " {backend} ours median | {backend} ours p95 | {backend} bare median | {backend} bare p95 |"
            );
            rule += "---:|---:|---:|---:|";
        }
        println!("{head}\n{rule}");
        for (i, s) in results[0].1.iter().enumerate() {
            let mut line = format!("| {} |", s.name);
            for (_, stats) in &results {
                let t = &stats[i];
                line += &format!(
                    " {} | {} | {} | {} |",
                    ms(t.ours.0),
                    ms(t.ours.1),
                    ms(t.bare.0),
                    ms(t.bare.1)
                );
            }
            println!("{line}");
        }
    }
}
