//! Pages at scale: the server's memory idle on the history database, and the server-side render
//! time and size of the Sync activity page and of a run page.
//!
//! ```text
//! cargo bench -p server --bench pages -- [--db target/bench/history.db] [--requests 300]
//! ```
//!
//! Starts the release server (`target/release/server`) on the history benchmark's database
//! (`app/benches/history.rs` fills it: 1,000,000 runs, ~20,000,000 records, workspace `bench`)
//! with `--demo false`: no engine, no local org, so the memory is the server's own. A database
//! without accounts gets its first admin at start, an admin of `--workspace`; the benchmark signs
//! in as them through the sign-in form, as a browser does. Then it fetches each page of the
//! workspace (`/w/{workspace}/…`) `--requests` times one after another over loopback (the time to
//! the last byte of the HTML, which is the server's render plus a loopback round trip). Prints a
//! Markdown table.

mod support;

use app::api::activity::RunsResponse;
use app::domain::RunId;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{mb, ms, percentile, BenchError, ServerProcess};

#[derive(Debug, Parser)]
struct Args {
    /// The history database (`cargo bench -p app --features ssr --bench history` fills it).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Its workspace (the history benchmark's runs are in `bench`).
    #[arg(long, default_value = "bench")]
    workspace: String,
    /// Timed requests per page (after 10 unmeasured ones).
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Loopback port of the server (the benchmarks use 3200-3299).
    #[arg(long, default_value_t = 3211)]
    port: u16,
    #[command(flatten)]
    build: support::Build,
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
        // A redirect (to the sign-in page, or into another workspace) is not the page.
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
    let binary = args.build.binary();
    let site_root = args.build.site_root();
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
    let server = ServerProcess::start(&binary, &site_root, args.port, &server_args).await?;
    let ready_in = server.started.elapsed();
    let pid = server.pid();

    // Idle: started and answered its readiness probe (`/healthz`), then left alone; then signed in
    // (an argon2id check, 19 MiB of working memory) and one list.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = support::sample(pid)?;
    let (email, password) = admin(&db);
    let cookie = support::sign_in(&server.base, &email, &password).await?;
    // Not following redirects: a page that sends the browser elsewhere is an error, not timed.
    let http = support::signed_in(&cookie).redirect(reqwest::redirect::Policy::none()).build()?;
    let site = format!("{}/w/{}", server.base, args.workspace);
    let page = list_runs(&http, &site, "").await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_list = support::sample(pid)?;
    let run_id = page.runs.first().ok_or("the history database has no runs")?.id;
    // The largest run is the heaviest run page; the history database's 50,000-record backfill
    // runs are its oldest, so look on the oldest page (runs after the smallest UUIDv7).
    let oldest = list_runs(&http, &site, &format!("?after={}", RunId::MIN)).await?;
    let big_run = biggest_run_on_page(&oldest).unwrap_or(run_id);

    let mut pages = vec![
        time_page(
            &http,
            "Sync activity, first page",
            &format!("{site}/settings/crm/sync-activity"),
            args.requests,
        )
        .await?,
        time_page(
            &http,
            "Sync activity, inbound, object=company",
            &format!("{site}/settings/crm/sync-activity?direction=inbound&object=company"),
            args.requests,
        )
        .await?,
        time_page(
            &http,
            "A run page (newest run)",
            &format!("{site}/settings/crm/sync-activity/runs/{run_id}"),
            args.requests,
        )
        .await?,
    ];
    if big_run != run_id {
        pages.push(
            time_page(
                &http,
                "A run page (largest run: a backfill of 50,000 records)",
                &format!("{site}/settings/crm/sync-activity/runs/{big_run}"),
                args.requests,
            )
            .await?,
        );
    }
    pages.push(
        time_page(
            &http,
            "JSON `/api/runs` (for comparison)",
            &format!("{site}/api/runs"),
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
        "| RSS idle (after start; after one sign-in and one list) | {}; {} |",
        mb(idle.rss_kb),
        mb(after_list.rss_kb)
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

/// `GET /api/runs` in the workspace at `site`, with `query`.
async fn list_runs(
    http: &reqwest::Client,
    site: &str,
    query: &str,
) -> Result<RunsResponse, BenchError> {
    let url = format!("{site}/api/runs{query}");
    let resp = http.get(&url).send().await?;
    if !resp.status().is_success() {
        // 404: the workspace does not exist, or the admin is not a member of it (a database
        // whose accounts were made for another workspace).
        return Err(format!("{url}: status {}", resp.status()).into());
    }
    Ok(resp.json().await?)
}

/// Who signs in: the first admin this benchmark starts the server with, unless a server started
/// on this database without a password made them with a generated one, kept beside the database
/// (`<database>.first-admin`: their email, then the password) until it is changed.
fn admin(db: &Path) -> (String, String) {
    let mut file = db.as_os_str().to_owned();
    file.push(".first-admin");
    let kept = std::fs::read_to_string(file).ok().and_then(|text| {
        let mut lines = text.lines().map(str::trim);
        Some((lines.next()?.to_string(), lines.next()?.to_string()))
    });
    kept.unwrap_or_else(|| (support::ADMIN_EMAIL.into(), support::ADMIN_PASSWORD.into()))
}

/// The run with the most records among a page's runs (by its counts: a run that failed before
/// any record expected many but holds none).
fn biggest_run_on_page(page: &RunsResponse) -> Option<RunId> {
    page.runs.iter().max_by_key(|r| r.counts.processed()).map(|r| r.id)
}
