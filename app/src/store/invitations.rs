//! Invitations to a workspace (`invitations`): made by an admin for an email and a role, used
//! once before they expire. Only a SHA-256 of the link's token is kept.

use super::{Db, StoreError, WorkspaceId};
use crate::domain::access::{InvitationView, Role};

pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a str,
    pub created_by: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn create(db: &Db, ws: &WorkspaceId, i: &NewInvitation<'_>) -> Result<i64, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO invitations (workspace_id, email, role, token_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ws.as_str())
        .bind(i.email.trim())
        .bind(i.role.as_str())
        .bind(i.token_hash)
        .bind(i.created_by)
        .bind(i.created_at)
        .bind(i.expires_at)
        .fetch_one(pool)
        .await
    })
}

/// An invitation that can still be used: not used, not withdrawn, not expired.
#[derive(Clone, Debug)]
pub struct OpenInvitation {
    pub id: i64,
    pub workspace: WorkspaceId,
    pub workspace_name: String,
    pub email: String,
    pub role: Role,
}

fn role(code: &str) -> Result<Role, StoreError> {
    Role::parse(code).ok_or_else(|| StoreError::Decode(format!("unknown role {code:?}").into()))
}

pub async fn find_open(
    db: &Db,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<OpenInvitation>, StoreError> {
    on_db!(db, |pool| {
        let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT i.id, i.workspace_id, w.name, i.email, i.role FROM invitations i \
             JOIN workspaces w ON w.id = i.workspace_id \
             WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(pool)
        .await?;
        row.map(|(id, ws, workspace_name, email, r)| {
            Ok(OpenInvitation {
                id,
                workspace: WorkspaceId(ws),
                workspace_name,
                email,
                role: role(&r)?,
            })
        })
        .transpose()
    })
}

/// Uses the invitation for `user_id`: marks it accepted and makes them a member with its role, in
/// one transaction. `false` when it was used (or withdrawn, or expired) meanwhile: nothing changes.
pub async fn accept(
    db: &Db,
    invitation: &OpenInvitation,
    user_id: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let used = sqlx::query(
            "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(now_ms)
        .bind(invitation.id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used == 0 {
            return Ok(false);
        }
        // Joining never lowers a role someone has already.
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = CASE WHEN memberships.role = 'admin' THEN 'admin' ELSE excluded.role END",
        )
        .bind(invitation.workspace.as_str())
        .bind(user_id)
        .bind(invitation.role.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// The workspace's invitations that can still be used, newest first.
pub async fn list_open(
    db: &Db,
    ws: &WorkspaceId,
    now_ms: i64,
) -> Result<Vec<InvitationView>, StoreError> {
    on_db!(db, |pool| {
        let rows: Vec<(i64, String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT i.id, i.email, i.role, u.email, i.created_at, i.expires_at FROM invitations i \
             LEFT JOIN users u ON u.id = i.created_by \
             WHERE i.workspace_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 \
             ORDER BY i.id DESC",
        )
        .bind(ws.as_str())
        .bind(now_ms)
        .fetch_all(pool)
        .await?;
        rows.into_iter()
            .map(|(id, email, r, invited_by, created_at, expires_at)| {
                Ok(InvitationView {
                    id,
                    email,
                    role: role(&r)?,
                    invited_by,
                    created_at,
                    expires_at,
                })
            })
            .collect()
    })
}

/// Withdraws an open invitation of the workspace; its email when there was one.
pub async fn revoke(
    db: &Db,
    ws: &WorkspaceId,
    id: i64,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_scalar(
            "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND workspace_id = $3 \
             AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email",
        )
        .bind(now_ms)
        .bind(id)
        .bind(ws.as_str())
        .fetch_optional(pool)
        .await
    })
}
