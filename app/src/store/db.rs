//! The database the store runs on: SQLite (the embedded default, one file) or PostgreSQL (several
//! servers sharing one database). Every query in the store is written once and run on either
//! through [`on_db!`] and [`on_tx!`], which expand its code once per backend, so each backend gets
//! its own typed pool, arguments and rows (`sqlx::Any` cannot carry UUIDs or BYTEA). Where the two
//! dialects differ, the query takes the backend's own text ([`Db::is_postgres`], or the `pg` flag
//! the macros hand in).
//!
//! Placeholders are written `$1`, `$2`, …: PostgreSQL's form, which sqlx also binds on SQLite by
//! number.

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Postgres, Sqlite, Transaction};

/// A pool of connections to the product's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which database engine a [`Db`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A transaction on either backend. Store functions that are part of a larger write take
/// `&mut Tx`; it commits with [`Tx::commit`] and rolls back when dropped.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// The SQLite pool, for what only SQLite has (its file, its write-ahead log, its page cache).
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres(_) => None,
        }
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so a
    /// transaction that reads before it writes never fails halfway on another writer's lock; on
    /// PostgreSQL rows are locked as they are written, and the statements that must see no other
    /// writer lock their rows themselves.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A transaction that only reads: one consistent view for several queries, taking no write
    /// lock on SQLite (`BEGIN`, deferred). Roll it back when done.
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes every connection (waits for those in use to come back).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

impl From<SqlitePool> for Db {
    fn from(pool: SqlitePool) -> Self {
        Db::Sqlite(pool)
    }
}

impl From<PgPool> for Db {
    fn from(pool: PgPool) -> Self {
        Db::Postgres(pool)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

/// Runs `body` with `p` bound to the pool of the [`Db`] (`&SqlitePool` or `&PgPool`), and `pg`
/// (when named) to whether it is PostgreSQL. The body is compiled once per backend.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($p) => $body,
            $crate::store::Db::Postgres($p) => $body,
        }
    };
    ($db:expr, |$p:ident, $pg:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($p) => {
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::store::Db::Postgres($p) => {
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// Runs `body` with `c` bound to the connection of the [`Tx`] (`&mut SqliteConnection` or
/// `&mut PgConnection`), and `pg` (when named) to whether it is PostgreSQL.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
    ($tx:expr, |$c:ident, $pg:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}

/// Where a single statement runs: on the pool, or inside a transaction. Store functions that are
/// sometimes part of a larger write take `impl Into<Exec>`, so both `&db` and `&mut tx` do.
pub enum Exec<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for Exec<'a> {
    fn from(db: &'a Db) -> Self {
        Exec::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        Exec::Tx(tx)
    }
}

/// Runs `body` with `e` bound to an executor of the [`Exec`] (a pool or a connection, of either
/// backend), and `pg` (when named) to whether it is PostgreSQL. `e` may be used once.
#[macro_export]
macro_rules! on_exec {
    ($exec:expr, |$e:ident| $body:expr) => {
        $crate::on_exec!($exec, |$e, _pg| $body)
    };
    ($exec:expr, |$e:ident, $pg:ident| $body:expr) => {
        match $exec {
            $crate::store::Exec::Db($crate::store::Db::Sqlite(p)) => {
                let $e = p;
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::store::Exec::Db($crate::store::Db::Postgres(p)) => {
                let $e = p;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
            $crate::store::Exec::Tx($crate::store::Tx::Sqlite(t)) => {
                let $e = &mut **t;
                #[allow(unused_variables)]
                let $pg = false;
                $body
            }
            $crate::store::Exec::Tx($crate::store::Tx::Postgres(t)) => {
                let $e = &mut **t;
                #[allow(unused_variables)]
                let $pg = true;
                $body
            }
        }
    };
}
