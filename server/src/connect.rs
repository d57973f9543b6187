//! Connect / Reconnect / Disconnect Salesforce: the OAuth 2.0 web-server flow behind the
//! Overview tab's buttons. The browser only ever sees the consent page and a `state` cookie; the
//! code is exchanged here and the tokens stay on the server.
//!
//! Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm>

use crate::api::ApiState;
use crate::salesforce::{auth, SalesforceClient};
use crate::site::Assets;
use crate::sync::Engine;
use app::store;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::Rng;
use serde::Deserialize;
use std::time::Duration;

const STATE_COOKIE: &str = "sf_oauth_state";
const CALLBACK: &str = "/settings/crm/salesforce/callback";

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/settings/crm/salesforce/connect", get(connect))
        .route(CALLBACK, get(callback))
        .route("/settings/crm/salesforce/disconnect", post(disconnect))
}

/// A plain page for the rare dead ends of the flow, with the way back, in the site's stylesheet.
fn page(site: &Assets, status: StatusCode, title: &str, body: &str) -> Response {
    let stylesheet = site.stylesheet();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Conversion</title>\
         <link rel=\"stylesheet\" href=\"{stylesheet}\"></head><body><main class=\"standalone\">\
         <div class=\"empty-state\"><h1>{title}</h1><p>{body}</p>\
         <a class=\"btn btn--primary\" href=\"/settings/crm\">Back to CRM &amp; Syncing</a></div></main></body></html>"
    );
    (status, Html(html)).into_response()
}

fn no_engine(site: &Assets) -> Response {
    page(site, StatusCode::SERVICE_UNAVAILABLE, "Salesforce is not configured", "This server runs without a Salesforce connection.")
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// Where Salesforce sends the person back: the configured callback (a real org's connected app
/// accepts only what it registered, typically https), else this server as the browser reached it.
fn redirect_uri(engine: &Engine, headers: &HeaderMap) -> String {
    if let Some(uri) = &engine.client().config().redirect_uri {
        return uri.clone();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3000");
    format!("http://{host}{CALLBACK}")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Sends the person to Salesforce's consent page, with a one-time `state` that the callback checks.
async fn connect(State(s): State<ApiState>, site: Assets, headers: HeaderMap) -> Response {
    let Some(engine) = &s.engine else { return no_engine(&site) };
    let state: String = {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    match auth::authorize_url(engine.client().config(), &redirect_uri(engine, &headers), &state) {
        Ok(url) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, url),
                (
                    header::SET_COOKIE,
                    format!("{STATE_COOKIE}={state}; HttpOnly; SameSite=Lax; Path=/settings/crm/salesforce; Max-Age=600"),
                ),
            ],
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "authorize URL");
            page(&site, StatusCode::INTERNAL_SERVER_ERROR, "Salesforce could not be reached", "The login URL is not valid. Check the server's Salesforce configuration.")
        }
    }
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Salesforce sends the person back here: check `state`, exchange the code, resume syncing.
async fn callback(State(s): State<ApiState>, site: Assets, headers: HeaderMap, Query(p): Query<CallbackParams>) -> Response {
    let Some(engine) = &s.engine else { return no_engine(&site) };
    if let Some(error) = p.error {
        let why = p.error_description.unwrap_or(error);
        return page(&site, StatusCode::BAD_REQUEST, "Salesforce was not connected", &html_escape(&format!("Salesforce answered: {why}.")));
    }
    let expected = cookie(&headers, STATE_COOKIE);
    if expected.is_none() || expected != p.state {
        return page(
            &site,
            StatusCode::BAD_REQUEST,
            "The connection could not be completed",
            "This answer from Salesforce does not belong to a Connect started in this browser. Start again with Connect Salesforce.",
        );
    }
    let Some(code) = p.code.filter(|c| !c.is_empty()) else {
        return page(&site, StatusCode::BAD_REQUEST, "The connection could not be completed", "Salesforce sent no authorization code. Start again with Connect Salesforce.");
    };
    let client = engine.client();
    let token = match auth::exchange_code(client.http(), client.config(), &code, &redirect_uri(engine, &headers)).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "authorization code exchange failed");
            return page(&site, StatusCode::BAD_GATEWAY, "Salesforce refused the connection", "The authorization could not be exchanged for access. Start again with Connect Salesforce.");
        }
    };
    client.reconnect(&token);
    let username = integration_user(client).await;
    let now = s.clock.now_ms();
    if let Err(e) = store::save_connected(&s.pool, &s.workspace, &token.instance_url, username.as_deref(), token.refresh_token.as_deref(), now).await {
        tracing::error!(error = %e, "saving the connection");
        return page(&site, StatusCode::INTERNAL_SERVER_ERROR, "The connection could not be saved", "Try Connect Salesforce again in a moment.");
    }
    if let Err(e) = engine.reconnected().await {
        tracing::error!(error = %e, "resuming the sync after reconnecting");
    }
    let mut resp = see_other("/settings/crm");
    if let Ok(v) = format!("{STATE_COOKIE}=; HttpOnly; SameSite=Lax; Path=/settings/crm/salesforce; Max-Age=0").parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// Stops syncing, revokes the refresh token at Salesforce and forgets the tokens. A run in flight fails for want of them and leaves the
/// state "disconnected" ([`crate::sync::state::mark_reconnect_needed`]); the loops start nothing
/// new until Connect ([`Engine::may_call`]), also after a restart ([`on_start`]).
async fn disconnect(State(s): State<ApiState>, site: Assets) -> Response {
    let Some(engine) = &s.engine else { return no_engine(&site) };
    // Forgotten here whatever Salesforce answers; revoked there so nobody can use it again.
    if let Err(e) = engine.client().revoke_and_disconnect().await {
        tracing::warn!(error = %e, "revoking the refresh token at Salesforce");
    }
    if let Err(e) = store::save_disconnected(&s.pool, &s.workspace, s.clock.now_ms()).await {
        tracing::error!(error = %e, "saving the disconnection");
        return page(&site, StatusCode::INTERNAL_SERVER_ERROR, "Salesforce could not be disconnected", "Try again in a moment.");
    }
    see_other("/settings/crm")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Keeps the Rate limits view current: the API usage Salesforce reports on every response
/// (`Sforce-Limit-Info`) is saved when it changes, and `/limits` is asked at start and then every
/// few minutes, so the view is right even while nothing syncs.
///
/// While the daily limit pauses syncing nothing else calls Salesforce, so `/limits` is asked
/// every [`EngineConfig::limit_check_every`](crate::sync::EngineConfig) instead: as soon as
/// `DailyApiRequests` has requests remaining (the org's rolling 24 hours moved on, or the limit
/// was raised), the pause is lifted and syncing resumes, rather than waiting out the fixed pause;
/// and Rate limits shows the org's own figure meanwhile, not the last one a refused call carried.
pub async fn track_api_usage(engine: Engine, every: Duration) {
    const LIMITS_EVERY: Duration = Duration::from_secs(300);
    let mut last = None;
    let mut asked: Option<tokio::time::Instant> = None;
    loop {
        let mut usage = engine.client().api_usage().map(|u| (u.used as i64, u.max as i64));
        let paused = engine.limit_paused().await.unwrap_or(false);
        let period = if paused { engine.config().limit_check_every } else { LIMITS_EVERY };
        let due = asked.is_none_or(|t| t.elapsed() >= period);
        if due && (paused || engine.may_call().await.unwrap_or(false)) {
            asked = Some(tokio::time::Instant::now());
            match engine.client().limits().await {
                Ok(limits) => {
                    if let Some(daily) = limits.get("DailyApiRequests") {
                        usage = Some((daily.max - daily.remaining, daily.max));
                        if paused && daily.remaining > 0 {
                            tracing::info!(remaining = daily.remaining, "Salesforce has API requests to spare again: syncing resumes");
                            if let Err(e) = engine.limit_cleared().await {
                                tracing::warn!(error = %e, "lifting the API limit pause");
                            }
                        }
                    }
                }
                Err(e) => {
                    // Refused because the limit is still used up: that answer carries the usage too.
                    usage = engine.client().api_usage().map(|u| (u.used as i64, u.max as i64));
                    tracing::debug!(error = %e, "GET /limits");
                }
            }
        }
        if let Some((used, max)) = usage.filter(|u| Some(*u) != last) {
            match store::record_api_usage(engine.pool(), engine.workspace(), used, max, engine.now_ms()).await {
                Ok(()) => last = usage,
                Err(e) => tracing::warn!(error = %e, "saving API usage"),
            }
        }
        tokio::select! {
            _ = engine.cancel_token().cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// At start-up, with the org the server was given: the in-process local org (new at every start,
/// with its own refresh token) or a real one from the environment, whose refresh token comes from
/// the environment, else from an earlier Connect, else nowhere yet (the Overview then offers
/// Connect, and nothing syncs until then). A workspace the person disconnected stays disconnected.
pub async fn on_start(engine: &Engine, instance_url: &str, username: Option<&str>, refresh_token: Option<&str>) -> Result<(), store::StoreError> {
    let current = store::connection_view(engine.pool(), engine.workspace()).await?;
    if current.state == app::domain::connection::ConnectionState::Disconnected && current.instance_url.is_some() {
        engine.client().disconnect();
        return Ok(());
    }
    let token = match refresh_token.filter(|t| !t.is_empty()) {
        Some(t) => Some(t.to_string()),
        None => store::saved_refresh_token(engine.pool(), engine.workspace()).await?,
    };
    let Some(token) = token else {
        // Never connected: nothing to sync with until Connect.
        engine.client().disconnect();
        return store::save_disconnected(engine.pool(), engine.workspace(), engine.now_ms()).await;
    };
    engine.client().use_refresh_token(&token);
    let username = match username {
        Some(u) => Some(u.to_string()),
        None => integration_user(engine.client()).await,
    };
    store::save_connected(engine.pool(), engine.workspace(), instance_url, username.as_deref(), Some(&token), engine.now_ms()).await
}

/// The integration user's Salesforce username, for the connection card. Best effort: a name that
/// cannot be had is not worth refusing a connection for (the card then keeps the one it had).
///
/// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm>
async fn integration_user(client: &SalesforceClient) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(10), client.userinfo()).await {
        Ok(Ok(info)) => Some(info.preferred_username).filter(|u| !u.is_empty()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "asking Salesforce who the integration user is");
            None
        }
        Err(_) => {
            tracing::warn!("asking Salesforce who the integration user is: no answer in 10 s");
            None
        }
    }
}
