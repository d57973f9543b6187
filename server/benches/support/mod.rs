//! What the server benchmarks share: a release server started as a child process on loopback,
//! signing in to it as its first admin, its CPU time and memory read from `/proc`, and
//! percentiles.
//!
//! Each benchmark is its own crate that includes this module and uses part of it.
#![allow(dead_code)]
//!
//! The server runs as its own process (not in the benchmark's runtime) so that its CPU and memory
//! are its own, and the load generator's work does not count against it.

use reqwest::header::{self, HeaderMap, HeaderValue};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// The target directory cargo builds into: `CARGO_TARGET_DIR` when set, else `target/` of the
/// workspace (benchmarks run from `server/`, so the workspace is one level up).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

/// Where benchmark data lives: `target/bench/` of the workspace, whatever the target directory
/// (the history benchmark keeps its 5 GB database there, and it is reused).
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench")
}

/// The release build a benchmark starts its servers from (`#[command(flatten)]` in its
/// arguments), and `--bench`, which cargo bench passes.
#[derive(Debug, clap::Args)]
pub struct Build {
    /// Server binary; default `<target>/release/server`.
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Site root (`LEPTOS_SITE_ROOT`); default `<target>/site`.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// cargo bench passes `--bench`; ignored.
    #[arg(long, hide = true)]
    pub bench: bool,
}

impl Build {
    pub fn binary(&self) -> PathBuf {
        self.server.clone().unwrap_or_else(|| target_dir().join("release/server"))
    }

    pub fn site_root(&self) -> PathBuf {
        self.site.clone().unwrap_or_else(|| target_dir().join("site"))
    }
}

/// The first admin of a server started by [`ServerProcess::start`]: a server without accounts
/// makes them at start (`SYNC_ADMIN_EMAIL`, `SYNC_ADMIN_PASSWORD`), an admin of its
/// `--workspace`.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "bench admin password";

/// The sign-in cookie's name (server/src/startup.rs).
const SESSION_COOKIE: &str = "conversion_session";

/// A server process; stopped (SIGTERM, then SIGKILL) when dropped, so a failed benchmark never
/// leaves one listening.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub started: Instant,
}

impl ServerProcess {
    /// Starts `binary` on `127.0.0.1:port` with `args` and [`ADMIN_EMAIL`] as its first admin,
    /// and waits until it answers `/healthz` (which needs nobody signed in).
    pub async fn start(
        binary: &Path,
        site_root: &Path,
        port: u16,
        args: &[String],
    ) -> Result<Self, BenchError> {
        if !binary.exists() {
            return Err(format!(
                "{} not found: build it first (cargo leptos build --release)",
                binary.display()
            )
            .into());
        }
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .env("LEPTOS_SITE_ROOT", site_root)
            // The site's file names, for a binary built by plain `cargo build` (cargo-leptos
            // compiles the name in).
            .env("LEPTOS_OUTPUT_NAME", "sync-activity")
            .env("SYNC_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("SYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .spawn()?;
        let server = ServerProcess { child, base: format!("http://127.0.0.1:{port}"), started };
        server.wait_ready(Duration::from_secs(300)).await?;
        Ok(server)
    }

    /// A process the benchmark started itself (its own command line, environment and readiness
    /// check), stopped like the others when dropped.
    pub fn adopt(child: Child, base: String) -> Self {
        ServerProcess { child, base, started: Instant::now() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&self, limit: Duration) -> Result<(), BenchError> {
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", self.base);
        while self.started.elapsed() < limit {
            if let Ok(r) = client.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(format!("server did not answer {url} within {limit:?}").into())
    }

    /// Asks the server to stop as it would be in production (SIGTERM: graceful shutdown).
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // std has no SIGTERM; `kill` is always there on Linux.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Signs in at `base` through the sign-in form, as a browser does (`POST /sign-in` with the
/// site's `Origin`: the server takes changes only from its own pages), and returns the `Cookie`
/// header that carries the session from then on ([`signed_in`]).
pub async fn sign_in(base: &str, email: &str, password: &str) -> Result<HeaderValue, BenchError> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let answer = http
        .post(format!("{base}/sign-in"))
        .header(header::ORIGIN, base)
        .form(&[("email", email), ("password", password), ("next", "/healthz")])
        .send()
        .await?;
    let landed = answer.headers().get(header::LOCATION).and_then(|l| l.to_str().ok());
    if !answer.status().is_redirection() || landed != Some("/healthz") {
        // A refusal goes back to the sign-in page with the reason: `?error=invalid` (email or
        // password), `not_member`, `throttled`.
        return Err(format!(
            "signing in as {email} at {base} was refused: {} to {}",
            answer.status(),
            landed.unwrap_or("nowhere")
        )
        .into());
    }
    let cookie = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok()?.split(';').next())
        .find(|c| c.strip_prefix(SESSION_COOKIE).is_some_and(|rest| rest.starts_with('=')))
        .ok_or_else(|| format!("signing in at {base} set no {SESSION_COOKIE} cookie"))?;
    let mut cookie = HeaderValue::from_str(cookie)?;
    cookie.set_sensitive(true);
    Ok(cookie)
}

/// A client that sends the session `cookie` from [`sign_in`] with every request, as the
/// signed-in browser does.
pub fn signed_in(cookie: &HeaderValue) -> reqwest::ClientBuilder {
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, cookie.clone());
    reqwest::Client::builder().default_headers(headers)
}

/// CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    pub at: Instant,
    /// User + system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kb: u64,
    /// Peak RSS since the process started.
    pub hwm_kb: u64,
}

pub fn sample(pid: u32) -> Result<ProcSample, BenchError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis don't.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
    let tick = |i: usize| -> Result<u64, BenchError> {
        Ok(fields.get(i).ok_or("short /proc stat")?.parse()?)
    };
    let cpu_ticks = tick(11)? + tick(12)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcSample { at: Instant::now(), cpu_ticks, rss_kb: kb("VmRSS:"), hwm_kb: kb("VmHWM:") })
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we run on).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU used between two samples, in percent of one core.
pub fn cpu_percent(a: &ProcSample, b: &ProcSample) -> f64 {
    let secs = b.at.duration_since(a.at).as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    (b.cpu_ticks.saturating_sub(a.cpu_ticks)) as f64 / clock_ticks() / secs * 100.0
}

/// The `p`-th percentile (0-100) of sorted values, nearest rank.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

/// Milliseconds with three decimals, from microseconds.
pub fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}
