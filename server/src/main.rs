//! The Sync activity server: serves the pages and the API, and hosts the sync engine.

mod config;
mod demo;

use app::state::{AppState, Clock, SystemClock};
use app::store::{self, WorkspaceId};
use clap::Parser;
use config::Config;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use server::api::{self, ApiState};
use server::fake_org::{self, FakeOrg, FaultCommand, OrgConfig};
use server::sync::{scheduler, simulator, Engine, EngineConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Config::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A sentence a person can act on (each start-up error names what it is about), not
            // Rust's debug print of the error.
            eprintln!("Sync activity stopped. {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(config::Command::FakeOrg(args)) = config.command {
        return server::fake_org::cli::run_standalone(args).await;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();

    let mut leptos_options = get_configuration(None)?.leptos_options;
    if let Some(addr) = config.addr {
        leptos_options.site_addr = addr;
    }
    let addr = leptos_options.site_addr;
    let assets = server::site::Assets::find(&mut leptos_options);

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
    app::store::ensure_workspace(&state.pool, &state.workspace, &config.workspace_name, state.now_ms()).await.map_err(not_written)?;
    let interrupted = store::fail_interrupted_runs(&state.pool, &state.workspace, state.now_ms()).await.map_err(not_written)?;
    if interrupted > 0 {
        tracing::warn!(interrupted, "marked runs left in progress by the previous process as failed");
    }
    if config.demo_history {
        demo::seed_if_empty(&state, config.demo_seed).await;
    }

    let shutdown = CancellationToken::new();
    let mut background = vec![tokio::spawn(server::maintenance::upkeep(
        state.pool.clone(),
        storage.clone(),
        server::maintenance::CHECKPOINT_EVERY,
        shutdown.clone(),
    ))];
    let mut org: Option<FakeOrg> = None;
    let mut engine: Option<Engine> = None;
    if let Some(client) = server::salesforce::SalesforceClient::from_env() {
        // A real org, configured by environment: the engine only, never a simulator.
        let client = client?;
        let login_url = client.config().login_url.clone();
        let refresh_token = std::env::var("SALESFORCE_REFRESH_TOKEN").unwrap_or_default();
        tracing::info!(%login_url, "syncing with the Salesforce org configured by environment");
        let e = Engine::new(state.pool.clone(), state.workspace.clone(), client, state.clock.clone(), engine_config(&config, 15 * 60), None, shutdown.clone());
        server::connect::on_start(&e, &login_url, None, Some(&refresh_token)).await?;
        background.push(tokio::spawn(server::connect::track_api_usage(e.clone(), Duration::from_secs(2))));
        background.push(tokio::spawn(scheduler::run_inbound(e.clone())));
        background.push(tokio::spawn(scheduler::run_outbound(e.clone())));
        engine = Some(e);
    } else if config.demo {
        let (o, e) = start_engine(&config, &state, shutdown.clone()).await?;
        let creds = o.credentials();
        server::connect::on_start(&e, &creds.instance_url, Some(&creds.username), Some(&creds.refresh_token)).await?;
        background.push(tokio::spawn(server::connect::track_api_usage(e.clone(), Duration::from_secs(2))));
        background.push(tokio::spawn(scheduler::run_inbound(e.clone())));
        background.push(tokio::spawn(scheduler::run_outbound(e.clone())));
        if config.conversion_changes_per_minute > 0 {
            let every = Duration::from_secs(60) / config.conversion_changes_per_minute;
            background.push(tokio::spawn(simulator::run(e.clone(), every, config.demo_seed)));
        }
        org = Some(o);
        engine = Some(e);
    }

    if let Some(e) = &engine {
        // The settings form wakes this engine's scheduler.
        state.settings_saved = e.settings_saved();
        e.report_storage_to(storage.clone());
    }
    background.push(tokio::spawn(server::maintenance::watch_storage(
        state.pool.clone(),
        storage.clone(),
        state.clock.clone(),
        engine.clone(),
        server::maintenance::CHECK_WRITABLE_EVERY,
        shutdown.clone(),
    )));
    let routes = generate_route_list(app::App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let api = api::router(ApiState { pool: state.pool.clone(), workspace: state.workspace.clone(), clock: state.clock.clone(), engine, storage });
    let site_options = leptos_options.clone();
    let router = axum::Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, app::shell))
        .with_state(leptos_options)
        .merge(api)
        .layer(axum::middleware::map_response(server::bad_request::args_errors_to_bad_request))
        .layer(axum::middleware::from_fn(server::same_origin::refuse_cross_site_changes));
    let router = server::site::serve(router, &site_options, assets);

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("Could not listen on {addr} ({e}). Is another server running there? Give another address with --addr."))?;
    tracing::info!("Sync activity listening on http://{}", listener.local_addr()?);
    let stop = shutdown.clone();
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop.cancel();
        })
        .await?;
    shutdown.cancel();
    // The loops finish (or roll back) the page in hand, then return.
    for task in background {
        let _ = task.await;
    }
    if let Some(org) = org {
        org.shutdown().await;
    }
    Ok(())
}

/// Starts the local org in-process on an ephemeral port and the engine against it.
async fn start_engine(config: &Config, state: &AppState, cancel: CancellationToken) -> Result<(FakeOrg, Engine), Box<dyn std::error::Error>> {
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
    let org_url = org.credentials().instance_url.clone();
    tracing::info!(%org_url, "local Salesforce org running in-process (faults: POST {org_url}/__fake_org/faults)");
    // Short in the demo so a paused limit shows its recovery while you watch.
    let engine = Engine::new(state.pool.clone(), state.workspace.clone(), org.client()?, state.clock.clone(), engine_config(config, 60), Some(org_url), cancel);
    Ok((org, engine))
}

/// The engine's settings from the command line; `limit_pause_secs`: how long an exceeded daily
/// limit pauses API calls.
fn engine_config(config: &Config, limit_pause_secs: u64) -> EngineConfig {
    EngineConfig {
        interval: Duration::from_secs(config.sync_interval_secs.max(1)),
        page_size: config.page_size,
        limit_pause: Duration::from_secs(limit_pause_secs),
        limit_check_every: Duration::from_secs(config.limit_check_secs.max(1)),
        ..EngineConfig::default()
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
