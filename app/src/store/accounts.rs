//! People who sign in (`users`), the workspaces they belong to (`memberships`), and where their
//! sign-in sessions are kept (on SQLite the `sessions` table, through tower-sessions' SQLite store;
//! on PostgreSQL its store's own `tower_sessions.session`).
//!
//! Passwords arrive here already hashed (argon2id, by the server); nothing here sees one.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::access::{Member, Role, Viewer};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{ExpiredDeletion, Result as SessionResult};

use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Where sign-in sessions are kept: tower-sessions' store for the database's backend.
#[derive(Clone, Debug)]
pub enum SessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// The session store of this database: on SQLite its `sessions` table (created by the
/// migrations); on PostgreSQL the store's own table, made by [`prepare_session_store`].
pub fn session_store(db: &Db) -> SessionStore {
    match db {
        Db::Sqlite(pool) => SessionStore::Sqlite(
            SqliteStore::new(pool.clone()).with_table_name("sessions").expect("a plain table name"),
        ),
        Db::Postgres(pool) => SessionStore::Postgres(PostgresStore::new(pool.clone())),
    }
}

/// Makes the session table where the store keeps its own (PostgreSQL); nothing on SQLite.
pub async fn prepare_session_store(store: &SessionStore) -> Result<(), StoreError> {
    match store {
        SessionStore::Sqlite(_) => Ok(()),
        SessionStore::Postgres(store) => store.migrate().await,
    }
}

#[async_trait::async_trait]
impl tower_sessions_core::SessionStore for SessionStore {
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        match self {
            SessionStore::Sqlite(s) => s.create(record).await,
            SessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> SessionResult<()> {
        match self {
            SessionStore::Sqlite(s) => s.save(record).await,
            SessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        match self {
            SessionStore::Sqlite(s) => s.load(id).await,
            SessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> SessionResult<()> {
        match self {
            SessionStore::Sqlite(s) => s.delete(id).await,
            SessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for SessionStore {
    async fn delete_expired(&self) -> SessionResult<()> {
        match self {
            SessionStore::Sqlite(s) => s.delete_expired().await,
            SessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// A person's id and password hash, found by email (without regard to case).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
}

pub async fn count_users(db: &Db) -> Result<i64, StoreError> {
    on_db!(db, |pool| { sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await })
}

pub async fn credentials(db: &Db, email: &str) -> Result<Option<Credentials>, StoreError> {
    // Emails compare without regard to case: SQLite's column is NOCASE, PostgreSQL's unique
    // index is on lower(email).
    on_db!(db, |pool, pg| {
        sqlx::query_as(if pg {
            "SELECT id AS user_id, password_hash FROM users WHERE lower(email) = lower($1)"
        } else {
            "SELECT id AS user_id, password_hash FROM users WHERE email = $1"
        })
        .bind(email.trim())
        .fetch_optional(pool)
        .await
    })
}

/// Creates the person, or (when the email is taken) sets their name and password. Returns their
/// id and whether they were created.
pub async fn upsert_user(
    db: &Db,
    email: &str,
    name: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<(i64, bool), StoreError> {
    on_db!(db, |pool, pg| {
        let mut tx = pool.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(if pg {
            "SELECT id FROM users WHERE lower(email) = lower($1)"
        } else {
            "SELECT id FROM users WHERE email = $1"
        })
        .bind(email.trim())
        .fetch_optional(&mut *tx)
        .await?;
        let result = match existing {
            Some(id) => {
                sqlx::query("UPDATE users SET name = $1, password_hash = $2 WHERE id = $3")
                    .bind(name)
                    .bind(password_hash)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                (id, false)
            }
            None => {
                let id = sqlx::query_scalar(
                    "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(email.trim())
                .bind(name)
                .bind(password_hash)
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
                (id, true)
            }
        };
        tx.commit().await?;
        Ok(result)
    })
}

/// Makes the person a member of the workspace with `role` (changing the role of one already).
pub async fn set_membership(
    db: &Db,
    ws: &WorkspaceId,
    user_id: i64,
    role: Role,
    now_ms: i64,
) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(ws.as_str())
        .bind(user_id)
        .bind(role.as_str())
        .bind(now_ms)
        .execute(pool)
        .await?;
        Ok(())
    })
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    user_id: i64,
    email: String,
    name: String,
    workspace: String,
    workspace_name: String,
    role: String,
}

impl ViewerRow {
    fn into_viewer(self) -> Result<Viewer, StoreError> {
        let role = Role::parse(&self.role).ok_or_else(|| {
            StoreError::Decode(format!("unknown role {:?} in memberships", self.role).into())
        })?;
        Ok(Viewer {
            user_id: self.user_id,
            email: self.email,
            name: self.name,
            workspace: self.workspace,
            workspace_name: self.workspace_name,
            role,
            token: None,
        })
    }
}

const VIEWER_SELECT: &str = "SELECT u.id AS user_id, u.email, u.name, w.id AS workspace, \
     w.name AS workspace_name, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
     JOIN workspaces w ON w.id = m.workspace_id";

/// The person as a member of the workspace, or `None` when they are not one (or do not exist).
pub async fn viewer(db: &Db, user_id: i64, ws: &WorkspaceId) -> Result<Option<Viewer>, StoreError> {
    on_db!(db, |pool| {
        let row: Option<ViewerRow> = sqlx::query_as(&format!(
            "{VIEWER_SELECT} WHERE m.user_id = $1 AND m.workspace_id = $2"
        ))
        .bind(user_id)
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await?;
        row.map(ViewerRow::into_viewer).transpose()
    })
}

/// Every workspace the person belongs to, each as the [`Viewer`] they are there, by workspace
/// name: what a request's address is checked against, and the product bar's workspace switcher.
pub async fn viewers(db: &Db, user_id: i64) -> Result<Vec<Viewer>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<ViewerRow> =
            sqlx::query_as(&format!("{VIEWER_SELECT} WHERE m.user_id = $1 ORDER BY w.name, w.id"))
                .bind(user_id)
                .fetch_all(pool)
                .await?;
        rows.into_iter().map(ViewerRow::into_viewer).collect()
    })
}

/// The workspace's members, admins first, then by name.
pub async fn members(db: &Db, ws: &WorkspaceId) -> Result<Vec<Member>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m          JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1          ORDER BY m.role = 'member', u.name, u.email",
        )
        .bind(ws.as_str())
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(user_id, email, name, role, since)| {
                let role = Role::parse(&role)
                    .ok_or_else(|| StoreError::Decode(format!("unknown role {role:?}").into()))?;
                Ok(Member { user_id, email, name, role, since })
            })
            .collect()
    })
}

/// Why a member could not be removed.
#[derive(Debug, PartialEq, Eq)]
pub enum RemoveRefused {
    NotAMember,
    /// Removing them would leave the workspace without an admin.
    LastAdmin,
}

/// Removes the person from the workspace (their account stays; their sessions open nothing here
/// from the next request). Refused for the last admin. Returns the removed member's email.
pub async fn remove_member(
    db: &Db,
    ws: &WorkspaceId,
    user_id: i64,
) -> Result<Result<String, RemoveRefused>, StoreError> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let member: Option<(String, String)> = sqlx::query_as(
            "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id          WHERE m.workspace_id = $1 AND m.user_id = $2",
        )
        .bind(ws.as_str())
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, role)) = member else { return Ok(Err(RemoveRefused::NotAMember)) };
        if role == Role::Admin.as_str() {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = 'admin'",
            )
            .bind(ws.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if admins <= 1 {
                return Ok(Err(RemoveRefused::LastAdmin));
            }
        }
        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(email))
    })
}
