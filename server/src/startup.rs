//! Assembling the app: the database, the workspace, the engine and its loops, the demo, and the
//! router. `main` calls [`build`] then [`App::serve`]; tests that need the whole app but not a
//! child process call the same two.

use crate::config::Config;
use crate::http::{self, site, ApiState};
use crate::maintenance;
use crate::sync::{EngineConfig, Engines, OrgSource};
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
/// How long an exceeded daily limit pauses a real org's sync (`/limits` may lift it sooner).
const LIMIT_PAUSE_SECS: u64 = 15 * 60;
/// The same in the demo: short, so a paused limit shows its recovery while you watch.
#[cfg(feature = "local-org")]
const DEMO_LIMIT_PAUSE_SECS: u64 = 60;

/// The assembled app, not yet listening.
pub struct App {
    pub router: axum::Router,
    /// Where `--addr` (or Cargo.toml's site address) says to listen.
    pub addr: SocketAddr,
    pub state: AppState,
    /// Each workspace's sync engine (and in the demo its local org).
    pub engines: Engines,
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

    let location = config.location();
    let storage = store::StorageHealth::new(&location.describe());
    let pool = store::open_at(&location, &storage).await?;
    let not_written = |e: store::StoreError| store::OpenError::from_store(&location, e);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keyring = crate::keys::load(config)?;
    let mut state = AppState {
        pool,
        workspace: WorkspaceId(config.workspace.clone()),
        workspace_name: config.workspace_name.as_str().into(),
        clock,
        settings_saved: Default::default(),
        default_interval_secs: config.sync_interval_secs.max(1),
        storage: storage.clone(),
        keyring: keyring.clone(),
    };
    store::ensure_workspace(&state.pool, &state.workspace, &config.workspace_name, state.now_ms())
        .await
        .map_err(not_written)?;
    let first_admin =
        crate::accounts::ensure_first_admin(&state.pool, config, state.now_ms()).await?;
    let member = if config.demo {
        crate::accounts::ensure_demo(&state.pool, config, state.now_ms()).await?
    } else {
        None
    };
    announce_first_admin(config, first_admin, member);
    let resealed = store::reseal_refresh_tokens(&state.pool, &keyring).await.map_err(|e| {
        format!("The stored Salesforce connection could not be read ({e}). Give the key it was sealed with in --keys or --keys-file (docs/SECURITY.md).")
    })?;
    let resealed = resealed
        + store::alerts::reseal_secrets(&state.pool, &keyring).await.map_err(|e| {
            format!("The stored alert webhook secrets could not be read ({e}). Give the key they were sealed with in --keys or --keys-file (docs/SECURITY.md).")
        })?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            key = keyring.active_id(),
            "sealed stored secrets with the active key"
        );
    }
    // Work this server's previous life held (the same --instance-name) is let go at once; what it
    // left in progress is failed below. Work other live servers hold stays theirs.
    let released = store::leases::release_all_of(&state.pool, &config.instance_name)
        .await
        .map_err(not_written)?;
    if released > 0 {
        tracing::info!(released, instance = %config.instance_name, "let go of the sync work this server held before it restarted");
    }
    let workspaces = store::workspace_ids(&state.pool).await.map_err(not_written)?;
    for ws in &workspaces {
        let interrupted = store::fail_interrupted_runs(&state.pool, ws, state.now_ms())
            .await
            .map_err(not_written)?;
        if interrupted > 0 {
            tracing::warn!(
                workspace = %ws,
                interrupted,
                "marked runs left in progress by the previous process as failed"
            );
        }
    }
    #[cfg(feature = "local-org")]
    if config.demo_history {
        for ws in &workspaces {
            let here = AppState { workspace: ws.clone(), ..state.clone() };
            let seed = if *ws == state_ws(config) {
                config.demo_seed
            } else {
                config.demo_seed ^ seed_of(ws)
            };
            crate::demo::history::seed_if_empty(&here, seed).await;
        }
    }

    let shutdown = CancellationToken::new();
    // SQLite's write-ahead log and page cache are the server's to look after; PostgreSQL looks
    // after its own.
    let mut tasks = Vec::new();
    if let Some(sqlite) = state.pool.sqlite() {
        tasks.push(tokio::spawn(maintenance::upkeep(
            sqlite.clone(),
            storage.clone(),
            maintenance::CHECKPOINT_EVERY,
            shutdown.clone(),
        )));
    }
    let (source, limit_pause_secs) = if let Some(client_config) = config.salesforce.client_config()
    {
        // A real org: the engines only, never a simulator.
        tracing::info!(login_url = %client_config.login_url, "syncing with Salesforce through the connected app given by --salesforce-*");
        let token = config.salesforce.refresh_token.expose();
        let first = (!token.is_empty()).then(|| (state_ws(config), token.to_string()));
        (
            OrgSource::Salesforce { client: Box::new(client_config), refresh_token: first },
            LIMIT_PAUSE_SECS,
        )
    } else if config.demo {
        #[cfg(feature = "local-org")]
        {
            (OrgSource::Local(demo_orgs(config)), DEMO_LIMIT_PAUSE_SECS)
        }
        #[cfg(not(feature = "local-org"))]
        {
            tracing::warn!(
                "built without the local org (feature local-org): --demo starts nothing"
            );
            (OrgSource::None, LIMIT_PAUSE_SECS)
        }
    } else {
        tracing::info!("No Salesforce org: nothing syncs. Start with --demo for local ones, or give the connected app's --salesforce-client-id and --salesforce-client-secret and press Connect on the Overview (README: Connecting a real org)");
        (OrgSource::None, LIMIT_PAUSE_SECS)
    };
    let engines = Engines::new(
        state.pool.clone(),
        state.clock.clone(),
        engine_config(config, &keyring, limit_pause_secs),
        source,
        storage.clone(),
        shutdown.child_token(),
    );
    engines.start_all().await?;
    // Servers sharing a PostgreSQL database hear of each other's changes (none on SQLite).
    tasks.push(tokio::spawn(engines.clone().listen_for_wakeups(shutdown.clone())));
    state.settings_saved = {
        let engines = engines.clone();
        app::state::SettingsSaved::new(move |ws| engines.wake(ws))
    };
    tasks.push(tokio::spawn(maintenance::watch_storage(
        state.pool.clone(),
        storage.clone(),
        state.clock.clone(),
        engines.clone(),
        maintenance::CHECK_WRITABLE_EVERY,
        shutdown.clone(),
    )));

    // Alerts to each workspace's webhook: the runs' ends are found by a scan, not a hook in the
    // engine, so the task runs on servers without an engine too.
    if let Some(url) = config.public_url.as_deref().filter(|u| !u.trim().is_empty()) {
        app::domain::alerts::check_url(url).map_err(|e| format!("--public-url: {e}"))?;
    }
    let alerts = crate::alerts::Alerts::new(
        state.pool.clone(),
        state.clock.clone(),
        keyring.clone(),
        config.alerts(addr),
    )
    .map_err(|e| format!("The HTTP client for alerts could not be made ({e})."))?;
    tasks.push(tokio::spawn(alerts.clone().run(shutdown.clone())));

    // History older than each workspace keeps.
    tasks.push(tokio::spawn(crate::retention::run(
        state.pool.clone(),
        state.clock.clone(),
        crate::retention::EVERY,
        shutdown.clone(),
    )));

    let sessions = store::accounts::session_store(&state.pool);
    store::accounts::prepare_session_store(&sessions).await.map_err(not_written)?;
    tasks.push(tokio::spawn(delete_expired_sessions(sessions.clone(), shutdown.clone())));
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::days(
            config.session_days.max(1).into(),
        )));
    let throttle = http::auth::Throttle::default();
    let auth = http::auth::AuthState::new(
        state.pool.clone(),
        state.clock.clone(),
        throttle.clone(),
        config.change_limit_per_minute,
    );

    let routes = generate_route_list(app::App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let api = http::router(ApiState {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        engines: engines.clone(),
        storage,
        oauth_flows: Default::default(),
        throttle,
        instance: config.instance_name.clone(),
        alerts,
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
        .route("/healthz", axum::routing::get(healthz));
    // Signing in wraps the router rather than being one of its layers: it takes the workspace
    // off the address (`/w/{workspace}/…`) before the routes are matched.
    let signed_in = tower::ServiceBuilder::new()
        .layer(session_layer)
        .layer(axum::middleware::from_fn_with_state(auth, http::auth::require_sign_in))
        .service(router);
    let router = axum::Router::new()
        .fallback_service(signed_in)
        .layer(axum::middleware::from_fn(http::same_origin::refuse_cross_site_changes));
    let router = http::trace::layer(site::serve(router, &site_options, assets))
        .layer(axum::middleware::from_fn_with_state(
            http::allowed_hosts::AllowedHosts::new(&config.allowed_hosts, addr),
            http::allowed_hosts::refuse_unknown_hosts,
        ))
        .layer(axum::middleware::map_response(http::headers::security_headers))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT));
    Ok(App { router, addr, state, engines, tasks, shutdown })
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
fn announce_first_admin(config: &Config, made: crate::accounts::FirstAdmin, member: Option<&str>) {
    use crate::accounts::{first_admin_file, read_first_admin, FirstAdmin};
    match made {
        FirstAdmin::Made { email } => tracing::info!(%email, "made the first admin"),
        FirstAdmin::Generated { .. } | FirstAdmin::Existing => {
            let Some((email, password)) = read_first_admin(&config.files_base()) else { return };
            let file = first_admin_file(&config.files_base());
            if config.demo {
                tracing::info!(
                    "Sign in as {email} (an admin of both demo workspaces) with password {password} (kept in {} until `server adduser {email}` sets another)",
                    file.display()
                );
                if let Some(member) = member {
                    tracing::info!(
                        "Sign in as {member} (a member, who reads but changes nothing) with the same password"
                    );
                }
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

    /// Stops the loops, the engines and the local orgs.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.engines.stop().await;
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// The engines' settings from the flags; `limit_pause_secs`: how long an exceeded daily limit
/// pauses a workspace's sync.
fn engine_config(config: &Config, keyring: &Keyring, limit_pause_secs: u64) -> EngineConfig {
    EngineConfig {
        interval: Duration::from_secs(config.sync_interval_secs.max(1)),
        page_size: config.page_size,
        bulk_threshold: (config.bulk_threshold > 0).then_some(config.bulk_threshold),
        backfill_batch_size: config.backfill_batch_size.max(1),
        limit_pause: Duration::from_secs(limit_pause_secs),
        limit_check_every: Duration::from_secs(config.limit_check_secs.max(1)),
        keyring: keyring.clone(),
        instance: config.instance_name.clone(),
        lease_ttl: Duration::from_secs(config.lease_secs.max(3)),
        ..EngineConfig::default()
    }
}

/// The workspace made at first start (`--workspace`).
fn state_ws(config: &Config) -> WorkspaceId {
    WorkspaceId(config.workspace.clone())
}

/// The demo: a local org in-process for each workspace, and Conversion's simulated changes.
#[cfg(feature = "local-org")]
fn demo_orgs(config: &Config) -> crate::sync::engines::LocalOrgs {
    use crate::fake_org::{FaultCommand, OrgConfig};
    let mut faults = Vec::new();
    if config.org_latency_ms > 0 {
        faults.push(FaultCommand::SetLatency { ms: config.org_latency_ms });
    }
    crate::sync::engines::LocalOrgs {
        org: OrgConfig {
            records: config.org_records,
            seed: config.demo_seed,
            activity_per_minute: config.org_activity_per_minute,
            faults,
            ..OrgConfig::default()
        },
        changes_per_minute: config.conversion_changes_per_minute,
        first: state_ws(config),
    }
}

/// A number from the workspace's id, so that each demo workspace's history differs.
#[cfg(feature = "local-org")]
fn seed_of(ws: &WorkspaceId) -> u64 {
    crate::sync::engines::seed_of(ws)
}
