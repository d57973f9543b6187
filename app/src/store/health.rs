//! Whether the database file can be written, as the server last found it, and what the pool does
//! about connections that went through a storage failure.
//!
//! Whoever meets a storage error (a change refused with 503, a sync run that could not be saved,
//! the background checkpoint) reports it here; the Overview's health card shows it, and the
//! server's watcher ([`check_writable`]) tries a write every second until one works. Then every
//! pooled connection opened before that moment is closed instead of reused: a connection SQLite
//! opened while the write-ahead log could not be written stays read-only for good, and one whose
//! transaction broke mid-way keeps sqlx's count of open transactions wrong.

use super::{Db, StoreError};
use crate::domain::health::{StorageFailure, StorageProblem};
use sqlx::{Connection, SqliteConnection};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The storage state of one database. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct StorageHealth {
    inner: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Rung when a problem is first reported: the watcher starts checking.
    reported: Notify,
}

#[derive(Default)]
struct State {
    problem: Option<StorageProblem>,
    /// Pooled connections opened before this are closed rather than handed out again.
    recycle_before: Option<Instant>,
    /// The database file, for the card's sentence.
    database: String,
}

impl std::fmt::Debug for StorageHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageHealth").field("problem", &self.problem()).finish()
    }
}

// A std Mutex is right here: it guards a few fields and is never held across an await.
fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What kind of storage failure `e` is, if it is one at all (a constraint or a decoding error is
/// the caller's or the code's, not the disk's).
pub fn storage_failure(e: &StoreError) -> Option<StorageFailure> {
    match e {
        StoreError::Database(d)
            if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() =>
        {
            postgres_failure(d.code()?.as_ref())
        }
        StoreError::Database(d) => {
            // Extended result codes carry the primary one in their low byte.
            let code = d.code()?.parse::<i32>().ok()? & 0xff;
            match code {
                // SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN
                3 | 8 | 14 => Some(StorageFailure::ReadOnly),
                // SQLITE_FULL
                13 => Some(StorageFailure::DiskFull),
                // SQLITE_IOERR
                10 => Some(StorageFailure::WriteFailed),
                // SQLITE_CORRUPT, SQLITE_NOTADB
                11 | 26 => Some(StorageFailure::Damaged),
                _ => None,
            }
        }
        StoreError::Io(_) => Some(StorageFailure::WriteFailed),
        StoreError::PoolTimedOut
        | StoreError::WorkerCrashed
        | StoreError::BeginFailed
        | StoreError::InvalidSavePointStatement => Some(StorageFailure::Unavailable),
        _ => None,
    }
}

/// A PostgreSQL error's SQLSTATE, as a storage failure: the server's disk (class 53, insufficient
/// resources), a read-only server (a standby, or `default_transaction_read_only`), damaged data
/// (class XX's `data_corrupted` and `index_corrupted`), or a server going away (class 08, and
/// 57P01-57P03: shut down, crashed, not yet accepting connections).
fn postgres_failure(sqlstate: &str) -> Option<StorageFailure> {
    match sqlstate {
        "25006" => Some(StorageFailure::ReadOnly),
        "XX001" | "XX002" => Some(StorageFailure::Damaged),
        "57P01" | "57P02" | "57P03" => Some(StorageFailure::Unavailable),
        s if s.starts_with("53") => Some(StorageFailure::DiskFull),
        s if s.starts_with("58") => Some(StorageFailure::WriteFailed),
        s if s.starts_with("08") => Some(StorageFailure::Unavailable),
        _ => None,
    }
}

impl StorageHealth {
    /// For the database at `database` (named in the card's sentence).
    pub fn new(database: &str) -> Self {
        let h = Self::default();
        lock(&h.inner.state).database = database.to_string();
        h
    }

    /// Records `e` if it is a storage failure, and returns its kind. The first report of a
    /// problem is logged and wakes the watcher; a damaged file stays reported as damaged.
    pub fn report(&self, e: &StoreError, now_ms: i64) -> Option<StorageFailure> {
        let failure = storage_failure(e)?;
        let mut s = lock(&self.inner.state);
        let database = s.database.clone();
        match &mut s.problem {
            Some(p) => {
                if p.failure != StorageFailure::Damaged {
                    p.failure = failure;
                }
            }
            None => {
                tracing::error!(error = %e, database = %database, "the database cannot be written; syncing and changes wait until it can");
                s.problem = Some(StorageProblem { failure, since_ms: now_ms, database });
                drop(s);
                self.inner.reported.notify_one();
            }
        }
        Some(failure)
    }

    /// SQLite's check found the file damaged (`finding`, its first words): reported as
    /// [`StorageFailure::Damaged`], which stays until the server is restarted on a sound file.
    pub fn damaged(&self, finding: &str, now_ms: i64) {
        let mut s = lock(&self.inner.state);
        let database = s.database.clone();
        tracing::error!(%finding, database = %database, "the database file is damaged: SQLite's check of its pages found it; restore the file from a backup");
        let first = s.problem.is_none();
        s.problem =
            Some(StorageProblem { failure: StorageFailure::Damaged, since_ms: now_ms, database });
        drop(s);
        if first {
            self.inner.reported.notify_one();
        }
    }

    /// The problem being seen now, if any.
    pub fn problem(&self) -> Option<StorageProblem> {
        lock(&self.inner.state).problem.clone()
    }

    /// A write worked: the problem is over (a damaged file is not: it does not heal), and every
    /// pooled connection opened before now is replaced as it comes back.
    pub fn recovered(&self) {
        let mut s = lock(&self.inner.state);
        if s.problem.as_ref().is_some_and(|p| p.failure != StorageFailure::Damaged) {
            tracing::info!(database = %s.database, "the database can be written again");
            s.problem = None;
        }
        s.recycle_before = Some(Instant::now());
    }

    /// Waits until a problem is reported (at once if one is already).
    pub async fn problem_reported(&self) {
        loop {
            let notified = self.inner.reported.notified();
            if self.problem().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Whether a pooled connection of this `age` predates the last recovery.
    pub(super) fn outlived_a_failure(&self, age: Duration) -> bool {
        lock(&self.inner.state).recycle_before.is_some_and(|t| age > t.elapsed())
    }
}

/// Whether the pool may keep `conn` as it comes back: not when its transaction state is off (a
/// transaction SQLite rolled back on a write error leaves sqlx counting one still open, so every
/// later `BEGIN` on it fails), nor when it was opened before a storage failure ended.
pub(super) async fn fit_to_keep(
    conn: &mut SqliteConnection,
    age: Duration,
    health: &StorageHealth,
) -> Result<bool, StoreError> {
    // A transaction dropped with the connection queued its rollback: let it run first.
    conn.ping().await?;
    Ok(fit_to_hand_out(conn, age, health))
}

/// Whether the pool may hand out an idle `conn` (checked on the way back in already, so only
/// what may have changed since: a storage failure that ended meanwhile).
pub(super) fn fit_to_hand_out(
    conn: &SqliteConnection,
    age: Duration,
    health: &StorageHealth,
) -> bool {
    !conn.is_in_transaction() && !health.outlived_a_failure(age)
}

/// Writes one row on a connection of its own (not a pooled one, which may be read-only for good):
/// whether the database can be written now.
pub async fn check_writable(db: &Db, now_ms: i64) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO storage_checks (id, checked_at) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";
    let pool = match db {
        Db::Sqlite(pool) => pool,
        // PostgreSQL's connections do not go read-only on their own: a pooled one will do.
        Db::Postgres(pool) => {
            return sqlx::query(SQL).bind(now_ms).execute(pool).await.map(|_| ());
        }
    };
    let options = pool.connect_options();
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let written = sqlx::query(SQL).bind(now_ms).execute(&mut conn).await;
    let _ = conn.close().await;
    written.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(code: &str) -> StoreError {
        #[derive(Debug)]
        struct E(String);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("sqlite says no")
            }
        }
        impl std::error::Error for E {}
        impl sqlx::error::DatabaseError for E {
            fn message(&self) -> &str {
                "sqlite says no"
            }
            fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
                Some(self.0.as_str().into())
            }
            fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
                self
            }
            fn kind(&self) -> sqlx::error::ErrorKind {
                sqlx::error::ErrorKind::Other
            }
        }
        StoreError::Database(Box::new(E(code.into())))
    }

    #[test]
    fn storage_failures_are_told_from_other_errors_by_sqlite_code() {
        // 1034 is SQLITE_IOERR_FSYNC, 1288 SQLITE_READONLY_DBMOVED: the primary code decides.
        for (code, kind) in [
            ("8", Some(StorageFailure::ReadOnly)),
            ("1288", Some(StorageFailure::ReadOnly)),
            ("14", Some(StorageFailure::ReadOnly)),
            ("13", Some(StorageFailure::DiskFull)),
            ("10", Some(StorageFailure::WriteFailed)),
            ("1034", Some(StorageFailure::WriteFailed)),
            ("11", Some(StorageFailure::Damaged)),
            ("26", Some(StorageFailure::Damaged)),
            ("2067", None), // a unique constraint: the caller's problem
            ("5", None),    // busy: contention, not the disk
        ] {
            assert_eq!(storage_failure(&db_error(code)), kind, "code {code}");
        }
        assert_eq!(
            storage_failure(&StoreError::InvalidSavePointStatement),
            Some(StorageFailure::Unavailable)
        );
        assert_eq!(storage_failure(&StoreError::RowNotFound), None);
    }

    #[test]
    fn a_problem_is_kept_until_a_write_works_and_damage_for_good() {
        let h = StorageHealth::new("data/x.db");
        assert_eq!(h.report(&StoreError::RowNotFound, 1), None);
        assert!(h.problem().is_none());
        assert_eq!(h.report(&db_error("13"), 5), Some(StorageFailure::DiskFull));
        assert_eq!(h.report(&db_error("8"), 9), Some(StorageFailure::ReadOnly));
        let p = h.problem().expect("reported");
        assert_eq!(
            (p.failure, p.since_ms, p.database.as_str()),
            (StorageFailure::ReadOnly, 5, "data/x.db")
        );
        assert!(
            !h.outlived_a_failure(Duration::from_secs(3600)),
            "nothing to recycle before a recovery"
        );
        h.recovered();
        assert!(h.problem().is_none());
        assert!(
            h.outlived_a_failure(Duration::from_secs(3600)),
            "connections from before the recovery go"
        );
        assert!(!h.outlived_a_failure(Duration::ZERO), "one opened since stays");
        h.report(&db_error("11"), 20);
        h.report(&db_error("13"), 21);
        h.recovered();
        assert_eq!(h.problem().map(|p| p.failure), Some(StorageFailure::Damaged));
    }
}
