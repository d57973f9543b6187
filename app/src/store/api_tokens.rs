//! API tokens (`api_tokens`): made by an admin for scripts, kept as a SHA-256 only, revoked by an
//! admin. A request with a live token acts in the token's workspace with the token's access.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::access::{ApiTokenView, TokenAccess};

/// A new token to keep: everything but the token itself.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub access: TokenAccess,
    pub created_by: i64,
    pub created_at: i64,
}

pub async fn create(db: &Db, ws: &WorkspaceId, t: &NewToken<'_>) -> Result<i64, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, access, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ws.as_str())
        .bind(t.name)
        .bind(t.token_hash)
        .bind(t.prefix)
        .bind(t.access.as_str())
        .bind(t.created_by)
        .bind(t.created_at)
        .fetch_one(pool)
        .await
    })
}

/// A live token found by its hash: its id, workspace, name and access.
#[derive(Clone, Debug)]
pub struct LiveToken {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub workspace_name: String,
    pub name: String,
    pub prefix: String,
    pub access: TokenAccess,
    pub created_by: Option<i64>,
}

/// How stale `last_used_at` may get before a use writes it again (a script polling every second
/// does not write every second).
const LAST_USED_GRAIN_MS: i64 = 60_000;

/// The live (not revoked) token with this hash, noting its use.
pub async fn find_live(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<LiveToken>, StoreError> {
    on_db!(db, |pool| {
        type Row = (i64, String, String, String, String, String, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT t.id, t.workspace_id, w.name, t.name, t.prefix, t.access, t.created_by \
             FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?;
        let Some((id, ws, workspace_name, name, prefix, access, created_by)) = row else {
            return Ok(None);
        };
        let access = TokenAccess::parse(&access)
            .ok_or_else(|| StoreError::Decode(format!("unknown token access {access:?}").into()))?;
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now_ms)
        .bind(id)
        .bind(now_ms - LAST_USED_GRAIN_MS)
        .execute(pool)
        .await?;
        Ok(Some(LiveToken {
            id,
            workspace: WorkspaceId(ws),
            workspace_name,
            name,
            prefix,
            access,
            created_by,
        }))
    })
}

/// The workspace's tokens, live ones first, newest first.
pub async fn list(db: &Db, ws: &WorkspaceId) -> Result<Vec<ApiTokenView>, StoreError> {
    on_db!(db, |pool| {
        type Row = (i64, String, String, String, Option<String>, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.id, t.name, t.prefix, t.access, u.email, t.created_at, t.last_used_at, t.revoked_at \
             FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by \
             WHERE t.workspace_id = $1 ORDER BY t.revoked_at IS NOT NULL, t.id DESC",
        )
        .bind(ws.as_str())
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(id, name, prefix, access, created_by, created_at, last_used_at, revoked_at)| {
                let access = TokenAccess::parse(&access).ok_or_else(|| {
                    StoreError::Decode(format!("unknown token access {access:?}").into())
                })?;
                Ok(ApiTokenView {
                    id,
                    name,
                    prefix,
                    access,
                    created_by,
                    created_at,
                    last_used_at,
                    revoked_at,
                })
            })
            .collect()
    })
}

/// Revokes the workspace's token; its name when it was live (a token of another workspace, or
/// one already revoked, is left as it is: `None`).
pub async fn revoke(
    db: &Db,
    ws: &WorkspaceId,
    id: i64,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_scalar(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 AND revoked_at IS NULL RETURNING name",
        )
        .bind(now_ms)
        .bind(id)
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await
    })
}
