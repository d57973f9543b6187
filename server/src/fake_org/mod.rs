//! The local Salesforce org: a wire-compatible subset of Salesforce's REST API and OAuth, so the
//! product runs, demos and is tested with no internet and no Salesforce account. Data lives in
//! memory (rebuilt from the seed at each start).
//!
//! - [`oauth`]: authorize (consent page) and token endpoints.
//! - [`api`]: the gate every data request passes (session, daily limit, faults), small resources.
//! - [`data`] + [`query`] + [`soql`]: `query` / `queryAll` with stable `nextRecordsUrl` locators.
//! - [`sobjects`] + [`writes`]: collections and single-record writes with real validation.
//! - [`schema`], [`store`]: the objects and the in-memory tables.
//! - [`generator`], [`simulator`], [`faults`]: dirty data, ongoing activity, injected failures.
//! - [`cli`]: `server fake-org`.

pub mod api;
pub mod bulk;
pub mod cli;
pub mod data;
pub mod faults;
pub mod generator;
pub mod oauth;
pub mod org;
pub mod query;
pub mod record_page;
pub mod schema;
pub mod simulator;
pub mod sobjects;
pub mod soql;
pub mod store;
pub mod writes;

pub use cli::FakeOrgArgs;
pub use faults::{FaultCommand, FaultState, RuleCondition, ValidationRule};

use crate::salesforce::{ClientConfig, SalesforceClient, SalesforceError};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::ServiceExt;
use axum::{Json, Router};
use org::{lock, DailyUsage, Identity, Org, Stats, Tokens};
use query::Cursors;
use rand::distributions::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::normalize_path::NormalizePath;

/// How to build the org.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    /// Records generated at start.
    pub records: usize,
    /// Seed of the generator, the simulator and the issued refresh token.
    pub seed: u64,
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    /// The refresh token handed out in the credentials; derived from the seed when `None`.
    pub refresh_token: Option<String>,
    /// API requests allowed in any rolling 24 hours.
    pub daily_api_limit: u64,
    /// Bulk API 2.0 query jobs allowed in any rolling 24 hours.
    pub daily_bulk_query_jobs: usize,
    /// Lifetime of access tokens.
    pub session_timeout: Duration,
    /// Simulated changes per minute (0: none).
    pub activity_per_minute: u32,
    /// Applied once the org is built.
    pub faults: Vec<FaultCommand>,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig {
            records: 5_000,
            seed: 1,
            client_id: "3MVG9LocalOrgConversionSyncClientId".into(),
            client_secret: "local-org-secret".into(),
            username: "integration@conversion.local".into(),
            refresh_token: None,
            daily_api_limit: 100_000,
            daily_bulk_query_jobs: bulk::DAILY_JOBS,
            session_timeout: Duration::from_secs(2 * 3600),
            activity_per_minute: 0,
            faults: Vec::new(),
        }
    }
}

/// What a Salesforce client needs to connect to the org; printed by `server fake-org`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Credentials {
    pub login_url: String,
    pub instance_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub username: String,
}

impl Credentials {
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::new(&self.login_url, &self.client_id, &self.client_secret)
    }

    /// A client for this org with default settings.
    pub fn client(&self) -> Result<SalesforceClient, SalesforceError> {
        SalesforceClient::new(self.client_config(), &self.refresh_token)
    }
}

/// Query-page work done by the org (excluding the network), for benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageStats {
    pub pages: u64,
    pub records: u64,
    pub nanos: u64,
}

/// A running local org. Dropping it leaves the server running; call [`FakeOrg::shutdown`].
pub struct FakeOrg {
    credentials: Credentials,
    addr: SocketAddr,
    org: Arc<Org>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the org on `listener` (bind `127.0.0.1:0` for tests) and returns once it accepts
/// connections.
pub async fn start(listener: TcpListener, config: OrgConfig) -> std::io::Result<FakeOrg> {
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let mut seeded = StdRng::seed_from_u64(config.seed);
    let refresh_token = config.refresh_token.clone().unwrap_or_else(|| {
        format!(
            "5Aep{}",
            (&mut seeded).sample_iter(&Alphanumeric).take(83).map(char::from).collect::<String>()
        )
    });
    let mut store = store::Store::new();
    generator::generate(&mut store, config.records, config.seed, org::now_millis());
    let mut tokens = Tokens::default();
    tokens.add_refresh(refresh_token.clone());
    let org = Arc::new(Org {
        stats: Stats::default(),
        identity: Identity {
            org_id: store::encode_id("00D", (config.seed % 1_000_000) as u32),
            user_id: store::encode_id("005", 1),
            username: config.username.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
        },
        base_url: base_url.clone(),
        session_timeout: config.session_timeout,
        store: RwLock::new(store),
        cursors: Mutex::new(Cursors::new(200)),
        tokens: Mutex::new(tokens),
        usage: Mutex::new(DailyUsage::new(config.daily_api_limit)),
        faults: Mutex::new(FaultState::default()),
        bulk: Mutex::new(bulk::Jobs::new(config.daily_bulk_query_jobs)),
    });
    for fault in &config.faults {
        org.apply_fault(fault);
    }
    let cancel = CancellationToken::new();
    // Salesforce answers every resource with or without a trailing slash, and clients send both
    // (simple-salesforce asks for `query/?q=…` and posts to `sobjects/Contact/`): the slash is
    // trimmed before routing.
    let app = NormalizePath::trim_trailing_slash(router(org.clone()));
    let app = ServiceExt::<axum::extract::Request>::into_make_service(app);
    let stop = cancel.clone();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "local Salesforce org stopped");
        }
    });
    let mut tasks = vec![server];
    if config.activity_per_minute > 0 {
        tasks.push(tokio::spawn(simulator::run(
            org.clone(),
            config.activity_per_minute,
            config.seed,
            cancel.clone(),
        )));
    }
    let credentials = Credentials {
        login_url: base_url.clone(),
        instance_url: base_url,
        client_id: config.client_id,
        client_secret: config.client_secret,
        refresh_token,
        username: config.username,
    };
    Ok(FakeOrg { credentials, addr, org, cancel, tasks })
}

/// Binds `addr` and starts the org there.
pub async fn bind(addr: SocketAddr, config: OrgConfig) -> std::io::Result<FakeOrg> {
    start(TcpListener::bind(addr).await?, config).await
}

impl FakeOrg {
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client for this org (API version, retries and batch size at their defaults).
    pub fn client(&self) -> Result<SalesforceClient, SalesforceError> {
        self.credentials.client()
    }

    pub fn apply_fault(&self, command: FaultCommand) {
        self.org.apply_fault(&command);
    }

    pub fn faults(&self) -> FaultState {
        lock(&self.org.faults).clone()
    }

    /// Data requests received so far (every attempt, whatever its outcome).
    pub fn requests_received(&self) -> u64 {
        self.org.stats.requests.load(Ordering::Relaxed)
    }

    /// `DailyApiRequests` as the org counts it now: (used, max), without spending a request.
    pub fn daily_api_usage(&self) -> (u64, u64) {
        let mut usage = lock(&self.org.usage);
        (usage.used(org::now_minute()), usage.max)
    }

    pub fn page_stats(&self) -> PageStats {
        page_stats(&self.org)
    }

    /// What the org's Bulk API 2.0 query jobs have done, for tests and benchmarks.
    pub fn bulk_stats(&self) -> bulk::BulkStats {
        lock(&self.org.bulk).stats()
    }

    /// Read access to the data, for tests and benchmarks.
    pub fn with_store<R>(&self, f: impl FnOnce(&store::Store) -> R) -> R {
        f(&self.org.data_store())
    }

    /// Write access to the data, bypassing the API (tests, demo seeding).
    pub fn with_store_mut<R>(&self, f: impl FnOnce(&mut store::Store) -> R) -> R {
        f(&mut self.org.data_store_mut())
    }

    /// Stops the server and the simulator and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn page_stats(org: &Org) -> PageStats {
    PageStats {
        pages: org.stats.pages.load(Ordering::Relaxed),
        records: org.stats.records.load(Ordering::Relaxed),
        nanos: org.stats.page_nanos.load(Ordering::Relaxed),
    }
}

/// All routes of the org.
pub fn router(org: Arc<Org>) -> Router {
    let data = Router::new()
        .route("/{version}", get(api::resources))
        .route("/{version}/query", get(data::query))
        .route("/{version}/query/{locator}", get(data::query_more))
        .route("/{version}/queryAll", get(data::query_all))
        .route("/{version}/queryAll/{locator}", get(data::query_all_more))
        .route(
            "/{version}/composite/sobjects",
            post(sobjects::collection_create).patch(sobjects::collection_update),
        )
        .route("/{version}/composite/sobjects/{object}/{field}", patch(sobjects::collection_upsert))
        .route("/{version}/sobjects", get(api::describe_global))
        .route("/{version}/sobjects/{object}", get(sobjects::basic_info).post(sobjects::create_one))
        .route("/{version}/sobjects/{object}/describe", get(api::describe))
        .route(
            "/{version}/sobjects/{object}/{id}",
            get(sobjects::get_one).patch(sobjects::update_one).delete(sobjects::delete_one),
        )
        .route("/{version}/limits", get(api::limits))
        .route("/{version}/jobs/query", get(bulk::list).post(bulk::create))
        .route("/{version}/jobs/query/{id}", get(bulk::get).patch(bulk::abort).delete(bulk::delete))
        .route("/{version}/jobs/query/{id}/results", get(bulk::results))
        .fallback(|| async { api::not_found() })
        // `layer`, not `route_layer`: the fallback must pass the gate too, so that an unknown
        // resource needs a session and answers with `Sforce-Limit-Info` like the rest.
        .layer(axum::middleware::from_fn_with_state(org.clone(), api::gate));
    Router::new()
        .route(
            "/services/oauth2/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/oauth2/revoke", post(oauth::revoke))
        .route("/services/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route("/services/data", get(api::versions))
        .route("/lightning/r/{object}/{id}/view", get(record_page::record_page))
        .nest("/services/data", data)
        .route("/__fake_org/faults", get(admin_faults).post(admin_apply))
        .route("/__fake_org/stats", get(admin_stats))
        .route("/__fake_org/bulk", get(admin_bulk))
        .with_state(org)
}

/// `GET /__fake_org/faults`: the faults in force and the API usage. Local admin, no auth.
async fn admin_faults(State(org): State<Arc<Org>>) -> Response {
    let faults = lock(&org.faults).clone();
    let (used, max) = {
        let mut u = lock(&org.usage);
        (u.used(org::now_minute()), u.max)
    };
    Json(serde_json::json!({"faults": faults, "api_usage": {"used": used, "max": max}}))
        .into_response()
}

/// `POST /__fake_org/faults` with a [`FaultCommand`].
async fn admin_apply(State(org): State<Arc<Org>>, Json(command): Json<FaultCommand>) -> Response {
    tracing::info!(?command, "local org fault applied");
    org.apply_fault(&command);
    admin_faults(State(org)).await
}

async fn admin_stats(State(org): State<Arc<Org>>) -> Response {
    Json(page_stats(&org)).into_response()
}

/// `GET /__fake_org/bulk`: Bulk API 2.0 query jobs made, and each set of results' reads.
async fn admin_bulk(State(org): State<Arc<Org>>) -> Response {
    Json(lock(&org.bulk).stats()).into_response()
}
