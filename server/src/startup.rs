//! Assembling the app: the database, the workspace, the engine and its loops, the demo, and the
//! router. `main` calls [`build`] then [`App::serve`]; tests that need the whole app but not a
//! child process call the same two.

use crate::config::Config;
use crate::http::{self, site, ApiState};
use crate::maintenance;
use crate::salesforce::SalesforceClient;
use crate::sync::{connection, scheduler, usage, Engine, EngineConfig};
use app::state::{AppState, Clock, SystemClock};
use app::store::keyring::Keyring;
use app::store::{self, WorkspaceId};
use axum::http::StatusCode;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

/// What stopped the start, as a sentence (each names what it is about).
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// The largest request body the server reads: a Conversion change or the settings form is a few
/// kilobytes.
const MAX_BODY_BYTES: usize = 1 << 20;
/// A request not answered by then is answered 408: no page or API call takes this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests served at once; more wait their turn (500 live pages polling need far fewer).
const MAX_IN_FLIGHT: usize = 1024;
/// The sign-in cookie.
const SESSION_COOKIE: &str = "conversion_session";
/// How often expired sessions are deleted.
const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(300);
/// How often the Rate limits figures are saved when Salesforce reports new ones.
const USAGE_EVERY: Duration = Duration::from_secs(2);
/// How long an exceeded daily limit pauses a real org's sync (`/limits` may lift it sooner).
const LIMIT_PAUSE_SECS: u64 = 15 * 60;
/// The same in the demo: short, so a paused limit shows its recovery while you watch.
#[cfg(feature = "local-org")]
const DEMO_LIMIT_PAUSE_SECS: u64 = 60;

/// The demo's in-process Salesforce org.
#[cfg(feature = "local-org")]
pub type LocalOrg = crate::fake_org::FakeOrg;
/// Built without the local org: there is none.
#[cfg(not(feature = "local-org"))]
pub type LocalOrg = std::convert::Infallible;

/// The assembled app, not yet listening.
pub struct App {
    pub router: axum::Router,
    /// Where `--addr` (or Cargo.toml's site address) says to listen.
    pub addr: SocketAddr,
    pub state: AppState,
    pub engine: Option<Engine>,
    /// The in-process local org of the demo.
    pub org: Option<LocalOrg>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

/// Opens (and checks) the database, prepares the workspace, starts the engine with the org it is
/// given (a real one from `--salesforce-*`, else the local one when `--demo`) and its loops, and
/// builds the router.
pub async fn build(config: &Config) -> Result<App, StartError> {
    let mut leptos_options = get_configuration(None)?.leptos_options;
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }
    let addr = leptos_options.site_addr;
    let assets = site::Assets::find(&mut leptos_options);

    let storage = store::StorageHealth::new(&config.database);
    let pool = store::open_with(&config.database, &storage).await?;
    let not_written = |e: store::StoreError| store::OpenError::from_store(&config.database, e);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut state = AppState {
        pool,
        workspace: WorkspaceId(config.workspace.clone()),
        workspace_name: config.workspace_name.as_str().into(),
        clock,
        settings_saved: Default::default(),
        default_interval_secs: config.sync_interval_secs.max(1),
        storage: storage.clone(),
    };
    store::ensure_workspace(&state.pool, &state.workspace, &config.workspace_name, state.now_ms())
        .await
        .map_err(not_written)?;
    announce_first_admin(
        config,
        crate::accounts::ensure_first_admin(&state.pool, config, state.now_ms()).await?,
    );
    let keyring = crate::keys::load(config)?;
    let resealed = store::reseal_refresh_tokens(&state.pool, &keyring).await.map_err(|e| {
        format!("The stored Salesforce connection could not be read ({e}). Give the key it was sealed with in --keys or --keys-file (docs/SECURITY.md).")
    })?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            key = keyring.active_id(),
            "sealed stored secrets with the active key"
        );
    }
    let interrupted = store::fail_interrupted_runs(&state.pool, &state.workspace, state.now_ms())
        .await
        .map_err(not_written)?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "marked runs left in progress by the previous process as failed"
        );
    }
    #[cfg(feature = "local-org")]
    if config.demo_history {
        crate::demo::history::seed_if_empty(&state, config.demo_seed).await;
    }

    let shutdown = CancellationToken::new();
    let mut tasks = vec![tokio::spawn(maintenance::upkeep(
        state.pool.clone(),
        storage.clone(),
        maintenance::CHECKPOINT_EVERY,
        shutdown.clone(),
    ))];
    #[cfg_attr(not(feature = "local-org"), allow(unused_mut))]
    let mut org = None;
    let engine = if let Some(client_config) = config.salesforce.client_config() {
        // A real org: the engine only, never a simulator.
        let login_url = client_config.login_url.clone();
        let refresh_token = config.salesforce.refresh_token.expose();
        let client = SalesforceClient::new(client_config, refresh_token)?;
        tracing::info!(%login_url, "syncing with the Salesforce org given by --salesforce-*");
        let engine =
            new_engine(config, &keyring, &state, client, LIMIT_PAUSE_SECS, None, &shutdown);
        connection::on_start(&engine, &login_url, None, Some(refresh_token)).await?;
        Some(engine)
    } else if config.demo {
        #[cfg(feature = "local-org")]
        {
            let (o, engine) = start_demo(config, &keyring, &state, &shutdown, &mut tasks).await?;
            org = Some(o);
            Some(engine)
        }
        #[cfg(not(feature = "local-org"))]
        {
            tracing::warn!(
                "built without the local org (feature local-org): --demo starts nothing"
            );
            None
        }
    } else {
        None
    };
    if let Some(e) = &engine {
        tasks.push(tokio::spawn(usage::track_api_usage(e.clone(), USAGE_EVERY)));
        tasks.push(tokio::spawn(scheduler::run_inbound(e.clone())));
        tasks.push(tokio::spawn(scheduler::run_outbound(e.clone())));
        // The settings form wakes this engine's scheduler.
        state.settings_saved = e.settings_saved();
        e.report_storage_to(storage.clone());
    }
    tasks.push(tokio::spawn(maintenance::watch_storage(
        state.pool.clone(),
        storage.clone(),
        state.clock.clone(),
        engine.clone(),
        maintenance::CHECK_WRITABLE_EVERY,
        shutdown.clone(),
    )));

    let sessions = store::accounts::session_store(&state.pool);
    tasks.push(tokio::spawn(delete_expired_sessions(sessions.clone(), shutdown.clone())));
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(
            config.session_days.max(1).into(),
        )));
    let auth = http::auth::AuthState::new(
        state.pool.clone(),
        state.workspace.clone(),
        state.clock.clone(),
    );

    let routes = generate_route_list(app::App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let api = http::router(ApiState {
        pool: state.pool.clone(),
        workspace: state.workspace.clone(),
        clock: state.clock.clone(),
        engine: engine.clone(),
        storage,
        oauth_flows: Default::default(),
    });
    let site_options = leptos_options.clone();
    let router = axum::Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, app::shell))
        .with_state(leptos_options)
        .merge(api)
        .merge(http::auth::routes(auth.clone()))
        .layer(axum::middleware::map_response(http::bad_request::args_errors_to_bad_request))
        .layer(axum::middleware::from_fn_with_state(auth, http::auth::require_sign_in))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(http::same_origin::refuse_cross_site_changes))
        .route("/healthz", axum::routing::get(healthz));
    let router = http::trace::layer(site::serve(router, &site_options, assets))
        .layer(axum::middleware::from_fn_with_state(
            http::allowed_hosts::AllowedHosts::new(&config.allowed_hosts, addr),
            http::allowed_hosts::refuse_unknown_hosts,
        ))
        .layer(axum::middleware::map_response(http::headers::security_headers))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT));
    Ok(App { router, addr, state, engine, org, tasks, shutdown })
}

/// `GET /healthz`: the process answers (for load balancers and the tests' start-up wait). Says
/// nothing about any workspace, so it needs nobody signed in.
async fn healthz() -> &'static str {
    "ok"
}

/// Deletes expired sign-in sessions every few minutes until the server stops.
async fn delete_expired_sessions(
    sessions: store::accounts::SessionStore,
    shutdown: CancellationToken,
) {
    tokio::select! {
        result = sessions.continuously_delete_expired(SESSION_SWEEP_EVERY) => {
            if let Err(e) = result {
                tracing::error!(error = %e, "deleting expired sessions stopped");
            }
        }
        _ = shutdown.cancelled() => {}
    }
}

/// Says how to sign in to a server that has just made its first admin, or still keeps the
/// generated password of one (the password itself only in the demo; otherwise its file).
fn announce_first_admin(config: &Config, made: crate::accounts::FirstAdmin) {
    use crate::accounts::{first_admin_file, read_first_admin, FirstAdmin};
    match made {
        FirstAdmin::Made { email } => tracing::info!(%email, "made the first admin"),
        FirstAdmin::Generated { .. } | FirstAdmin::Existing => {
            let Some((email, password)) = read_first_admin(&config.database) else { return };
            let file = first_admin_file(&config.database);
            if config.demo {
                tracing::info!(
                    "Sign in as {email} with password {password} (kept in {} until `server adduser {email}` sets another)",
                    file.display()
                );
            } else {
                tracing::info!(
                    "Sign in as {email} with the password in {} (until `server adduser {email}` sets another)",
                    file.display()
                );
            }
        }
    }
}

impl App {
    /// Serves until `stop` completes, then lets the loops finish (or roll back) the page in hand
    /// and stops the local org.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let shutdown = self.shutdown.clone();
        let served = axum::serve(listener, self.router.clone().into_make_service())
            .with_graceful_shutdown(async move {
                stop.await;
                shutdown.cancel();
            })
            .await;
        self.stop().await;
        served
    }

    /// Stops the loops and the local org.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        #[cfg(feature = "local-org")]
        if let Some(org) = self.org {
            org.shutdown().await;
        }
    }
}

fn new_engine(
    config: &Config,
    keyring: &Keyring,
    state: &AppState,
    client: SalesforceClient,
    limit_pause_secs: u64,
    org_url: Option<String>,
    shutdown: &CancellationToken,
) -> Engine {
    let engine_config = EngineConfig {
        interval: Duration::from_secs(config.sync_interval_secs.max(1)),
        page_size: config.page_size,
        limit_pause: Duration::from_secs(limit_pause_secs),
        limit_check_every: Duration::from_secs(config.limit_check_secs.max(1)),
        keyring: keyring.clone(),
        ..EngineConfig::default()
    };
    Engine::new(
        state.pool.clone(),
        state.workspace.clone(),
        client,
        state.clock.clone(),
        engine_config,
        org_url,
        shutdown.clone(),
    )
}

/// The demo: the local org in-process on an ephemeral port, the engine against it, and
/// Conversion's simulated changes.
#[cfg(feature = "local-org")]
async fn start_demo(
    config: &Config,
    keyring: &Keyring,
    state: &AppState,
    shutdown: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<(LocalOrg, Engine), StartError> {
    use crate::fake_org::{self, FaultCommand, OrgConfig};
    let mut faults = Vec::new();
    if config.org_latency_ms > 0 {
        faults.push(FaultCommand::SetLatency { ms: config.org_latency_ms });
    }
    let org_config = OrgConfig {
        records: config.org_records,
        seed: config.demo_seed,
        activity_per_minute: config.org_activity_per_minute,
        faults,
        ..OrgConfig::default()
    };
    let org = fake_org::bind("127.0.0.1:0".parse()?, org_config).await?;
    let creds = org.credentials();
    let org_url = creds.instance_url.clone();
    tracing::info!(%org_url, "local Salesforce org running in-process (faults: POST {org_url}/__fake_org/faults)");
    let client = org.client()?;
    let engine =
        new_engine(config, keyring, state, client, DEMO_LIMIT_PAUSE_SECS, Some(org_url), shutdown);
    let (url, user, token) = (&creds.instance_url, &creds.username, &creds.refresh_token);
    connection::on_start(&engine, url, Some(user), Some(token)).await?;
    if config.conversion_changes_per_minute > 0 {
        let every = Duration::from_secs(60) / config.conversion_changes_per_minute;
        tasks.push(tokio::spawn(crate::demo::changes::run(
            engine.clone(),
            every,
            config.demo_seed,
        )));
    }
    Ok((org, engine))
}
