//! Storage (server only): the database (a SQLite file, or PostgreSQL: see [`db`]) and the queries
//! behind every page.
//!
//! Every read and write takes the workspace it is scoped to; nothing here reads across workspaces.
//!
//! Each table has one module that owns it, and SQL lives nowhere else in the product (the local
//! Salesforce org in `server/src/fake_org` keeps its own storage, which is not the product's):
//!
//! - `runs` (with `runs::records`, a run's records, and `runs::health`, the health card's
//!   figures) owns the runs aggregate: `sync_runs`, `run_records` and `run_messages`;
//! - `health` owns `storage_checks`;
//! - `connection` owns `sync_connection` (see there what a workspace without a row is);
//! - `settings` owns `sync_settings`;
//! - [`cursors`] owns `sync_cursors` and `sync_seen`;
//! - [`outbox`] owns `sync_outbox`;
//! - [`conversion`] owns Conversion's own records (`conversion_*`);
//! - [`accounts`] owns `users`, `memberships` and `sessions`;
//! - [`audit`] owns `audit_events`;
//! - [`api_tokens`] owns `api_tokens`;
//! - [`invitations`] owns `invitations`;
//! - [`leases`] owns `sync_leases` (who does which sync work now);
//! - [`alerts`] owns the alert webhooks, their folding, deliveries and attempts (`alert_*`);
//! - this module owns `workspaces`, and opens, checks and checkpoints the database.

#[macro_use]
mod db;
pub mod accounts;
pub mod alerts;
pub mod api_tokens;
pub mod audit;
mod connection;
pub mod conversion;
pub mod cursors;
pub mod health;
pub mod invitations;
pub mod keyring;
pub mod leases;
pub mod outbox;
mod runs;
mod settings;
pub mod testing;
pub mod wakeups;

pub use connection::{
    connection_view, mark_reconnect_needed, record_api_usage, reseal_refresh_tokens,
    save_connected, save_disconnected, saved_refresh_token, set_connection_state, set_limit_pause,
    sync_connection, ResealError, SyncConnection,
};
pub use cursors::{load_cursor, load_seen, save_cursor, save_seen, BulkCursor, BulkJobRef, Cursor};
pub use runs::health::health;
pub use runs::records::{
    append_records, append_records_in, list_records, poll_records, reported_since, NewRecord,
    RecordsPage,
};
pub use runs::retention::{delete_expired_step, oldest_run_at, Step as RetentionStep};
pub use runs::touches::{
    find_record, keys_of, record_timeline, reported, search_records, SearchResults, TimelinePage,
};
pub use runs::{
    begin_run, begin_run_listed_at, fail_abandoned_runs, fail_interrupted_runs, fail_run,
    fail_taken_over_in, finish_run, get_run, has_runs_in_progress, link_retry, list_runs,
    poll_runs, workspace_has_runs, NewRun, RunsPage, WatchedRun, PAGE_SIZE,
};
pub use settings::{load_retention_days, load_settings, save_retention_days, save_settings};

pub use db::{Backend, Db, Exec, Tx};

use crate::domain::health::StorageFailure;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use health::{check_writable, storage_failure, StorageHealth};
pub use sqlx::Error as StoreError;

/// A workspace id: the `{workspace}` of `/w/{workspace}/…` addresses, and every query's scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WorkspaceId(pub String);

impl WorkspaceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the database is, as `--database` gives it: a PostgreSQL address (`postgres://…` or
/// `postgresql://…`), or else the path of a SQLite file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            Location::Postgres(t.to_string())
        } else {
            Location::File(PathBuf::from(s))
        }
    }

    /// How messages name it: the file's path, or the address without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Postgres(url) => without_password(url),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:…@host/db`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((auth, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:…@{host}"),
        None => url.to_string(),
    }
}

/// Opens the database at `location` and brings its schema up to date: [`open_file`] or
/// [`open_postgres`]. Its storage state is not watched: the server uses [`open_at`].
pub async fn open(location: &Location) -> Result<Db, OpenError> {
    open_at(location, &StorageHealth::new(&location.describe())).await
}

/// [`open`], with the storage state watched through `storage`.
pub async fn open_at(location: &Location, storage: &StorageHealth) -> Result<Db, OpenError> {
    match location {
        Location::File(path) => open_with(path, storage).await.map(Db::Sqlite),
        Location::Postgres(url) => open_postgres(url).await.map(Db::Postgres),
    }
}

/// Connects to the PostgreSQL database at `url` and brings its schema up to date (its own
/// migrations, `migrations_postgres`: the same tables, indexes and constraints as SQLite's).
pub async fn open_postgres(url: &str) -> Result<sqlx::PgPool, OpenError> {
    let shown = without_password(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| OpenError::Address { address: shown.clone(), reason: reason(&e) })?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|e| OpenError::Server { address: shown.clone(), reason: reason(&e) })?;
    migrate(&Db::Postgres(pool.clone()))
        .await
        .map_err(|e| OpenError::MigrateServer { address: shown, reason: reason(&e) })?;
    Ok(pool)
}

/// Opens (creating if needed) the SQLite database at `path`, in WAL mode with foreign keys on,
/// checks it is not damaged and brings its schema up to date.
pub async fn open_file(path: &Path) -> Result<SqlitePool, OpenError> {
    open_with(path, &StorageHealth::new(&path.display().to_string())).await
}

/// [`open_file`], with the pool keeping connections that went through a storage failure out of
/// use (see [`health`]).
pub async fn open_with(path: &Path, storage: &StorageHealth) -> Result<SqlitePool, OpenError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| OpenError::Folder {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
    }
    restrict_to_owner(path);
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 64 MiB of page cache per connection instead of SQLite's 2 MiB: a backfill inserts into
        // indexes keyed by random values (Salesforce ids, emails), and once they outgrow the cache
        // every insert reads its pages back from the OS. Memory is only taken as pages are used,
        // and given back once writes settle ([`release_idle_memory`]).
        .pragma("cache_size", "-65536")
        // Statement journals (a multi-row upsert inside a transaction keeps one, to undo just that
        // statement) in memory rather than in a temporary file written page by page.
        .pragma("temp_store", "memory")
        // The writer checkpoints the WAL itself only past ~160 MB (SQLite's default: ~4 MB). The
        // server checkpoints in the background instead ([`checkpoint_wal`]), on another thread,
        // so a backfill's commits do not wait for it; and index pages a backfill touches over and
        // over are copied back once per checkpoint rather than once per 4 MB.
        .pragma("wal_autocheckpoint", "40000");
    let (released, acquired) = (storage.clone(), storage.clone());
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        // Connections that went through a storage failure are closed, not reused ([`health`]).
        .after_release(move |conn, meta| {
            let storage = released.clone();
            Box::pin(async move { health::fit_to_keep(conn, meta.age, &storage).await })
        })
        .before_acquire(move |conn, meta| {
            let fit = health::fit_to_hand_out(conn, meta.age, &acquired);
            Box::pin(async move { Ok(fit) })
        })
        .connect_with(options)
        .await
        .map_err(|e| OpenError::from_file_store(path, e))?;
    if size <= CHECK_AT_OPEN_MAX_BYTES {
        quick_check(&pool).await.map_err(|e| match e {
            CheckError::Damaged(finding) => {
                OpenError::Damaged { path: path.to_path_buf(), finding }
            }
            CheckError::Store(e) => OpenError::from_file_store(path, e),
        })?;
    } else {
        tracing::info!(
            database = %path.display(),
            megabytes = size >> 20,
            "the database file is large: its pages are checked in the background while the server starts"
        );
        tokio::spawn(check_pages(pool.clone(), storage.clone()));
    }
    migrate_sqlite(&pool)
        .await
        .map_err(|e| OpenError::Migrate { path: path.to_path_buf(), reason: reason(&e) })?;
    Ok(pool)
}

/// The database holds customers' contacts and sealed secrets: its file (made empty here when it
/// does not exist, so that SQLite's `-wal` and `-shm` files, which take its mode, are born the
/// same) is readable and writable by its owner only. A file someone else owns keeps its mode.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = Path::new(&file);
            if file.exists() {
                if let Err(e) =
                    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                {
                    tracing::warn!(file = %file.display(), error = %e, "could not make the database file private");
                }
            }
        }
    }
}

/// Why the database could not be opened: each a sentence that names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("The folder of the database file {} could not be created ({reason}). Check the path given with --database and that its folder can be written.", .path.display())]
    Folder { path: PathBuf, reason: String },
    #[error("The database file {} could not be opened ({reason}). Check the path given with --database, its permissions and the free disk space.", .path.display())]
    Open { path: PathBuf, reason: String },
    #[error("The database file {} cannot be written ({reason}). Check its permissions (and those of its folder, where SQLite keeps its write-ahead log) and the free disk space.", .path.display())]
    ReadOnly { path: PathBuf, reason: String },
    #[error("The database file {} is damaged: SQLite's check found \"{finding}\". The server did not start, so nothing more was written to it. Restore the file from a backup, or move it aside to start on an empty database (the next sync then fetches every record from Salesforce again).", .path.display())]
    Damaged { path: PathBuf, finding: String },
    #[error("The database file {} is not a SQLite database, or its first page is damaged ({reason}). Give --database another file, or restore this one from a backup.", .path.display())]
    NotADatabase { path: PathBuf, reason: String },
    #[error("The database file {} could not be brought up to date ({reason}). It may have been written by a newer version of this server; restore the file from a backup or use that version.", .path.display())]
    Migrate { path: PathBuf, reason: String },
    #[error("The database address {address} is not a PostgreSQL address ({reason}). Give --database as postgres://user@host:5432/database, or the path of a SQLite file.")]
    Address { address: String, reason: String },
    #[error("The PostgreSQL database at {address} could not be reached ({reason}). Check that the server is running, that the database exists and that this user may connect to it.")]
    Server { address: String, reason: String },
    #[error("The PostgreSQL database at {address} could not be brought up to date ({reason}). It may have been written by a newer version of this server, or this user may not create tables in it.")]
    MigrateServer { address: String, reason: String },
}

impl OpenError {
    /// The sentence for a database error met while opening the database or writing to it at start.
    pub fn from_store(location: &Location, e: StoreError) -> Self {
        match location {
            Location::File(path) => Self::from_file_store(path, e),
            Location::Postgres(url) => {
                OpenError::Server { address: without_password(url), reason: reason(&e) }
            }
        }
    }

    fn from_file_store(path: &Path, e: StoreError) -> Self {
        let path = path.to_path_buf();
        let reason = reason(&e);
        match storage_failure(&e) {
            Some(StorageFailure::Damaged) => match &e {
                StoreError::Database(d) if d.code().as_deref() == Some("26") => {
                    OpenError::NotADatabase { path, reason }
                }
                _ => OpenError::Damaged { path, finding: reason },
            },
            Some(StorageFailure::ReadOnly | StorageFailure::DiskFull) => {
                OpenError::ReadOnly { path, reason }
            }
            _ => OpenError::Open { path, reason },
        }
    }
}

/// A database error's own words (SQLite's message), without sqlx's wrapping and code numbers.
fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<StoreError>() {
        Some(StoreError::Database(d)) => d.message().to_string(),
        Some(StoreError::Io(io)) => io.to_string(),
        Some(StoreError::Migrate(m)) => reason(m.as_ref()),
        Some(other) => other.to_string(),
        None => match e.downcast_ref::<sqlx::migrate::MigrateError>() {
            Some(sqlx::migrate::MigrateError::Execute(inner)) => reason(inner),
            _ => e.to_string(),
        },
    }
}

/// Files up to this size are checked before the server starts (`PRAGMA quick_check` reads every
/// page: about 2 s for 256 MiB here); a larger one is checked in the background
/// ([`check_pages`]), so a restart on a database of a million runs (6 GB: 46 s to check) does not
/// keep the pages down for the length of the check.
const CHECK_AT_OPEN_MAX_BYTES: u64 = 256 << 20;

/// Checks every page of the file while the server runs, and reports a damaged file to `storage`
/// (the Overview's health card then says so, and changes and syncing wait) instead of refusing
/// to start, as the check at open does for smaller files.
pub async fn check_pages(pool: SqlitePool, storage: StorageHealth) {
    let started = std::time::Instant::now();
    let checked = quick_check(&pool).await;
    match checked {
        Ok(()) => {
            tracing::info!(took = ?started.elapsed(), "the database file's pages were checked: no damage found")
        }
        Err(CheckError::Damaged(finding)) => storage.damaged(&finding, now_ms()),
        Err(CheckError::Store(e)) => {
            if storage.report(&e, now_ms()).is_none() {
                tracing::warn!(error = %e, "the database file's pages could not be checked");
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

enum CheckError {
    /// The check's first finding.
    Damaged(String),
    Store(StoreError),
}

/// `PRAGMA quick_check`: every page of the file read and its structure checked (not the indexes
/// against their tables, which `integrity_check` adds at many times the cost). A file with pages
/// overwritten would otherwise open fine, answer most reads and fail every write.
///
/// The check reads every page through its connection's cache (64 MiB once full). It runs on a
/// connection taken out of the pool and closed after (the pool opens another when it needs one),
/// and the memory freed is handed back to the OS ([`return_freed_memory`]): with the check on a
/// pooled connection and `PRAGMA shrink_memory` after it, a server on a 353 MiB file kept 82 MB of
/// anonymous memory against 17 MB without the check.
async fn quick_check(pool: &SqlitePool) -> Result<(), CheckError> {
    let mut conn = pool.acquire().await.map_err(CheckError::Store)?.detach();
    let findings =
        sqlx::query_as::<_, (String,)>("PRAGMA quick_check(5)").fetch_all(&mut conn).await;
    if let Err(e) = sqlx::Connection::close(conn).await {
        tracing::debug!(error = %e, "the page check's connection did not close cleanly");
    }
    let _ = tokio::task::spawn_blocking(return_freed_memory).await;
    let findings = findings.map_err(|e| match storage_failure(&e) {
        Some(StorageFailure::Damaged) => CheckError::Damaged(reason(&e)),
        _ => CheckError::Store(e),
    })?;
    match findings.first() {
        Some((first,)) if first == "ok" => Ok(()),
        Some((first,)) => Err(CheckError::Damaged(first.chars().take(200).collect())),
        None => Err(CheckError::Damaged("no answer".into())),
    }
}

/// An in-memory database for tests (one shared connection, so every query sees the same data).
pub async fn open_in_memory() -> Result<Db, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    migrate_sqlite(&pool).await?;
    Ok(Db::Sqlite(pool))
}

/// Where the write-ahead log stands after a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalState {
    /// Frames (pages written) in the log.
    pub frames: i64,
    /// Of those, how many are now in the database file too.
    pub checkpointed: i64,
}

/// Copies what the WAL holds into the database file without waiting for anyone (`PASSIVE`):
/// run in the background, it keeps that work off the writer, whose own automatic checkpoint
/// only starts past ~160 MB of WAL.
pub async fn checkpoint_wal(pool: &SqlitePool) -> Result<WalState, StoreError> {
    let (_busy, frames, checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    Ok(WalState { frames, checkpointed })
}

/// Empties the write-ahead log file (`TRUNCATE`): SQLite reuses a log from its start once
/// everything in it is checkpointed, but never makes the file smaller, so a backfill leaves
/// ~150 MB of it on disk for good. On a connection of its own that waits at most 200 ms for
/// readers and writers: false when it had to give up (it is tried again later).
pub async fn truncate_wal(pool: &SqlitePool) -> Result<bool, StoreError> {
    let options = pool.connect_options().as_ref().clone().busy_timeout(Duration::from_millis(200));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut conn)
        .await;
    let _ = conn.close().await;
    Ok(done?.0 == 0)
}

/// Gives back the page cache of the pool's idle connections (`PRAGMA shrink_memory`): up to
/// 64 MiB each after a backfill, kept otherwise as long as the connection lives. Returns how
/// many connections it shrank.
pub async fn release_idle_memory(pool: &SqlitePool) -> Result<usize, StoreError> {
    // Held together so the pool does not hand the same one out twice.
    let mut idle = Vec::new();
    while let Some(conn) = pool.try_acquire() {
        idle.push(conn);
    }
    for conn in &mut idle {
        sqlx::query("PRAGMA shrink_memory").execute(&mut **conn).await?;
    }
    Ok(idle.len())
}

/// Hands the memory SQLite freed back to the OS. SQLite allocates its page cache with the C
/// library's `malloc` (mimalloc is only Rust's allocator), one glibc arena per connection thread,
/// and glibc keeps freed pages inside those arenas: measured after a 200,000-record backfill, the
/// eight connections' `shrink_memory` alone left RSS where it was, and `malloc_trim` gave back
/// 87 MB (docs/BENCHMARKS.md). Blocking: walks every arena.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The write-ahead log's file: SQLite's name for it, beside the database.
pub fn wal_path(pool: &SqlitePool) -> PathBuf {
    let mut wal = pool.connect_options().get_filename().as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Brings the schema up to date: each backend has its own migrations, which make the same tables.
pub async fn migrate(db: &Db) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => migrate_sqlite(pool).await,
        Db::Postgres(pool) => sqlx::migrate!("./migrations_postgres")
            .run(pool)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e))),
    }
}

async fn migrate_sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations").run(pool).await.map_err(|e| StoreError::Migrate(Box::new(e)))
}

/// Every workspace's id, in order.
pub async fn workspace_ids(db: &Db) -> Result<Vec<WorkspaceId>, StoreError> {
    let ids: Vec<(String,)> = on_db!(db, |pool| {
        sqlx::query_as("SELECT id FROM workspaces ORDER BY id").fetch_all(pool).await?
    });
    Ok(ids.into_iter().map(|(id,)| WorkspaceId(id)).collect())
}

/// Creates the workspace if it does not exist yet.
pub async fn ensure_workspace(
    db: &Db,
    id: &WorkspaceId,
    name: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name \
             WHERE workspaces.name <> excluded.name",
        )
        .bind(id.as_str())
        .bind(name)
        .bind(now_ms)
        .execute(pool)
        .await?;
    });
    Ok(())
}

#[cfg(test)]
mod record_tests;
#[cfg(test)]
mod retention_tests;
#[cfg(test)]
mod tests;
