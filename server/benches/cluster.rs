//! Several servers on one PostgreSQL database: backfill and push throughput with 1, 2 and 3
//! `server` processes sharing the sync work of many workspaces, and the CPU each process used, to
//! see where adding servers stops helping.
//!
//! ```text
//! cargo build --release -p server --bin server
//! cargo bench -p server --bench cluster -- [--servers 1,2,3] [--workspaces 6] [--records 20000]
//!     [--pushes 500] [--database postgres://postgres@127.0.0.1:5432]
//! ```
//!
//! For each server count N, from scratch: a fresh database (`--db-name`, dropped and made again),
//! a local org of `--records` records in its own process (`server fake-org`, no simulated
//! activity), and `--workspaces` workspaces connected to it as a Connect leaves one (the org's
//! refresh token sealed with the servers' key in `sync_connection`). Every server starts an
//! engine for every workspace in the database; the leases share the work among them.
//!
//! - Backfill: N servers (`--instance-name bench-1..N`) started at once, timed from their start
//!   until every workspace's every object has its backfill done and no run is in progress.
//!   Records/s: the inbound runs' records over that time.
//! - Push: `--pushes` contacts per workspace made through Conversion's own code path
//!   (`conversion::changes::create_contact`) while the benchmark holds each workspace's outbound
//!   lease, so that all are queued first; then it lets the leases go, tells the servers
//!   (`NOTIFY`), and times until every outbox is empty. Pushes/s: the outbound runs' records over
//!   that time.
//!
//! The CPU of each process over each phase is read from `/proc` (PostgreSQL: its background
//! processes and the backends of this database). Which server did what is read from their logs
//! (`target/bench/cluster/`: the scheduler's "inbound sync" and "outbound push" lines). Prints
//! Markdown tables; a benchmark reports, it does not fail on a threshold. The database is left
//! for inspection until the next run.

mod support;

use app::store::keyring::Keyring;
use app::store::leases::{self, Due};
use app::store::wakeups::{self, Wakeup};
use app::store::{self, Db, WorkspaceId};
use clap::Parser;
use server::conversion::changes::{self, ContactInput};
use sqlx::PgPool;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{BenchError, ServerProcess};

#[derive(Debug, Parser)]
struct Args {
    /// Server counts to measure, each on a fresh database (1 to 9 servers).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    servers: Vec<usize>,
    /// Workspaces, each connected to the org (1 to 50).
    #[arg(long, default_value_t = 6)]
    workspaces: usize,
    /// Records of the local org; every workspace backfills all of them.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Contacts made in Conversion per workspace, then pushed.
    #[arg(long, default_value_t = 500)]
    pushes: usize,
    /// The PostgreSQL server; the benchmark's database (`--db-name`) is made on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    database: String,
    /// The benchmark's database, dropped and made again for each server count (its name must
    /// start with `cluster_bench`).
    #[arg(long, default_value = "cluster_bench")]
    db_name: String,
    /// The servers' `--sync-interval-secs`.
    #[arg(long, default_value_t = 2)]
    sync_interval_secs: u64,
    /// First loopback port: the org on it, the servers on the next ones (the benchmarks use
    /// 3200-3299).
    #[arg(long, default_value_t = 3230)]
    port: u16,
    #[command(flatten)]
    build: support::Build,
}

/// The name under which the benchmark holds the outbound leases while it queues the changes.
const BENCH_HOLDER: &str = "cluster-bench";
/// The first admin's password (given, so the servers write no password file).
const ADMIN_PASSWORD: &str = "cluster-bench-password";
/// The longest a phase may take before the benchmark gives up.
const PHASE_LIMIT: Duration = Duration::from_secs(30 * 60);
/// The scheduler logs each object's sync and each push at info; everything else only warnings.
const SERVER_LOG: &str = "warn,server::sync::scheduler=info";

/// What `server fake-org` prints on its first line.
#[derive(serde::Deserialize)]
struct Credentials {
    login_url: String,
    instance_url: String,
    client_id: String,
    client_secret: String,
    refresh_token: String,
    username: String,
}

/// Runs and records of each direction a server logged: (runs, records).
#[derive(Debug, Default, Clone, Copy)]
struct Work {
    inbound: (u64, u64),
    outbound: (u64, u64),
}

/// One server count's results.
struct Outcome {
    servers: usize,
    backfill_records: i64,
    backfill: Duration,
    pushed: i64,
    push_failed: i64,
    push: Duration,
    queued_in: Duration,
    cpu_backfill: String,
    cpu_push: String,
    /// Each server's name, and what it did during the backfill and during the push.
    work: Vec<(String, Work, Work)>,
}

/// How every server of a measurement is started.
struct Launcher {
    binary: PathBuf,
    site: PathBuf,
    /// Where the servers run and write their logs.
    dir: PathBuf,
    interval_secs: u64,
    /// `SYNC_KEYS`: the one key that seals the stored refresh tokens, shared by all.
    keys: String,
}

impl Launcher {
    /// Starts `server` named `name` on `port` against `url`, syncing with `org` (none: no engine),
    /// its log in `<dir>/<log>.log`. Does not wait for it to answer.
    fn spawn(
        &self,
        url: &str,
        name: &str,
        port: u16,
        org: Option<&Credentials>,
        log: &str,
    ) -> Result<ServerProcess, BenchError> {
        let log = std::fs::File::create(self.dir.join(format!("{log}.log")))?;
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.dir)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--database", url, "--instance-name", name, "--workspace", "ws1"])
            .arg("--sync-interval-secs")
            .arg(self.interval_secs.to_string())
            .env("SYNC_KEYS", &self.keys)
            .env("SYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LEPTOS_SITE_ROOT", &self.site)
            .env("LEPTOS_OUTPUT_NAME", "sync-activity")
            .env("RUST_LOG", SERVER_LOG)
            .env("NO_COLOR", "1")
            .env_remove("SYNC_DEMO")
            .env_remove("SALESFORCE_REFRESH_TOKEN")
            .env_remove("SALESFORCE_CLIENT_ID")
            .stdin(Stdio::null())
            // The logs go to stdout; a failed start's sentence to stderr, shown here.
            .stdout(log);
        if let Some(org) = org {
            command
                .env("SALESFORCE_LOGIN_URL", &org.login_url)
                .env("SALESFORCE_CLIENT_ID", &org.client_id)
                .env("SALESFORCE_CLIENT_SECRET", &org.client_secret);
        }
        Ok(ServerProcess::adopt(command.spawn()?, format!("http://127.0.0.1:{port}")))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BenchError> {
    let args = Args::parse();
    if args.servers.is_empty()
        || args.servers.iter().any(|n| !(1..=9).contains(n))
        || !(1..=50).contains(&args.workspaces)
        || args.records == 0
        || args.records > 1_000_000
        || args.pushes > 100_000
    {
        return Err("--servers 1-9 each, --workspaces 1-50, --records 1-1,000,000, --pushes at most 100,000".into());
    }
    let name_ok =
        args.db_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !args.db_name.starts_with("cluster_bench") || !name_ok {
        return Err("--db-name: the benchmark drops it, so it must start with cluster_bench (lowercase letters, digits, _)".into());
    }
    let binary = args.build.binary();
    if !binary.exists() {
        return Err(format!(
            "{} not found: build it first (cargo build --release -p server --bin server, or cargo leptos build --release)",
            binary.display()
        )
        .into());
    }
    let dir = support::bench_dir().join("cluster");
    std::fs::create_dir_all(&dir)?;
    let launcher = Launcher {
        binary,
        site: args.build.site_root(),
        dir,
        interval_secs: args.sync_interval_secs.max(1),
        keys: Keyring::generate_entry("cluster-bench"),
    };
    let mut outcomes = Vec::new();
    for &n in &args.servers {
        eprintln!(
            "cluster: {n} server(s), {} workspaces × {} records, {} pushes each…",
            args.workspaces, args.records, args.pushes
        );
        outcomes.push(measure(&args, &launcher, n).await?);
    }
    report(&args, &outcomes).await
}

/// One server count, from a fresh database to the servers stopped.
async fn measure(args: &Args, launcher: &Launcher, n: usize) -> Result<Outcome, BenchError> {
    let url = fresh_database(&args.database, &args.db_name).await?;
    let (org, creds) = start_org(&launcher.binary, args.port, args.records).await?;
    let pool = store::open_postgres(&url).await?;
    let db = Db::Postgres(pool.clone());

    // A first start without an org makes the first admin and the session table, so that the N
    // servers, started at once, race for nothing but the sync work.
    let setup = launcher.spawn(&url, "bench-setup", args.port + 1, None, &format!("n{n}-setup"))?;
    wait_answering(&setup).await?;
    stop_all(vec![setup]).await;
    let workspaces: Vec<WorkspaceId> =
        (1..=args.workspaces).map(|i| WorkspaceId(format!("ws{i}"))).collect();
    let ring = Keyring::parse(&launcher.keys)?;
    let now = now_ms();
    for ws in &workspaces {
        store::ensure_workspace(&db, ws, &format!("Bench {ws}"), now).await?;
        let token = ring.seal(ws, &creds.refresh_token);
        store::save_connected(
            &db,
            ws,
            &creds.instance_url,
            Some(&creds.username),
            Some(&token),
            now,
        )
        .await?;
    }

    // Backfill: the servers' CPU counts from their start (nothing before it).
    let names: Vec<String> = (1..=n).map(|i| format!("bench-{i}")).collect();
    let logs: Vec<PathBuf> =
        names.iter().map(|name| launcher.dir.join(format!("n{n}-{name}.log"))).collect();
    let before = cpu_sample(&[], org.pid(), &args.db_name)?;
    let started = Instant::now();
    let mut servers = Vec::with_capacity(n);
    for (i, name) in names.iter().enumerate() {
        let port = args.port + 2 + i as u16;
        servers.push(launcher.spawn(&url, name, port, Some(&creds), &format!("n{n}-{name}"))?);
    }
    for server in &servers {
        wait_answering(server).await?;
    }
    eprintln!("cluster: {n} server(s) answering after {:.1} s", started.elapsed().as_secs_f64());
    let objects = (workspaces.len() * server::sync::mapping::INBOUND_ORDER.len()) as i64;
    let backfill_records = wait_backfilled(&pool, objects).await?;
    let backfill = started.elapsed();
    let pids: Vec<u32> = servers.iter().map(|s| s.pid()).collect();
    let after = cpu_sample(&pids, org.pid(), &args.db_name)?;
    let cpu_backfill = cpu_between(&before, &after, &names);
    // The last sync's log line is written just after its commit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let split: Vec<u64> =
        logs.iter().map(|l| std::fs::metadata(l).map(|m| m.len()).unwrap_or(0)).collect();

    // Push: every change queued first, under the benchmark's hold on each outbox.
    let fences = hold_outboxes(&db, &workspaces).await?;
    let queue_started = Instant::now();
    queue_contacts(&db, &workspaces, args.pushes).await?;
    let queued_in = queue_started.elapsed();
    let before = cpu_sample(&pids, org.pid(), &args.db_name)?;
    let push_started = Instant::now();
    for (ws, fence) in workspaces.iter().zip(fences) {
        leases::release(&db, ws, leases::OUTBOUND_WORK, fence, None).await?;
        wakeups::publish(&db, &Wakeup::Outbox(ws.clone())).await?;
    }
    let (pushed, push_failed) = wait_pushed(&pool).await?;
    let push = push_started.elapsed();
    let after = cpu_sample(&pids, org.pid(), &args.db_name)?;
    let cpu_push = cpu_between(&before, &after, &names);
    tokio::time::sleep(Duration::from_millis(500)).await;

    stop_all(servers).await;
    stop_all(vec![org]).await;
    pool.close().await;
    let mut work = Vec::with_capacity(n);
    for ((name, log), at) in names.iter().zip(&logs).zip(split) {
        let text = std::fs::read(log)?;
        let at = (at as usize).min(text.len());
        let (first, second) = text.split_at(at);
        let warnings = String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .count();
        if warnings > 0 {
            eprintln!(
                "cluster: {name} logged {warnings} warning(s) or error(s): {}",
                log.display()
            );
        }
        work.push((
            name.clone(),
            work_in(&String::from_utf8_lossy(first)),
            work_in(&String::from_utf8_lossy(second)),
        ));
    }
    Ok(Outcome {
        servers: n,
        backfill_records,
        backfill,
        pushed,
        push_failed,
        push,
        queued_in,
        cpu_backfill,
        cpu_push,
        work,
    })
}

/// `server` (an address, with or without a database) with the database `db`.
fn address(server: &str, db: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => base.trim_end_matches('/').to_string(),
    };
    match query {
        Some(query) => format!("{base}/{db}?{query}"),
        None => format!("{base}/{db}"),
    }
}

/// Drops the benchmark's database and makes it again, empty; returns its address.
async fn fresh_database(server: &str, name: &str) -> Result<String, BenchError> {
    use sqlx::{Connection, Executor};
    let mut admin = sqlx::PgConnection::connect(&address(server, "postgres"))
        .await
        .map_err(|e| format!("PostgreSQL at {server} (--database): {e}"))?;
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
    admin.close().await?;
    Ok(address(server, name))
}

/// `server fake-org` on `port`, once it has printed its credentials (it listens by then).
async fn start_org(
    binary: &Path,
    port: u16,
    records: usize,
) -> Result<(ServerProcess, Credentials), BenchError> {
    let mut child = Command::new(binary)
        .arg("fake-org")
        .arg("--addr")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--records", &records.to_string(), "--activity-per-minute", "0"])
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("server fake-org: no standard output")?;
    let org = ServerProcess::adopt(child, format!("http://127.0.0.1:{port}"));
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let creds = serde_json::from_str(&line)
        .map_err(|e| format!("server fake-org printed {line:?} ({e}) instead of credentials"))?;
    Ok((org, creds))
}

/// Waits until `server` answers `/healthz` (which needs nobody signed in).
async fn wait_answering(server: &ServerProcess) -> Result<(), BenchError> {
    let http = reqwest::Client::new();
    let url = format!("{}/healthz", server.base);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{url} did not answer within 60 s (its log is in target/bench/cluster/)").into())
}

/// Stops the processes at once (SIGTERM: graceful shutdown), each waited for on its own thread.
async fn stop_all(processes: Vec<ServerProcess>) {
    let stops: Vec<_> =
        processes.into_iter().map(|p| tokio::task::spawn_blocking(move || p.stop())).collect();
    for stop in stops {
        let _ = stop.await;
    }
}

/// Until every object of every workspace has its backfill done and no run is in progress;
/// returns the inbound runs' records.
async fn wait_backfilled(pool: &PgPool, objects: i64) -> Result<i64, BenchError> {
    let started = Instant::now();
    let mut told = Instant::now();
    loop {
        let (done, running, failed, records): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sync_cursors WHERE backfill_done = 1), \
             (SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress'), \
             (SELECT COUNT(*) FROM sync_runs WHERE status = 'failed'), \
             (SELECT CAST(COALESCE(SUM(next_seq), 0) AS BIGINT) FROM sync_runs WHERE direction = 'inbound')",
        )
        .fetch_one(pool)
        .await?;
        if done == objects && running == 0 {
            return Ok(records);
        }
        if started.elapsed() > PHASE_LIMIT {
            return Err(format!("backfill not done after {PHASE_LIMIT:?}: {done} of {objects} objects, {failed} failed runs").into());
        }
        if told.elapsed() >= Duration::from_secs(10) {
            told = Instant::now();
            eprintln!("cluster: {records} records, {done} of {objects} objects backfilled, {running} runs in progress, {failed} failed");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Takes each workspace's outbound work for the benchmark, so that the servers push nothing
/// until it lets go; returns the fences to let go with.
async fn hold_outboxes(db: &Db, workspaces: &[WorkspaceId]) -> Result<Vec<i64>, BenchError> {
    const HOLD_MS: i64 = 30 * 60 * 1_000;
    let mut fences = Vec::with_capacity(workspaces.len());
    for ws in workspaces {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let work = leases::OUTBOUND_WORK;
            match leases::claim(db, ws, work, BENCH_HOLDER, now_ms(), HOLD_MS, Due::Now).await? {
                Ok(claimed) => {
                    fences.push(claimed.fence);
                    break;
                }
                Err(refused) if Instant::now() > deadline => {
                    return Err(format!("{ws}: its outbound work stays taken ({refused:?})").into())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    Ok(fences)
}

/// `per_workspace` new contacts in each workspace, through Conversion's own code path (the
/// contact and its outbox row in one transaction), the workspaces side by side.
async fn queue_contacts(
    db: &Db,
    workspaces: &[WorkspaceId],
    per_workspace: usize,
) -> Result<(), BenchError> {
    let tasks: Vec<_> = workspaces
        .iter()
        .map(|ws| {
            let (db, ws) = (db.clone(), ws.clone());
            tokio::spawn(async move {
                for i in 0..per_workspace {
                    let input = ContactInput {
                        email: Some(format!("push.{i}@{ws}.example.org")),
                        last_name: Some("Pushed".into()),
                        ..Default::default()
                    };
                    changes::create_contact(&db, &ws, &input, now_ms())
                        .await
                        .map_err(|e| format!("{ws}: a contact was not made ({e})"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Until every outbox is empty and no push is in progress; returns the outbound runs' records and
/// how many of them failed.
async fn wait_pushed(pool: &PgPool) -> Result<(i64, i64), BenchError> {
    let started = Instant::now();
    let mut told = Instant::now();
    loop {
        let (queued, running, pushed, failed): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sync_outbox), \
             (SELECT COUNT(*) FROM sync_runs WHERE status = 'in_progress' AND direction = 'outbound'), \
             (SELECT CAST(COALESCE(SUM(next_seq), 0) AS BIGINT) FROM sync_runs WHERE direction = 'outbound'), \
             (SELECT CAST(COALESCE(SUM(failed), 0) AS BIGINT) FROM sync_runs WHERE direction = 'outbound')",
        )
        .fetch_one(pool)
        .await?;
        if queued == 0 && running == 0 {
            return Ok((pushed, failed));
        }
        if started.elapsed() > PHASE_LIMIT {
            return Err(format!("{queued} changes still queued after {PHASE_LIMIT:?}").into());
        }
        if told.elapsed() >= Duration::from_secs(10) {
            told = Instant::now();
            eprintln!("cluster: {pushed} pushed, {queued} queued");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The runs and records of the "inbound sync" and "outbound push" lines of a server's log.
fn work_in(log: &str) -> Work {
    let mut work = Work::default();
    for line in log.lines() {
        let slot = if line.contains(": inbound sync ") {
            &mut work.inbound
        } else if line.contains(": outbound push ") {
            &mut work.outbound
        } else {
            continue;
        };
        let field = |key: &str| -> u64 {
            line.split_whitespace()
                .find_map(|t| t.strip_prefix(key))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        slot.0 += field("runs=");
        slot.1 += field("records=");
    }
    work
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// CPU time (clock ticks) of each process at one moment, and of the whole machine.
struct CpuSample {
    at: Instant,
    servers: Vec<u64>,
    org: u64,
    /// PostgreSQL's processes by pid: backends come and go.
    postgres: HashMap<u32, u64>,
    bench: u64,
    /// The machine's busy and total ticks, all cores (`/proc/stat`).
    busy: u64,
    total: u64,
}

fn cpu_sample(servers: &[u32], org: u32, db_name: &str) -> Result<CpuSample, BenchError> {
    let ticks = |pid: u32| support::sample(pid).map(|s| s.cpu_ticks);
    let stat = std::fs::read_to_string("/proc/stat")?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = cpu.iter().sum();
    // idle and iowait.
    let idle = cpu.get(3).copied().unwrap_or(0) + cpu.get(4).copied().unwrap_or(0);
    Ok(CpuSample {
        at: Instant::now(),
        servers: servers.iter().map(|&pid| ticks(pid)).collect::<Result<_, _>>()?,
        org: ticks(org)?,
        postgres: postgres_ticks(db_name),
        bench: ticks(std::process::id())?,
        busy: total - idle,
        total,
    })
}

/// PostgreSQL's background processes and the backends connected to `db_name`: every `postgres`
/// process but other databases' backends (whose title names their client's `host(port)`).
fn postgres_ticks(db_name: &str) -> HashMap<u32, u64> {
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    let ours = format!(" {db_name} ");
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "postgres" {
            continue;
        }
        let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let title = String::from_utf8_lossy(&title).replace('\0', " ");
        if title.contains('(') && !title.contains(&ours) {
            continue;
        }
        if let Ok(s) = support::sample(pid) {
            found.insert(pid, s.cpu_ticks);
        }
    }
    found
}

/// Each process's CPU between two samples, in percent of one core.
fn cpu_between(a: &CpuSample, b: &CpuSample, names: &[String]) -> String {
    let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-3);
    let hz = support::clock_ticks();
    let pct = |ticks: u64| format!("{:.0}", ticks as f64 / hz / secs * 100.0);
    let mut parts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let was = a.servers.get(i).copied().unwrap_or(0);
            format!("{name} {}", pct(b.servers.get(i).copied().unwrap_or(0).saturating_sub(was)))
        })
        .collect();
    let postgres: u64 = b
        .postgres
        .iter()
        .map(|(pid, t)| t.saturating_sub(a.postgres.get(pid).copied().unwrap_or(0)))
        .sum();
    parts.push(format!("org {}", pct(b.org.saturating_sub(a.org))));
    parts.push(format!("PostgreSQL {}", pct(postgres)));
    parts.push(format!("bench {}", pct(b.bench.saturating_sub(a.bench))));
    let cores = cores();
    let busy = (b.busy - a.busy) as f64 / (b.total - a.total).max(1) as f64;
    parts.push(format!("machine {:.0} of {}", busy * cores as f64 * 100.0, cores * 100));
    parts.join(", ")
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Thousands separated by commas.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn report(args: &Args, outcomes: &[Outcome]) -> Result<(), BenchError> {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split_once(':').map(|(_, m)| m.trim().to_string()).unwrap_or_default())
        })
        .unwrap_or_default();
    let postgres = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&address(&args.database, "postgres")).await?;
        let v: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut c).await?;
        c.close().await?;
        v
    };
    let rate = |n: i64, d: Duration| n as f64 / d.as_secs_f64().max(1e-3);
    let one = outcomes.iter().find(|o| o.servers == 1);
    let times = |value: f64, of: Option<f64>| match of {
        Some(base) if base > 0.0 => format!("{:.2}", value / base),
        _ => "–".to_string(),
    };
    println!("\n## Several servers on one PostgreSQL database\n");
    println!(
        "{} cores ({model}), PostgreSQL {postgres}; {} workspaces, each backfilling the same local org of {} records (`server fake-org`, its own process), then pushing {} new contacts; release `server`, `--sync-interval-secs {}`.\n",
        cores(),
        args.workspaces,
        thousands(args.records as f64),
        thousands(args.pushes as f64),
        args.sync_interval_secs
    );
    println!("| Servers | Backfill records/s | × one server | Push records/s | × one server |");
    println!("|---|---|---|---|---|");
    for o in outcomes {
        let (backfill, push) = (rate(o.backfill_records, o.backfill), rate(o.pushed, o.push));
        let base = one.map(|b| (rate(b.backfill_records, b.backfill), rate(b.pushed, b.push)));
        println!(
            "| {} | {} | {} | {} | {} |",
            o.servers,
            thousands(backfill),
            times(backfill, base.map(|b| b.0)),
            thousands(push),
            times(push, base.map(|b| b.1)),
        );
    }
    println!("\n| Servers | Backfill | CPU during the backfill, % of one core |");
    println!("|---|---|---|");
    for o in outcomes {
        println!(
            "| {} | {} records in {:.1} s (from the servers' start) | {} |",
            o.servers,
            thousands(o.backfill_records as f64),
            o.backfill.as_secs_f64(),
            o.cpu_backfill
        );
    }
    println!("\n| Servers | Push | CPU during the push, % of one core |");
    println!("|---|---|---|");
    for o in outcomes {
        println!(
            "| {} | {} records in {:.2} s, {} failed (queued beforehand in {:.1} s) | {} |",
            o.servers,
            thousands(o.pushed as f64),
            o.push.as_secs_f64(),
            o.push_failed,
            o.queued_in.as_secs_f64(),
            o.cpu_push
        );
    }
    println!("\n| Servers | Server | Backfill: inbound runs (records) | Push: outbound runs (records) | Push: inbound runs (records) |");
    println!("|---|---|---|---|---|");
    for o in outcomes {
        for (name, backfill, push) in &o.work {
            let cell =
                |(runs, records): (u64, u64)| format!("{runs} ({})", thousands(records as f64));
            println!(
                "| {} | {name} | {} | {} | {} |",
                o.servers,
                cell(backfill.inbound),
                cell(push.outbound),
                cell(push.inbound)
            );
        }
    }
    Ok(())
}
