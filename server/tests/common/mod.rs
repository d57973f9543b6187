//! What the tests that run the `server` binary share: the process on its own port, and waiting
//! for a condition.

#![allow(dead_code)] // each test binary uses its own part of this module

pub mod memory;
pub mod outcomes;

use app::domain::Trigger;
use app::state::{Clock, SystemClock};
use app::store::testing::{self, TestDb};
use app::store::{self, Db, Location, WorkspaceId};
use server::fake_org::{self, FakeOrg, OrgConfig};
use server::salesforce::{RetryPolicy, SalesforceClient};
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{inbound, Engine, EngineConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The server binary as a child process, on its own port; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    /// The first admin's client, signed in on first use.
    admin: tokio::sync::OnceCell<reqwest::Client>,
}

impl ServerProcess {
    /// Starts `server --database db` in `dir` with `args` and `env` added, and waits until it
    /// answers `/api/health`. `db` is a SQLite file's path or a PostgreSQL address
    /// ([`TestDatabase::path`]).
    pub async fn start(
        db: &Path,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .current_dir(dir)
            .args(["--database", db.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .env_remove("SALESFORCE_REFRESH_TOKEN")
            .env("LEPTOS_OUTPUT_NAME", "sync-activity")
            .env("RUST_LOG", "warn")
            .env("SYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("the server binary starts");
        let server = ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            admin: tokio::sync::OnceCell::new(),
        };
        let http = reqwest::Client::new();
        let up = wait_for(Duration::from_secs(30), || async {
            http.get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(up, "the server answers /healthz");
        server
    }

    /// A client signed in as the first admin (cookies kept), following redirects; the same one
    /// each time.
    pub async fn signed_in(&self) -> reqwest::Client {
        self.admin
            .get_or_init(|| {
                sign_in(&self.base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder())
            })
            .await
            .clone()
    }

    /// The same, from a client built by `builder` (e.g. one that does not follow redirects).
    pub async fn signed_in_with(&self, builder: reqwest::ClientBuilder) -> reqwest::Client {
        sign_in(&self.base, ADMIN_EMAIL, ADMIN_PASSWORD, builder).await
    }

    /// SIGKILL: no shutdown handler runs, whatever was uncommitted is lost.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, once the process has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("the server process can be waited on")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The app assembled in-process (`startup::build`, without the engine), served on its own port
/// with the first admin; stopped when `stop` is sent or dropped.
pub struct InProcess {
    pub base: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub dir: tempfile::TempDir,
    pub pool: Db,
    pub config: server::config::Config,
    /// The test's PostgreSQL database (dropped with it), when the run names a server.
    pub guard: Option<TestDb>,
}

impl InProcess {
    pub async fn start() -> InProcess {
        InProcess::start_with(&[]).await
    }

    /// [`InProcess::start`] with more command-line arguments.
    pub async fn start_with(args: &[&str]) -> InProcess {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::new(dir.path().join("sync.db")).await;
        let mut argv = vec![
            "server",
            "--database",
            database.path().to_str().unwrap(),
            "--demo",
            "false",
            "--admin-password",
            ADMIN_PASSWORD,
        ];
        // On PostgreSQL the key file would be `data/<database>.keys` under this process's folder
        // (the package's): the keys are given instead, so the test leaves nothing behind.
        let keys = app::store::keyring::Keyring::generate_entry("test");
        if database.is_postgres() {
            argv.extend_from_slice(&["--keys", &keys]);
        }
        argv.extend_from_slice(args);
        let config = server::config::Config::try_parse_from(argv).unwrap();
        let app = server::startup::build(&config).await.unwrap();
        let pool = app.state.pool.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        InProcess { base, stop, dir, pool, config, guard: database.guard }
    }

    /// Adds a person as `server adduser` does.
    pub async fn add_user(
        &self,
        email: &str,
        name: &str,
        role: app::domain::access::Role,
        password: &str,
    ) {
        let now = chrono::Utc::now().timestamp_millis();
        server::accounts::add_user(
            &self.pool,
            &self.config,
            email,
            Some(name),
            role,
            password,
            now,
        )
        .await
        .unwrap();
    }
}

/// The first admin every test server is started with.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Sends `Origin: base` with every request, as a browser on the site's pages does with every
/// change (the server refuses changes with neither `Origin` nor an API token).
pub fn as_browser(builder: reqwest::ClientBuilder, base: &str) -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, base.parse().unwrap());
    builder.default_headers(headers)
}

/// A client as a browser on the site at `base`, not following redirects.
pub fn browser(base: &str) -> reqwest::ClientBuilder {
    as_browser(without_redirects(), base)
}

/// A client that does not follow redirects (to read where an answer sends the browser).
pub fn without_redirects() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// Signs in at `base` through the sign-in form, as a browser does; the client keeps the session
/// cookie. Panics when the sign-in is refused.
pub async fn sign_in(
    base: &str,
    email: &str,
    password: &str,
    builder: reqwest::ClientBuilder,
) -> reqwest::Client {
    sign_in_jar(base, email, password, builder).await.0
}

/// [`sign_in`], with the cookie jar (to send its cookies beside one set by hand).
pub async fn sign_in_jar(
    base: &str,
    email: &str,
    password: &str,
    builder: reqwest::ClientBuilder,
) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let http = as_browser(builder, base).cookie_provider(jar.clone()).build().unwrap();
    let answer = http
        .post(format!("{base}/sign-in"))
        .form(&[("email", email), ("password", password), ("next", "/healthz")])
        .send()
        .await
        .unwrap();
    let landed = answer.url().path() == "/healthz" && answer.status().is_success();
    let redirected = answer.status() == reqwest::StatusCode::SEE_OTHER
        && answer.headers()["location"] == "/healthz";
    assert!(landed || redirected, "signed in as {email}: {} {}", answer.status(), answer.url());
    (http, jar)
}

/// The `SALESFORCE_*` environment of a connected app for `org`, as a real org is configured.
/// A refresh-token grant done by hand against `org`, as any HTTP client would: the token
/// response's JSON.
pub async fn refresh_grant(org: &FakeOrg) -> serde_json::Value {
    let c = org.credentials();
    let response = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", c.login_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("refresh_token", c.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub fn org_env(org: &FakeOrg) -> Vec<(&'static str, String)> {
    let c = org.credentials();
    vec![
        ("SALESFORCE_LOGIN_URL", c.login_url.clone()),
        ("SALESFORCE_CLIENT_ID", c.client_id.clone()),
        ("SALESFORCE_CLIENT_SECRET", c.client_secret.clone()),
    ]
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub async fn wait_for<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A test's database, on the backend the run asks for: when `SYNC_TEST_DATABASE` names a
/// PostgreSQL server, a fresh database of its own there (dropped with `guard`); else the SQLite
/// file the test gave, in its temporary folder.
pub struct TestDatabase {
    /// What `--database` takes to reach it: the file's path, or the database's address.
    location: PathBuf,
    /// The PostgreSQL database, dropped when this is.
    pub guard: Option<TestDb>,
}

impl TestDatabase {
    /// A fresh database: the SQLite file `file` (made on first open) or, on PostgreSQL, a new
    /// migrated database.
    pub async fn new(file: PathBuf) -> TestDatabase {
        match testing::postgres_server() {
            Some(_) => {
                let guard = testing::test_db().await.expect("a test database on PostgreSQL");
                let url = guard.postgres_url().expect("a PostgreSQL database's address");
                TestDatabase { location: PathBuf::from(url), guard: Some(guard) }
            }
            None => TestDatabase { location: file, guard: None },
        }
    }

    /// `--database`'s value for it (a PostgreSQL address is passed as a path).
    pub fn path(&self) -> &Path {
        &self.location
    }

    pub fn is_postgres(&self) -> bool {
        self.guard.is_some()
    }

    /// A pool on it (the SQLite file opened, made and migrated as the server does).
    pub async fn open(&self) -> Db {
        match &self.guard {
            Some(guard) => guard.db().clone(),
            None => Db::Sqlite(store::open_file(&self.location).await.unwrap()),
        }
    }
}

/// Opens the database a server was started with (`db` as [`ServerProcess::start`] took it): a
/// SQLite file's path or a PostgreSQL address.
pub async fn open_location(db: &Path) -> Db {
    store::open(&Location::parse(db.to_str().unwrap())).await.unwrap()
}

/// An engine on a fresh database (a file, or a PostgreSQL database of its own: see
/// [`TestDatabase`]), against a local org of `records` records on port 0 (its client retrying
/// transient faults at once, so fault tests do not wait).
pub struct Setup {
    pub org: FakeOrg,
    pub engine: Engine,
    pub pool: Db,
    pub ws: WorkspaceId,
    /// Holds the database file; removed when dropped.
    pub dir: tempfile::TempDir,
    /// The test's PostgreSQL database, dropped with it.
    pub guard: Option<TestDb>,
}

pub async fn setup(records: usize, config: EngineConfig) -> Setup {
    setup_on(records, config, Arc::new(SystemClock)).await
}

/// [`setup`] on the clock given (a [`ManualClock`] the test moves).
pub async fn setup_on(records: usize, config: EngineConfig, clock: Arc<dyn Clock>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path().join("sync.db")).await;
    let pool = database.open().await;
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&pool, &ws, "Acme", 0).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records, ..OrgConfig::default() }).await.unwrap();
    let mut cc = org.credentials().client_config();
    cc.retry = RetryPolicy::immediate(2);
    let client = SalesforceClient::new(cc, &org.credentials().refresh_token).unwrap();
    let engine = Engine::new(
        pool.clone(),
        ws.clone(),
        client,
        clock,
        config,
        None,
        CancellationToken::new(),
    );
    record_connection(&engine, &org).await;
    Setup { org, engine, pool, ws, dir, guard: database.guard }
}

/// Records the engine's connection to `org` as a server's start does (without it the workspace
/// is disconnected and nothing syncs).
pub async fn record_connection(engine: &Engine, org: &FakeOrg) {
    let creds = org.credentials();
    let (url, user, token) = (&creds.instance_url, &creds.username, &creds.refresh_token);
    server::sync::connection::on_start(engine, url, Some(user), Some(token)).await.unwrap();
}

/// A clock only the test moves, starting at the real time.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn now() -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(chrono::Utc::now().timestamp_millis())))
    }

    /// Moves the clock on by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A database of a test's own, with what keeps it (a PostgreSQL one is dropped with it).
pub struct Reference {
    pub db: Db,
    pub database: TestDatabase,
}

/// The same org synced by an engine that never meets a failure or an interruption, into its own
/// database (the SQLite file `file`, or a PostgreSQL database of its own): what a test that
/// breaks something compares its outcome with.
pub async fn uninterrupted_reference(org: &FakeOrg, file: &Path) -> Reference {
    let database = TestDatabase::new(file.to_path_buf()).await;
    let pool = database.open().await;
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&pool, &ws, "Acme Inc.", 0).await.unwrap();
    let client =
        SalesforceClient::new(org.credentials().client_config(), &org.credentials().refresh_token)
            .unwrap();
    let config = EngineConfig { page_size: 200, ..EngineConfig::default() };
    let engine = Engine::new(
        pool.clone(),
        ws,
        client,
        Arc::new(SystemClock),
        config,
        None,
        CancellationToken::new(),
    );
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(&engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none() && out.backfill_finished, "{object}: {:?}", out.failure);
    }
    Reference { db: pool, database }
}

/// `server fake-org` as a child process (killed when dropped), and the one line of JSON it prints
/// once it listens: its credentials.
pub struct StandaloneOrg {
    child: Child,
    pub credentials: serde_json::Value,
}

impl StandaloneOrg {
    pub async fn start(args: &[&str]) -> StandaloneOrg {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("fake-org")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fake-org command starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let line = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut line = String::new();
            std::io::BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .expect("reading the first line")
        .expect("the first line");
        let credentials = serde_json::from_str(&line).expect("one line of JSON");
        StandaloneOrg { child, credentials }
    }

    /// A client with the printed credentials.
    pub fn client(&self) -> SalesforceClient {
        let text = |k: &str| self.credentials[k].as_str().expect("a credential").to_string();
        let config = server::salesforce::ClientConfig::new(
            text("login_url"),
            text("client_id"),
            text("client_secret"),
        );
        SalesforceClient::new(config, text("refresh_token")).expect("a client")
    }
}

impl Drop for StandaloneOrg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
