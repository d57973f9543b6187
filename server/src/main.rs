//! The Sync activity server: serves the pages and the API, and hosts the background work.

mod config;
mod demo;

use app::state::{AppState, SystemClock};
use app::store::{self, WorkspaceId};
use clap::Parser;
use config::Config;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
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

    let pool = store::open(&config.database).await?;
    let clock = Arc::new(SystemClock);
    let state = AppState { pool, workspace: WorkspaceId(config.workspace.clone()), clock };
    app::store::ensure_workspace(&state.pool, &state.workspace, &config.workspace_name, state.now_ms()).await?;
    let interrupted = store::fail_interrupted_runs(
        &state.pool,
        state.now_ms(),
        "The server stopped while this batch was running. Its records are synced again on the next run.",
    )
    .await?;
    if interrupted > 0 {
        tracing::warn!(interrupted, "marked runs left in progress by the previous process as failed");
    }

    let shutdown = CancellationToken::new();
    let mut background = Vec::new();
    if config.demo {
        background.push(tokio::spawn(demo::run(state.clone(), config.demo_seed, shutdown.clone())));
    }

    let routes = generate_route_list(app::App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let router = axum::Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, app::shell))
        .with_state(leptos_options);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("Sync activity listening on http://{}", listener.local_addr()?);
    let stop = shutdown.clone();
    axum::serve(listener, router.into_make_service())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop.cancel();
        })
        .await?;
    shutdown.cancel();
    for task in background {
        let _ = task.await;
    }
    Ok(())
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
