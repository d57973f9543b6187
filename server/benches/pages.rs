//! Pages at scale: the server's memory idle on the history database, and the server-side render
//! time and size of the Sync activity page and of a run page.
//!
//! ```text
//! cargo bench -p server --bench pages -- [--db target/bench/history.db] [--requests 300]
//! ```
//!
//! Starts the release server (`target/release/server`) on the history benchmark's database
//! (`app/benches/history.rs` fills it: 1,000,000 runs, ~20,000,000 records, workspace `bench`)
//! with `--demo false`: no engine, no local org, so the memory is the server's own. Then fetches
//! each page `--requests` times one after another over loopback (the time to the last byte of
//! the HTML, which is the server's render plus a loopback round trip). Prints a Markdown table.

mod support;

use clap::Parser;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::{mb, ms, percentile, BenchError, ServerProcess};

#[derive(Debug, Parser)]
struct Args {
    /// The history database (`cargo bench -p app --features ssr --bench history` fills it).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Its workspace.
    #[arg(long, default_value = "bench")]
    workspace: String,
    /// Timed requests per page (after 10 unmeasured ones).
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Loopback port of the server (the benchmarks use 3200-3299).
    #[arg(long, default_value_t = 3211)]
    port: u16,
    /// Server binary; default `<target>/release/server`.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Site root (`LEPTOS_SITE_ROOT`); default `<target>/site`.
    #[arg(long)]
    site: Option<PathBuf>,
    /// cargo bench passes `--bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

struct PageTiming {
    name: String,
    p50_us: u64,
    p95_us: u64,
    bytes: usize,
}

async fn time_page(
    http: &reqwest::Client,
    name: &str,
    url: &str,
    requests: usize,
) -> Result<PageTiming, BenchError> {
    let mut bytes = 0;
    let mut times = Vec::with_capacity(requests);
    for i in 0..requests + 10 {
        let started = Instant::now();
        let resp = http.get(url).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let took = started.elapsed().as_micros() as u64;
        if !status.is_success() {
            return Err(format!("{url}: status {status}").into());
        }
        bytes = body.len();
        if i >= 10 {
            times.push(took);
        }
    }
    times.sort_unstable();
    Ok(PageTiming {
        name: name.into(),
        p50_us: percentile(&times, 50.0),
        p95_us: percentile(&times, 95.0),
        bytes,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BenchError> {
    let args = Args::parse();
    let target = support::target_dir();
    let binary = args.server.clone().unwrap_or_else(|| target.join("release/server"));
    let site = args.site.clone().unwrap_or_else(|| target.join("site"));
    let db = args.db.clone().unwrap_or_else(|| support::bench_dir().join("history.db"));
    if !db.exists() {
        return Err(format!("{} not found: run the history benchmark first", db.display()).into());
    }
    let db_size = std::fs::metadata(&db)?.len();
    eprintln!("pages: starting {} on {}…", binary.display(), db.display());
    let server_args: Vec<String> = vec![
        "--database".into(),
        db.display().to_string(),
        "--workspace".into(),
        args.workspace.clone(),
        "--demo".into(),
        "false".into(),
    ];
    let server = ServerProcess::start(&binary, &site, args.port, &server_args).await?;
    let ready_in = server.started.elapsed();
    let pid = server.pid();
    let http = reqwest::Client::new();

    // Idle: started and answered its readiness probe (one list), then left alone.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = support::sample(pid)?;
    let page: Value = http.get(format!("{}/api/runs", server.base)).send().await?.json().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_list = support::sample(pid)?;
    let run_id =
        page["runs"][0]["id"].as_str().ok_or("the history database has no runs")?.to_string();
    // The largest run is the heaviest run page; the history database's 50,000-record backfill
    // runs are its oldest, so look on the oldest page (runs after the smallest UUIDv7).
    let oldest: Value = http
        .get(format!("{}/api/runs?after=00000000-0000-7000-8000-000000000000", server.base))
        .send()
        .await?
        .json()
        .await?;
    let big_run = biggest_run_on_page(&oldest).unwrap_or_else(|| run_id.clone());

    let mut pages = vec![
        time_page(
            &http,
            "Sync activity, first page",
            &format!("{}/settings/crm/sync-activity", server.base),
            args.requests,
        )
        .await?,
        time_page(
            &http,
            "Sync activity, inbound, object=company",
            &format!("{}/settings/crm/sync-activity?direction=inbound&object=company", server.base),
            args.requests,
        )
        .await?,
        time_page(
            &http,
            "A run page (newest run)",
            &format!("{}/settings/crm/sync-activity/runs/{run_id}", server.base),
            args.requests,
        )
        .await?,
    ];
    if big_run != run_id {
        pages.push(
            time_page(
                &http,
                "A run page (largest run: a backfill of 50,000 records)",
                &format!("{}/settings/crm/sync-activity/runs/{big_run}", server.base),
                args.requests,
            )
            .await?,
        );
    }
    pages.push(
        time_page(
            &http,
            "JSON `/api/runs` (for comparison)",
            &format!("{}/api/runs", server.base),
            args.requests,
        )
        .await?,
    );
    let after_pages = support::sample(pid)?;
    server.stop();

    println!("\n| Server on the history database | Result |");
    println!("|---|---|");
    println!(
        "| Database | {} ({:.1} GB), workspace `{}`, `--demo false` |",
        db.display(),
        db_size as f64 / 1e9,
        args.workspace
    );
    println!("| Start to first answer | {:.2} s |", ready_in.as_secs_f64());
    println!(
        "| RSS idle (after start and one list) | {} |",
        mb(after_list.rss_kb.max(idle.rss_kb))
    );
    println!(
        "| RSS after {} page renders | {} (peak {}) |",
        pages.len() * (args.requests + 10),
        mb(after_pages.rss_kb),
        mb(after_pages.hwm_kb)
    );
    println!("\n| Page (server-side render, to the last byte) | median ms | p95 ms | HTML bytes |");
    println!("|---|---:|---:|---:|");
    for p in &pages {
        println!("| {} | {} | {} | {} |", p.name, ms(p.p50_us), ms(p.p95_us), p.bytes);
    }
    Ok(())
}

/// The run with the most records among a page's runs (by its counts: a run that failed before
/// any record expected many but holds none).
fn biggest_run_on_page(page: &Value) -> Option<String> {
    let records = |r: &Value| -> i64 {
        ["created", "updated", "deleted", "skipped", "failed"]
            .iter()
            .map(|k| r["counts"][k].as_i64().unwrap_or(0))
            .sum()
    };
    page["runs"]
        .as_array()?
        .iter()
        .max_by_key(|r| records(r))
        .and_then(|r| r["id"].as_str().map(String::from))
}
