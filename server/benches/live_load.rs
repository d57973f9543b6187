//! Live view under load: N browsers keep the Sync activity list live while a backfill runs.
//!
//! ```text
//! cargo bench -p server --bench live_load -- [--clients 500] [--secs 60] [--org-records 500000]
//! ```
//!
//! Starts the release server (`target/release/server`, built by `cargo leptos build --release`)
//! on a fresh database on 127.0.0.1 with `--demo`: the local org and the engine on, so a backfill
//! is running. The demo's workspace is [`WORKSPACE`] alone (one org, one backfill). The benchmark
//! signs in as the first admin through the sign-in form, as a browser does, and every simulated
//! browser sends that one session's cookie (a header, as a browser sends it): signing in 2,000
//! times would be 2,000 argon2 checks before the test, and the server does the same work for a
//! request whichever session it carries (it reads the session and the person's memberships; an
//! unchanged session is not written back).
//!
//! Then each browser does what the page does in the workspace (`/w/{workspace}/api/…`): loads the
//! first page (`GET /api/runs`), and after each answer waits two seconds while a run it shows is
//! in progress (ten while none is) and asks
//! `GET /api/runs/poll?newest=<newest shown>&watch=<id>~<records>,…` for the runs in progress it
//! shows, merging the answer into the 25 rows it shows. Bounded: loopback only, `--clients` at
//! most 2,000, `--secs` at most 600. Prints a Markdown table; a benchmark reports, it does not
//! fail on a threshold.

mod support;

use app::api::activity::{RunsPoll, RunsResponse};
use app::api::health::HealthResponse;
use app::components::live::{IDLE_POLL_MS, POLL_MS};
use app::domain::{RunId, RunStatus, SyncRun, RUNS_PAGE_SIZE};
use clap::Parser;
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{mb, ms, percentile, BenchError, ServerProcess, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The workspace the server is started with and the browsers watch. The demo makes its second
/// workspace, Globex, beside the first unless the first is Globex: named so, the server has one
/// workspace, one local org and one backfill, as when this benchmark was first measured.
const WORKSPACE: &str = "globex";

#[derive(Debug, Parser)]
struct Args {
    /// Concurrent simulated browsers (at most 2,000).
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// Seconds of polling (at most 600).
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// The page's poll period while a run it shows is in progress, in ms (`POLL_MS`).
    #[arg(long, default_value_t = POLL_MS.into())]
    interval_ms: u64,
    /// The first page's poll period while no run it shows is in progress, in ms
    /// (`IDLE_POLL_MS`).
    #[arg(long, default_value_t = IDLE_POLL_MS.into())]
    idle_interval_ms: u64,
    /// Records of the server's local org: large enough that the backfill outlasts the test.
    #[arg(long, default_value_t = 500_000)]
    org_records: usize,
    /// Latency the local org adds to each API call (the server's default).
    #[arg(long, default_value_t = 300)]
    org_latency_ms: u64,
    /// Loopback port of the server (the benchmarks use 3200-3299).
    #[arg(long, default_value_t = 3210)]
    port: u16,
    /// Database file, removed and created fresh; default `target/bench/live-load.db`.
    #[arg(long)]
    db: Option<PathBuf>,
    #[command(flatten)]
    build: support::Build,
}

/// One answered request.
struct Sample {
    latency_us: u64,
    body_bytes: usize,
    header_bytes: usize,
    /// The answer changed nothing the browser shows.
    unchanged: bool,
}

#[derive(Default)]
struct ClientReport {
    polls: Vec<Sample>,
    loads: Vec<Sample>,
    errors: Vec<String>,
}

/// What one simulated browser shows: the rows of its first page, newest first.
struct Browser {
    http: reqwest::Client,
    /// The workspace's addresses: `http://127.0.0.1:port/w/{workspace}`.
    site: String,
    rows: Vec<SyncRun>,
}

impl Browser {
    async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<(T, Sample), String> {
        let started = Instant::now();
        let resp = self.http.get(url).send().await.map_err(|e| format!("send: {e}"))?;
        let status = resp.status();
        let header_bytes: usize =
            resp.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>() + 17;
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        let latency_us = started.elapsed().as_micros() as u64;
        if !status.is_success() {
            return Err(format!("status {status}"));
        }
        let json: T = serde_json::from_slice(&body).map_err(|e| format!("json: {e}"))?;
        Ok((json, Sample { latency_us, body_bytes: body.len(), header_bytes, unchanged: false }))
    }

    async fn load(&mut self) -> Result<Sample, String> {
        let (page, sample): (RunsResponse, _) =
            self.get(&format!("{}/api/runs", self.site)).await?;
        self.rows = page.runs;
        Ok(sample)
    }

    /// Whether a run it shows is in progress (the page then polls every `POLL_MS`).
    fn live(&self) -> bool {
        self.rows.iter().any(|r| r.status == RunStatus::InProgress)
    }

    /// The poll the page makes: the newest run it shows (`RunId::MIN` on an empty page) and each
    /// run in progress with the records it shows for it.
    async fn poll(&mut self) -> Result<Sample, String> {
        let newest = self.rows.first().map_or(RunId::MIN, |r| r.id);
        let watch: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.status == RunStatus::InProgress)
            .map(|r| format!("{}~{}", r.id, r.counts.processed()))
            .collect();
        let url = format!("{}/api/runs/poll?newest={newest}&watch={}", self.site, watch.join(","));
        let (poll, mut sample): (RunsPoll, _) = self.get(&url).await?;
        sample.unchanged = !self.apply(poll.runs);
        Ok(sample)
    }

    /// The page's merge (`apply_poll`): watched runs change in place, new runs go on top, the
    /// page keeps 25 rows. Whether any row changed.
    fn apply(&mut self, runs: Vec<SyncRun>) -> bool {
        let mut changed = false;
        let mut fresh = Vec::new();
        for run in runs {
            match self.rows.iter_mut().find(|r| r.id == run.id) {
                Some(shown) if *shown != run => {
                    *shown = run;
                    changed = true;
                }
                Some(_) => {}
                None => fresh.push(run),
            }
        }
        let newest = self.rows.first().map(|r| r.id);
        fresh.retain(|r| newest.is_none_or(|n| r.id > n));
        if fresh.is_empty() {
            return changed;
        }
        fresh.sort_by_key(|r| std::cmp::Reverse(r.id));
        fresh.append(&mut self.rows);
        fresh.truncate(RUNS_PAGE_SIZE as usize);
        self.rows = fresh;
        true
    }
}

/// When a browser polls: the page's two periods.
#[derive(Clone, Copy)]
struct Periods {
    live: Duration,
    idle: Duration,
}

async fn run_client(
    site: String,
    cookie: HeaderValue,
    start_after: Duration,
    until: Instant,
    periods: Periods,
) -> ClientReport {
    let mut report = ClientReport::default();
    let http = match support::signed_in(&cookie)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            report.errors.push(format!("client: {e}"));
            return report;
        }
    };
    let mut browser = Browser { http, site, rows: Vec::new() };
    tokio::time::sleep(start_after).await;
    match browser.load().await {
        Ok(s) => report.loads.push(s),
        Err(e) => report.errors.push(e),
    }
    loop {
        tokio::time::sleep(if browser.live() { periods.live } else { periods.idle }).await;
        if Instant::now() >= until {
            return report;
        }
        match browser.poll().await {
            Ok(s) => report.polls.push(s),
            Err(e) => report.errors.push(e),
        }
    }
}

/// Records the engine has brought in so far (synced + skipped + failed in the last 24 hours).
async fn records_in(http: &reqwest::Client, site: &str) -> Result<i64, BenchError> {
    let h: HealthResponse =
        http.get(format!("{site}/api/health")).send().await?.error_for_status()?.json().await?;
    Ok(h.health.records_synced + h.health.records_skipped + h.health.records_failed)
}

/// The objects the workspace's engine is syncing now.
async fn engine_running(http: &reqwest::Client, site: &str) -> Result<Vec<String>, BenchError> {
    let s: Value = http
        .get(format!("{site}/api/sync/status"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(s["running"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BenchError> {
    let args = Args::parse();
    if args.clients == 0 || args.clients > 2_000 || args.secs == 0 || args.secs > 600 {
        return Err("--clients must be 1-2,000 and --secs 1-600".into());
    }
    let binary = args.build.binary();
    let site_root = args.build.site_root();
    let db = args.db.clone().unwrap_or_else(|| support::bench_dir().join("live-load.db"));
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    eprintln!("live_load: starting {} (org of {} records)…", binary.display(), args.org_records);
    let server_args: Vec<String> = vec![
        "--database".into(),
        db.display().to_string(),
        "--demo".into(),
        "true".into(),
        "--workspace".into(),
        WORKSPACE.into(),
        "--org-records".into(),
        args.org_records.to_string(),
        "--org-latency-ms".into(),
        args.org_latency_ms.to_string(),
    ];
    let server = ServerProcess::start(&binary, &site_root, args.port, &server_args).await?;
    let ready_in = server.started.elapsed();
    let pid = server.pid();
    let cookie = support::sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    let http = support::signed_in(&cookie).build()?;
    // An address without a workspace is served in the person's only workspace, and refused when
    // they are in several: then the backfill measured would not be the watched workspace's alone.
    let alone = http.get(format!("{}/api/sync/status", server.base)).send().await?;
    if !alone.status().is_success() {
        return Err(format!(
            "the server has more than one workspace ({}): start it with one",
            alone.text().await.unwrap_or_default()
        )
        .into());
    }
    let site = format!("{}/w/{WORKSPACE}", server.base);

    // Wait for the backfill to be under way, then measure the server with the backfill alone.
    let waited = Instant::now();
    while engine_running(&http, &site).await?.is_empty()
        && waited.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let quiet_a = support::sample(pid)?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let quiet_b = support::sample(pid)?;
    let running_before = engine_running(&http, &site).await?;
    let records_before = records_in(&http, &site).await?;

    eprintln!(
        "live_load: {} clients polling every {} ms for {} s…",
        args.clients, args.interval_ms, args.secs
    );
    let periods = Periods {
        live: Duration::from_millis(args.interval_ms),
        idle: Duration::from_millis(args.idle_interval_ms),
    };
    let load_started = Instant::now();
    let until = load_started + Duration::from_secs(args.secs);
    let self_a = support::sample(std::process::id())?;
    let first = support::sample(pid)?;
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        // Browsers open the page at different moments: spread the first loads over one period.
        let start_after = periods.live * i as u32 / args.clients as u32;
        tasks.push(tokio::spawn(run_client(
            site.clone(),
            cookie.clone(),
            start_after,
            until,
            periods,
        )));
    }
    let sampler = tokio::spawn(async move {
        let mut peak_rss = 0;
        let mut last = None;
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Ok(s) = support::sample(pid) {
                peak_rss = peak_rss.max(s.rss_kb);
                last = Some(s);
            }
        }
        (peak_rss, last)
    });
    let mut reports = Vec::with_capacity(args.clients);
    for t in tasks {
        reports.push(t.await?);
    }
    let (peak_rss, last) = sampler.await?;
    let last = last.unwrap_or(first);
    let self_b = support::sample(std::process::id())?;
    let wall = load_started.elapsed();
    let running_after = engine_running(&http, &site).await?;
    let records_after = records_in(&http, &site).await?;

    // The smallest poll: nothing watched (nothing in progress on the page), nothing new.
    let empty_poll = {
        let page: RunsResponse =
            http.get(format!("{site}/api/runs")).send().await?.error_for_status()?.json().await?;
        let newest = page.runs.first().map_or(RunId::MIN, |r| r.id);
        http.get(format!("{site}/api/runs/poll?newest={newest}&watch="))
            .send()
            .await?
            .bytes()
            .await?
            .len()
    };
    server.stop();

    let mut polls: Vec<&Sample> = reports.iter().flat_map(|r| &r.polls).collect();
    let loads: Vec<&Sample> = reports.iter().flat_map(|r| &r.loads).collect();
    let errors: Vec<&String> = reports.iter().flat_map(|r| &r.errors).collect();
    polls.sort_by_key(|s| s.latency_us);
    let lat: Vec<u64> = polls.iter().map(|s| s.latency_us).collect();
    let mut load_lat: Vec<u64> = loads.iter().map(|s| s.latency_us).collect();
    load_lat.sort_unstable();
    let mut unchanged: Vec<usize> =
        polls.iter().filter(|s| s.unchanged).map(|s| s.body_bytes).collect();
    unchanged.sort_unstable();
    let mut all_sizes: Vec<usize> = polls.iter().map(|s| s.body_bytes).collect();
    all_sizes.sort_unstable();
    let header_bytes = polls.first().map(|s| s.header_bytes).unwrap_or(0);
    let served = polls.len() + loads.len();
    let backfill_rate = (records_after - records_before) as f64 / wall.as_secs_f64();

    println!("\n| Live view under load | Result |");
    println!("|---|---|");
    println!(
        "| Clients, duration, poll period | {} browsers sharing one signed-in session, {} s, {} ms after each answer ({} ms while no run shown is in progress) |",
        args.clients, args.secs, args.interval_ms, args.idle_interval_ms
    );
    println!("| Server | release, fresh database, one workspace with the demo's local org of {} records ({} ms latency), ready in {:.1} s |", args.org_records, args.org_latency_ms, ready_in.as_secs_f64());
    println!("| Backfill during the test | running: {} at start, {} at end; {:.0} records/s brought in |", list(&running_before), list(&running_after), backfill_rate);
    println!(
        "| Requests served | {served} ({:.0}/s): {} polls, {} first-page loads |",
        served as f64 / wall.as_secs_f64(),
        polls.len(),
        loads.len()
    );
    println!(
        "| Poll latency p50 / p99 / max | {} / {} / {} ms |",
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 99.0)),
        ms(lat.last().copied().unwrap_or(0))
    );
    println!(
        "| First-page load (`/api/runs`) p50 / p99 | {} / {} ms |",
        ms(percentile(&load_lat, 50.0)),
        ms(percentile(&load_lat, 99.0))
    );
    println!("| Errors | {} |", errors.len());
    println!(
        "| Server CPU | {:.0}% of one core under load; {:.0}% with the backfill alone |",
        support::cpu_percent(&first, &last),
        support::cpu_percent(&quiet_a, &quiet_b)
    );
    println!(
        "| Server RSS | {} before, {} peak, {} at end |",
        mb(first.rss_kb),
        mb(peak_rss),
        mb(last.rss_kb)
    );
    println!("| Poll that changes nothing: body | median {} B, max {} B ({} of {} polls; headers ~{} B more) |", percentile(&unchanged, 50.0), unchanged.last().copied().unwrap_or(0), unchanged.len(), polls.len(), header_bytes);
    println!(
        "| Any poll: body p50 / p99 | {} / {} B |",
        percentile(&all_sizes, 50.0),
        percentile(&all_sizes, 99.0)
    );
    println!("| Poll with nothing watched and nothing new | {empty_poll} B |");
    println!("| Load generator CPU | {:.0}% of one core |", support::cpu_percent(&self_a, &self_b));
    if !errors.is_empty() {
        let mut kinds: Vec<&str> = errors.iter().map(|e| e.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        eprintln!(
            "live_load: errors (distinct): {}",
            kinds.iter().take(10).copied().collect::<Vec<_>>().join("; ")
        );
    }
    Ok(())
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}
