//! A retention pass on the history benchmark's database while the live view's pollers poll: the
//! server's own pass (`server::retention::pass`, its steps and its pause between them) deletes the
//! oldest `--days` of history while `--pollers` tasks each make the live view's poll (new runs and
//! five watched runs, `store::poll_runs`) every two seconds, as that many open Sync activity tabs
//! do. Reports the pollers' latency before the pass and during it (p50, p95, p99, max), and what
//! the pass deleted in how long.
//!
//! The pass deletes for real: run it on a copy of the history database.
//!
//! ```text
//! cargo bench -p app --features ssr --bench history -- --db target/bench/history.db   # fills it
//! cp target/bench/history.db target/bench/retention.db
//! cargo bench -p server --bench retention -- --db target/bench/retention.db [--days 30] [--pollers 500] [--baseline-secs 20]
//! ```

use app::domain::{RunFilters, RunId};
use app::store::{self, Location, WatchedRun, WorkspaceId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const WS: &str = "bench";
const DAY_MS: i64 = 86_400_000;
/// The live view's poll interval (`components::live::POLL_MS`).
const POLL: Duration = Duration::from_millis(2_000);

fn arg(name: &str) -> Option<String> {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter().position(|a| a == name).and_then(|i| argv.get(i + 1).cloned())
}

fn from_workspace(db: String) -> String {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with('/') {
        db
    } else {
        format!("../{db}")
    }
}

/// Latencies in a phase, sorted on read.
#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn row(&mut self, phase: &str) -> String {
        self.0.sort();
        let n = self.0.len();
        let at = |q: f64| self.0[((n as f64 * q) as usize).min(n.saturating_sub(1))];
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
        if n == 0 {
            return format!("| {phase} | 0 | | | | |");
        }
        format!(
            "| {phase} | {n} | {} | {} | {} | {} |",
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(0.99)),
            ms(self.0[n - 1])
        )
    }
}

#[tokio::main]
async fn main() {
    let location =
        from_workspace(arg("--db").unwrap_or_else(|| "target/bench/retention.db".into()));
    let days: i64 = arg("--days").map_or(30, |v| v.parse().expect("--days"));
    let pollers: usize = arg("--pollers").map_or(500, |v| v.parse().expect("--pollers"));
    let baseline = Duration::from_secs(arg("--baseline-secs").map_or(20, |v| v.parse().unwrap()));
    let db = store::open(&Location::parse(&location)).await.expect("open database");
    let ws = WorkspaceId(WS.into());
    let oldest = store::oldest_run_at(&db, &ws)
        .await
        .expect("oldest run")
        .unwrap_or_else(|| panic!("{location} has no history: fill it first (see the header)"));

    // The pass keeps the workspace's 90 days back from "now": a now 90 + `days` days after the
    // oldest run deletes the oldest `days` days.
    store::save_retention_days(&db, &ws, 90).await.expect("retention setting");
    let now_ms = oldest + (90 + days) * DAY_MS;
    let expiring: (i64,) = app::on_db!(&db, |p| {
        sqlx::query_as("SELECT COUNT(*) FROM sync_runs WHERE workspace_id = $1 AND id < $2")
            .bind(WS)
            .bind(RunId::lower_bound(oldest + days * DAY_MS).0)
            .fetch_one(p)
            .await
            .expect("count")
    });

    // What a live view watches: the newest page's five newest runs.
    let filters = RunFilters::default();
    let page = store::list_runs(&db, &ws, &filters, 50).await.expect("list");
    let newest = page.runs.first().map(|r| r.id);
    let watch: Vec<WatchedRun> = page
        .runs
        .iter()
        .take(5)
        .map(|r| WatchedRun { id: r.id, processed: Some(r.counts.processed()) })
        .collect();

    let during = Arc::new(AtomicBool::new(false));
    let stop = CancellationToken::new();
    let before = Arc::new(Mutex::new(Samples::default()));
    let while_deleting = Arc::new(Mutex::new(Samples::default()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..pollers {
        let (db, ws, filters, watch) = (db.clone(), ws.clone(), filters.clone(), watch.clone());
        let (during, stop, before, while_deleting, errors) =
            (during.clone(), stop.clone(), before.clone(), while_deleting.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // Spread over the interval, as tabs opened at different times are.
            tokio::time::sleep(POLL * i as u32 / pollers as u32).await;
            let mut tick = tokio::time::interval(POLL);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let started = Instant::now();
                if store::poll_runs(&db, &ws, &filters, newest, &watch).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                let took = started.elapsed();
                let into = if during.load(Ordering::Relaxed) { &while_deleting } else { &before };
                into.lock().unwrap().0.push(took);
            }
        }));
    }
    eprintln!("{pollers} pollers polling; {baseline:?} before the pass…");
    tokio::time::sleep(baseline).await;

    during.store(true, Ordering::Relaxed);
    eprintln!("Deleting the oldest {days} days ({} runs)…", expiring.0);
    let started = Instant::now();
    let deleted = server::retention::pass(
        &db,
        &ws,
        now_ms,
        server::retention::BETWEEN_STEPS,
        &CancellationToken::new(),
    )
    .await
    .expect("retention pass");
    let took = started.elapsed();
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }

    println!(
        "Retention pass: {} runs, {} records and {} index rows deleted in {} steps, {:.1} s ({:.0} records/s), {} pollers polling every {} s, {} poll errors",
        deleted.runs,
        deleted.records,
        deleted.index_rows,
        deleted.steps,
        took.as_secs_f64(),
        deleted.records as f64 / took.as_secs_f64(),
        pollers,
        POLL.as_secs(),
        errors.load(Ordering::Relaxed)
    );
    println!();
    println!("| Poll (new runs + 5 watched) | polls | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    println!("{}", before.lock().unwrap().row("before the pass"));
    println!("{}", while_deleting.lock().unwrap().row("during the pass"));
}
