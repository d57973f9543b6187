//! The Sync activity server: serves the pages and the API, and hosts the sync engine.

// The page shell's view type is deep: in release, computing its layout in this crate needs the
// same limit as the library's.
#![recursion_limit = "256"]

use clap::Parser;
use server::config::Config;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    server::tune_allocator();
    match run(Config::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A sentence a person can act on (each start-up error names what it is about), not
            // Rust's debug print of the error.
            eprintln!("Sync activity stopped. {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), server::startup::StartError> {
    #[cfg(feature = "local-org")]
    if let Some(server::config::Command::FakeOrg(args)) = config.command {
        return server::fake_org::cli::run_standalone(*args).await;
    }
    match &config.command {
        Some(server::config::Command::Keygen { id }) => {
            println!("{}", app::store::keyring::Keyring::generate_entry(id));
            return Ok(());
        }
        Some(server::config::Command::Addworkspace { id, name }) => {
            let pool = app::store::open(&config.location()).await?;
            let now = chrono::Utc::now().timestamp_millis();
            let ws = app::store::WorkspaceId(id.clone());
            app::store::ensure_workspace(&pool, &ws, name, now).await?;
            println!("Workspace {id} ({name}) is ready: add its first admin with `server --workspace {id} adduser EMAIL --role admin`.");
            return Ok(());
        }
        Some(server::config::Command::Adduser { email, name, role }) => {
            let password = match std::env::var("SYNC_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!(
                        "Password for {email} (at least {} characters):",
                        server::accounts::MIN_PASSWORD_CHARS
                    );
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let pool = app::store::open(&config.location()).await?;
            let now = chrono::Utc::now().timestamp_millis();
            let done = server::accounts::add_user(
                &pool,
                &config,
                email,
                name.as_deref(),
                *role,
                &password,
                now,
            )
            .await?;
            println!("{done}");
            return Ok(());
        }
        Some(server::config::Command::Rekey) => {
            let ring = server::keys::load(&config)?;
            let pool = app::store::open(&config.location()).await?;
            let n = app::store::reseal_refresh_tokens(&pool, &ring).await?
                + app::store::alerts::reseal_secrets(&pool, &ring).await?;
            println!("Sealed {n} stored secret(s) again with key {}.", ring.active_id());
            return Ok(());
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let app = server::startup::build(&config).await?;
    let addr = app.addr;
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        format!("Could not listen on {addr} ({e}). Is another server running there? Give another address with --addr.")
    })?;
    tracing::info!("Sync activity listening on http://{}", listener.local_addr()?);
    app.serve(listener, shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
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
