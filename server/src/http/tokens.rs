//! API tokens for scripts: an admin (signed in, not with a token) makes one on the Overview and
//! sees it once; the server keeps its SHA-256 only. `Authorization: Bearer <token>` then acts in
//! the workspace with the token's access ([`super::auth`] reads it).
//!
//! - `POST /settings/crm/api-tokens` (form: `name`, `access`): makes one; a page shows it once.
//! - `POST /settings/crm/api-tokens/{id}/revoke`: revokes it at once.
//! - `GET /api/tokens`: the workspace's tokens (never the tokens themselves).

use super::auth::{audit, SessionAdmin, SessionAdminPage};
use super::error::ApiError;
use super::oauth::{html_escape, page_for};
use super::site::Assets;
use super::state::ApiState;
use app::domain::access::{ApiTokenView, AuditAction, TokenAccess};
use app::store::{api_tokens, WorkspaceId};
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "cvs_";
/// How much of a token the list shows.
const SHOWN_CHARS: usize = 12;
/// The longest name a token may have.
const MAX_NAME_CHARS: usize = 80;

/// A new token: the prefix and 256 random bits.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 a token is kept and found by.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/settings/crm/api-tokens", post(create))
        .route("/settings/crm/api-tokens/{id}/revoke", post(revoke))
        .route("/api/tokens", get(list))
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    access: String,
}

async fn create(
    State(s): State<ApiState>,
    SessionAdminPage(viewer): SessionAdminPage,
    site: Assets,
    Form(form): Form<NewTokenForm>,
) -> Response {
    let name = form.name.trim();
    let Some(access) = TokenAccess::parse(&form.access) else {
        return page_for(
            &site,
            &viewer,
            StatusCode::BAD_REQUEST,
            "The token was not made",
            "Choose read only, or read and write.",
        );
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        let why = format!(
            "Give the token a name of 1 to {MAX_NAME_CHARS} characters, saying what uses it."
        );
        return page_for(&site, &viewer, StatusCode::BAD_REQUEST, "The token was not made", &why);
    }
    let token = generate();
    let prefix: String = token.chars().take(SHOWN_CHARS).collect();
    let now = s.clock.now_ms();
    let ws = WorkspaceId(viewer.workspace.clone());
    let new = api_tokens::NewToken {
        name,
        token_hash: &hash(&token),
        prefix: &prefix,
        access,
        created_by: viewer.user_id,
        created_at: now,
    };
    if let Err(e) = api_tokens::create(&s.pool, &ws, &new).await {
        tracing::error!(error = %e, "saving an API token");
        return page_for(
            &site,
            &viewer,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The token was not made",
            "Try again in a moment.",
        );
    }
    let detail = format!("\u{201c}{name}\u{201d} ({}, {prefix}\u{2026})", access.label());
    audit(&s.pool, &viewer, now, AuditAction::TokenCreated, &detail).await;
    let body = format!(
        "Copy the token for <strong>{name}</strong> ({access}) now: it is not shown again.</p>\
         <p><code class=\"token\" data-testid=\"new-token\">{token}</code></p>\
         <p class=\"small\">Send it as <code>Authorization: Bearer &lt;token&gt;</code>. Revoke it on the Overview when it is no longer used.",
        name = html_escape(name),
        access = access.label(),
    );
    let mut response = page_for(&site, &viewer, StatusCode::CREATED, "Your new API token", &body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

async fn revoke(
    State(s): State<ApiState>,
    SessionAdminPage(viewer): SessionAdminPage,
    site: Assets,
    Path(id): Path<i64>,
) -> Response {
    let ws = WorkspaceId(viewer.workspace.clone());
    let now = s.clock.now_ms();
    match api_tokens::revoke(&s.pool, &ws, id, now).await {
        Ok(Some(name)) => {
            audit(
                &s.pool,
                &viewer,
                now,
                AuditAction::TokenRevoked,
                &format!("\u{201c}{name}\u{201d}"),
            )
            .await;
            (StatusCode::SEE_OTHER, [(header::LOCATION, viewer.href("/settings/crm#api-tokens"))])
                .into_response()
        }
        // Unknown here (or another workspace's), or revoked already: the same answer.
        Ok(None) => page_for(
            &site,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such token",
            "This token does not exist or was revoked already.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "revoking an API token");
            page_for(
                &site,
                &viewer,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The token was not revoked",
                "Try again in a moment.",
            )
        }
    }
}

async fn list(
    State(s): State<ApiState>,
    SessionAdmin(viewer): SessionAdmin,
) -> Result<Json<Vec<ApiTokenView>>, ApiError> {
    let ws = WorkspaceId(viewer.workspace);
    api_tokens::list(&s.pool, &ws).await.map(Json).map_err(|e| {
        tracing::error!(error = %e, "listing API tokens");
        ApiError::Internal("The tokens could not be listed.".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_kept_by_hash() {
        let (a, b) = (generate(), generate());
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
    }
}
