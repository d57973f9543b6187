//! Databases for tests, on the backend the run asks for: SQLite in memory by default, or, when
//! `SYNC_TEST_DATABASE` holds a PostgreSQL address (`postgres://postgres@127.0.0.1:5432/postgres`),
//! a database of its own on that server, made for the test and dropped after it. The store's and
//! the engine's suites run once on each (`.ci/test`).

use super::{Db, Exec, StoreError};
use std::ops::Deref;
use std::str::FromStr;

/// The variable naming the PostgreSQL server tests run on.
pub const TEST_DATABASE_VAR: &str = "SYNC_TEST_DATABASE";

/// A test's database; a PostgreSQL one is dropped when this is.
pub struct TestDb {
    db: Db,
    /// The server's address (its maintenance database) and the name of the test's database.
    dropped_on: Option<(String, String)>,
}

impl TestDb {
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The address a server process is started with to use this database (`--database`), when it
    /// is a PostgreSQL one.
    pub fn postgres_url(&self) -> Option<String> {
        self.dropped_on.as_ref().map(|(admin, name)| with_database(admin, name))
    }
}

impl Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl<'a> From<&'a TestDb> for Exec<'a> {
    fn from(t: &'a TestDb) -> Self {
        Exec::Db(&t.db)
    }
}

/// The PostgreSQL server tests run on, if the run names one.
pub fn postgres_server() -> Option<String> {
    std::env::var(TEST_DATABASE_VAR).ok().filter(|v| !v.trim().is_empty())
}

/// A fresh, migrated database for one test.
pub async fn test_db() -> Result<TestDb, StoreError> {
    match postgres_server() {
        None => Ok(TestDb { db: super::open_in_memory().await?, dropped_on: None }),
        Some(admin) => {
            let name = fresh_database(&admin).await?;
            let url = with_database(&admin, &name);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect_with(sqlx::postgres::PgConnectOptions::from_str(&url)?)
                .await?;
            let db = Db::Postgres(pool);
            super::migrate(&db).await?;
            Ok(TestDb { db, dropped_on: Some((admin, name)) })
        }
    }
}

/// Makes an empty database on the server at `admin` and returns its name.
pub async fn fresh_database(admin: &str) -> Result<String, StoreError> {
    use sqlx::Connection;
    let name = format!("sync_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(name)
}

/// Drops a database made by [`fresh_database`], closing whatever is still connected to it.
pub async fn drop_database(admin: &str, name: &str) -> Result<(), StoreError> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
    let _ = conn.close().await;
    Ok(())
}

/// `admin`'s address with its database replaced by `name`.
pub fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.dropped_on.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on: the database is dropped
        // from a thread of its own, and waited for, so the next test starts on a clean server.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(rt) = rt {
                if let Err(e) = rt.block_on(drop_database(&admin, &name)) {
                    eprintln!("could not drop the test database {name}: {e}");
                }
            }
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_replaces_the_servers_database_in_its_address() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:5432", "t3"), "postgres://h:5432/t3");
    }
}
