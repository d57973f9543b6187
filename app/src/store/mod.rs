//! Storage (server only): the SQLite pool and the queries behind every page.
//!
//! Every read and write takes the workspace it is scoped to; nothing here reads across workspaces.

mod connection;
mod records;
mod runs;
mod settings;

pub use connection::{connection_view, record_api_usage, save_connected, save_disconnected, saved_refresh_token};
pub use settings::{load_settings, save_settings};
pub use records::{append_records, append_records_in, list_records, poll_records, NewRecord, RecordsPage};
pub use runs::{
    begin_run, begin_run_listed_at, fail_interrupted_runs, fail_run, finish_run, get_run, health, list_runs,
    poll_runs, workspace_has_runs, NewRun, RunsPage, WatchedRun, PAGE_SIZE,
};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use sqlx::Error as StoreError;

/// A workspace id. Access control comes later; the scoping is already everywhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkspaceId(pub String);

impl WorkspaceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opens (creating if needed) the database at `path`, in WAL mode with foreign keys on, and
/// brings its schema up to date.
pub async fn open(path: &Path) -> Result<SqlitePool, StoreError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            tokio::fs::create_dir_all(dir).await.map_err(StoreError::Io)?;
        }
    }
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 64 MiB of page cache per connection instead of SQLite's 2 MiB: a backfill inserts into
        // indexes keyed by random values (Salesforce ids, emails), and once they outgrow the cache
        // every insert reads its pages back from the OS. Memory is only taken as pages are used.
        .pragma("cache_size", "-65536")
        // Statement journals (a multi-row upsert inside a transaction keeps one, to undo just that
        // statement) in memory rather than in a temporary file written page by page.
        .pragma("temp_store", "memory")
        // The writer checkpoints the WAL itself only past ~160 MB (SQLite's default: ~4 MB). The
        // server checkpoints in the background instead ([`checkpoint_wal`]), on another thread,
        // so a backfill's commits do not wait for it; and index pages a backfill touches over and
        // over are copied back once per checkpoint rather than once per 4 MB.
        .pragma("wal_autocheckpoint", "40000");
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// An in-memory database for tests (one shared connection, so every query sees the same data).
pub async fn open_in_memory() -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Copies what the WAL holds into the database file without waiting for anyone (`PASSIVE`):
/// run in the background, it keeps that work off the writer, whose own automatic checkpoint
/// only starts past ~160 MB of WAL.
pub async fn checkpoint_wal(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await?;
    Ok(())
}

pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations").run(pool).await.map_err(|e| StoreError::Migrate(Box::new(e)))
}

/// Creates the workspace if it does not exist yet.
pub async fn ensure_workspace(pool: &SqlitePool, id: &WorkspaceId, name: &str, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING")
        .bind(id.as_str())
        .bind(name)
        .bind(now_ms)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
