//! The OAuth endpoints: a consent page for the web-server flow, the token endpoint with the
//! `authorization_code` and `refresh_token` grants, and revocation.
//!
//! Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm>,
//! <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm>,
//! <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm>,
//! <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm>

use super::org::{lock, Org};
use crate::salesforce::types::{OAuthErrorBody, TokenResponse, UserInfo};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = OAuthErrorBody { error: error.into(), error_description: description.into() };
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
pub struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    /// PKCE: the base64url SHA-256 of the verifier the token request must send.
    code_challenge: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `GET /services/oauth2/authorize`: the page where the user allows access.
pub async fn authorize_page(
    State(org): State<Arc<Org>>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    if p.response_type.as_deref() != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response type not supported",
        );
    }
    if p.client_id.as_deref() != Some(org.identity.client_id.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "client identifier invalid",
        );
    }
    let Some(redirect) =
        p.redirect_uri.filter(|r| r.starts_with("http://") || r.starts_with("https://"))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    let state = p.state.unwrap_or_default();
    let challenge = p.code_challenge.unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html><head><title>Allow Access?</title></head><body>
<h1>Allow Access?</h1>
<p>Conversion is asking to access your local Salesforce org as <strong>{user}</strong>.</p>
<form method="post" action="/services/oauth2/authorize">
<input type="hidden" name="client_id" value="{client}">
<input type="hidden" name="redirect_uri" value="{redirect}">
<input type="hidden" name="state" value="{state}">
<input type="hidden" name="code_challenge" value="{challenge}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"#,
        user = escape(&org.identity.username),
        client = escape(&org.identity.client_id),
        redirect = escape(&redirect),
        state = escape(&state),
        challenge = escape(&challenge),
    ))
    .into_response()
}

#[derive(Deserialize)]
pub struct Decision {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    decision: String,
}

/// `POST /services/oauth2/authorize`: the consent form's answer; redirects back with a code, or
/// with `error=access_denied`.
pub async fn authorize_decision(State(org): State<Arc<Org>>, Form(d): Form<Decision>) -> Response {
    if d.client_id != org.identity.client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "client identifier invalid",
        );
    }
    let mut params: Vec<(&str, String)> = Vec::new();
    if d.decision == "allow" {
        let challenge = Some(d.code_challenge.clone()).filter(|c| !c.is_empty());
        params.push(("code", lock(&org.tokens).issue_code(&d.redirect_uri, challenge)));
    } else {
        params.push(("error", "access_denied".into()));
        params.push(("error_description", "end-user denied authorization".into()));
    }
    if !d.state.is_empty() {
        params.push(("state", d.state.clone()));
    }
    match reqwest::Url::parse_with_params(&d.redirect_uri, &params) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        ),
    }
}

/// `POST /services/oauth2/token`.
pub async fn token(
    State(org): State<Arc<Org>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != org.identity.client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "client identifier invalid",
        );
    }
    // The secret is optional for the refresh grant in Salesforce, but must be right when sent.
    let secret = form.get("client_secret");
    if secret.is_some_and(|s| *s != org.identity.client_secret)
        || (secret.is_none() && get("grant_type") == "authorization_code")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let mut tokens = lock(&org.tokens);
    let refresh_token = match get("grant_type") {
        "authorization_code" => {
            let Some(challenge) = tokens.take_code(get("code"), get("redirect_uri")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "invalid authorization code",
                );
            };
            // A code asked for with a PKCE challenge is only exchanged with its verifier.
            if let Some(challenge) = challenge {
                let verifier = get("code_verifier");
                let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()));
                if verifier.is_empty() || hashed != challenge {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "invalid code verifier",
                    );
                }
            }
            Some(tokens.issue_refresh())
        }
        "refresh_token" => {
            if !tokens.refresh_valid(get("refresh_token")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "expired access/refresh token",
                );
            }
            None
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant type not supported",
            )
        }
    };
    let access_token = tokens.issue_access(&org.identity.org_id);
    drop(tokens);
    let id = org.identity_url();
    let issued_at = super::org::now_millis().to_string();
    let body = TokenResponse {
        access_token,
        refresh_token,
        signature: sign(&org.identity.client_secret, &id, &issued_at),
        scope: Some("refresh_token api".into()),
        instance_url: org.base_url.clone(),
        id,
        token_type: "Bearer".into(),
        issued_at,
    };
    ([(header::CACHE_CONTROL, "no-cache, no-store")], Json(body)).into_response()
}

/// Salesforce's `signature`: base64 of HMAC-SHA256 over `id + issued_at` keyed by the secret.
pub fn sign(secret: &str, id: &str, issued_at: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `POST /services/oauth2/revoke` with `token=`: revokes an access or refresh token.
pub async fn revoke(
    State(org): State<Arc<Org>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    match form.get("token") {
        Some(t) => {
            lock(&org.tokens).revoke(t);
            StatusCode::OK.into_response()
        }
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            "this token type is not supported",
        ),
    }
}

/// `GET /services/oauth2/userinfo` with a bearer token: the integration user's claims.
pub async fn userinfo(State(org): State<Arc<Org>>, headers: axum::http::HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !token.is_some_and(|t| lock(&org.tokens).access_valid(t, org.session_timeout)) {
        return super::api::api_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        );
    }
    let id = &org.identity;
    let body = UserInfo {
        sub: org.identity_url(),
        user_id: id.user_id.clone(),
        organization_id: id.org_id.clone(),
        preferred_username: id.username.clone(),
        nickname: id.username.split('@').next().unwrap_or_default().to_string(),
        name: "Integration User".into(),
        email: id.username.clone(),
        email_verified: true,
        given_name: "Integration".into(),
        family_name: "User".into(),
        zoneinfo: "America/Los_Angeles".into(),
        active: true,
        user_type: "STANDARD".into(),
        language: "en_US".into(),
        locale: "en_US".into(),
        utc_offset: -28_800_000,
        updated_at: "2024-01-01T00:00:00Z".into(),
    };
    Json(body).into_response()
}
