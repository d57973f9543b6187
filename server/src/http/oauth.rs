//! Connect / Reconnect / Disconnect Salesforce: the OAuth 2.0 web-server flow behind the
//! Overview tab's buttons. The browser only ever sees the consent page and a `state` cookie; the
//! code is exchanged here and the tokens stay on the server.
//!
//! Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm>

use super::auth::{audit, Signed};
use super::site::Assets;
use super::state::ApiState;
use crate::salesforce::auth;
use crate::salesforce::types::TokenResponse;
use crate::sync::connection::integration_user;
use crate::sync::Engine;
use app::domain::access::Workspaces;
use app::domain::access::{AuditAction, Viewer, ADMINS_ONLY};
use app::domain::connection::ConnectionState;
use app::store;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const STATE_COOKIE: &str = "sf_oauth_state";
/// One address for every workspace (a connected app registers its callbacks); the flow that
/// comes back to it names the workspace.
pub const CALLBACK: &str = "/settings/crm/salesforce/callback";
/// How long a Connect may take at Salesforce's consent page.
const FLOW_LIFETIME: Duration = Duration::from_secs(600);

/// Connects started here and not yet come back (each `state` with its PKCE verifier), and
/// Reconnects that came back from another org, waiting for the person to confirm the switch. Each
/// is used once: taken out whatever the outcome.
#[derive(Clone, Default)]
pub struct PendingFlows(Arc<Mutex<Pending>>);

/// A Connect under way: its PKCE verifier, who started it and in which workspace.
#[derive(Clone)]
struct Flow {
    verifier: String,
    user_id: i64,
    workspace: String,
}

#[derive(Default)]
struct Pending {
    /// `state` → the flow: its PKCE verifier, who started it and for which workspace.
    flows: HashMap<String, (Flow, Instant)>,
    /// The answer's key → the other org's tokens and the flow they came back to.
    switches: HashMap<String, (TokenResponse, Flow, Instant)>,
}

impl PendingFlows {
    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        p.flows.retain(|_, (_, at)| at.elapsed() < FLOW_LIFETIME);
        p.switches.retain(|_, (_, _, at)| at.elapsed() < FLOW_LIFETIME);
        p
    }

    fn start(&self, state: String, flow: Flow) {
        self.pending().flows.insert(state, (flow, Instant::now()));
    }

    /// The flow the same person started here, still alive; the flow is over either way (also
    /// when someone else brings its `state` back).
    fn finish(&self, state: &str, user_id: i64) -> Option<Flow> {
        self.pending().flows.remove(state).map(|(f, _)| f).filter(|f| f.user_id == user_id)
    }

    /// Holds the tokens of another org until the person answers; returns the answer's key.
    fn hold_switch(&self, token: TokenResponse, flow: Flow) -> String {
        let key = random_text(18);
        self.pending().switches.insert(key.clone(), (token, flow, Instant::now()));
        key
    }

    /// The other org's tokens, when the same person answers in the same workspace.
    fn take_switch(&self, key: &str, viewer: &Viewer) -> Option<TokenResponse> {
        self.pending()
            .switches
            .remove(key)
            .filter(|(_, f, _)| f.user_id == viewer.user_id && f.workspace == viewer.workspace)
            .map(|(t, _, _)| t)
    }
}

/// `n` random bytes as URL-safe text.
fn random_text(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::thread_rng().gen()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The cookie that ends a flow in this browser, whatever its outcome.
const CLEAR_STATE_COOKIE: &str =
    "sf_oauth_state=; HttpOnly; SameSite=Lax; Path=/settings/crm/salesforce; Max-Age=0";

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/settings/crm/salesforce/connect", get(connect))
        .route(CALLBACK, get(callback))
        .route("/settings/crm/salesforce/disconnect", post(disconnect))
        .route("/settings/crm/salesforce/switch", post(switch))
}

/// A plain page for the rare dead ends of the flow, with the way back, in the site's stylesheet.
/// The way back leads to the person's workspace (or their choice of workspaces).
pub(super) fn page(site: &Assets, status: StatusCode, title: &str, body: &str) -> Response {
    page_back(site, "/", status, title, body)
}

/// [`page`], its way back leading into the viewer's workspace.
pub(super) fn page_for(
    site: &Assets,
    viewer: &Viewer,
    status: StatusCode,
    title: &str,
    body: &str,
) -> Response {
    page_back(site, &viewer.href("/settings/crm"), status, title, body)
}

fn page_back(site: &Assets, back: &str, status: StatusCode, title: &str, body: &str) -> Response {
    let back = html_escape(back);
    let html = super::site::document(
        site,
        title,
        "standalone",
        &format!(
            "<div class=\"empty-state\"><h1>{title}</h1><p>{body}</p>\
             <a class=\"btn btn--primary\" href=\"{back}\">Back to CRM &amp; Syncing</a></div>"
        ),
    );
    (status, Html(html)).into_response()
}

/// The answer to a member (not an admin) who tries to connect, reconnect or disconnect.
fn admins_only(site: &Assets) -> Response {
    page(
        site,
        StatusCode::FORBIDDEN,
        "Only admins can change the Salesforce connection",
        ADMINS_ONLY,
    )
}

fn no_engine(site: &Assets) -> Response {
    page(
        site,
        StatusCode::SERVICE_UNAVAILABLE,
        "Salesforce is not configured",
        "This server runs without a Salesforce connection.",
    )
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

/// The flow's cookie: only for the flow's paths, never to scripts, and only over https when the
/// person comes back over https.
fn state_cookie(state: &str, redirect_uri: &str) -> String {
    let secure = if redirect_uri.starts_with("https://") { "; Secure" } else { "" };
    format!("{STATE_COOKIE}={state}; HttpOnly; SameSite=Lax; Path=/settings/crm/salesforce; Max-Age=600{secure}")
}

/// Sends the person to Salesforce's consent page, with a one-time `state` that the callback checks
/// and a PKCE challenge (RFC 7636, S256) whose verifier only this server holds, so a code
/// intercepted on its way back is worth nothing to anyone else.
async fn connect(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
    site: Assets,
    headers: HeaderMap,
) -> Response {
    if !viewer.is_admin() {
        return admins_only(&site);
    }
    let Ok(engine) = s.engine(&viewer.ws()).await else { return no_engine(&site) };
    let engine = &engine;
    let state = random_text(18);
    let verifier = random_text(48);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect = redirect_uri(engine, &headers);
    let url = auth::authorize_url(engine.client().config(), &redirect, &state, Some(&challenge));
    let cookie = state_cookie(&state, &redirect);
    let flow = Flow { verifier, user_id: viewer.user_id, workspace: viewer.workspace.clone() };
    s.oauth_flows.start(state.clone(), flow);
    match url {
        Ok(url) => (StatusCode::SEE_OTHER, [(header::LOCATION, url), (header::SET_COOKIE, cookie)])
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "authorize URL");
            page(
                &site,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Salesforce could not be reached",
                "The login URL is not valid. Check the server's Salesforce configuration.",
            )
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
async fn callback(
    State(s): State<ApiState>,
    Extension(Workspaces(mine)): Extension<Workspaces>,
    site: Assets,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    let mut response = finish_flow(s, mine, site, headers, p).await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, header::HeaderValue::from_static(CLEAR_STATE_COOKIE));
    response
}

/// The callback's work; the flow's state is spent first, so it is single-use whatever happens.
async fn finish_flow(
    s: ApiState,
    mine: Vec<Viewer>,
    site: Assets,
    headers: HeaderMap,
    p: CallbackParams,
) -> Response {
    // The person is the same in each of their workspaces; the flow says which one it is for.
    let Some(user_id) = mine.first().map(|v| v.user_id) else { return admins_only(&site) };
    let flow = p.state.as_deref().and_then(|state| s.oauth_flows.finish(state, user_id));
    let Some(flow) = flow else {
        return page(
            &site,
            StatusCode::BAD_REQUEST,
            "The connection could not be completed",
            "This answer from Salesforce does not belong to a Connect you started in this browser. Start again with Connect Salesforce.",
        );
    };
    let Some(viewer) = mine.into_iter().find(|v| v.workspace == flow.workspace) else {
        return admins_only(&site);
    };
    if !viewer.is_admin() {
        return admins_only(&site);
    }
    let ws = viewer.ws();
    let Ok(engine) = s.engine(&ws).await else { return no_engine(&site) };
    let engine = &engine;
    if let Some(error) = p.error {
        let why = p.error_description.unwrap_or(error);
        return page(
            &site,
            StatusCode::BAD_REQUEST,
            "Salesforce was not connected",
            &html_escape(&format!("Salesforce answered: {why}.")),
        );
    }
    let expected = cookie(&headers, STATE_COOKIE);
    let Some(verifier) =
        Some(flow.verifier.clone()).filter(|_| expected.is_some() && expected == p.state)
    else {
        return page(
            &site,
            StatusCode::BAD_REQUEST,
            "The connection could not be completed",
            "This answer from Salesforce does not belong to a Connect you started in this browser. Start again with Connect Salesforce.",
        );
    };
    let Some(code) = p.code.filter(|c| !c.is_empty()) else {
        return page(
            &site,
            StatusCode::BAD_REQUEST,
            "The connection could not be completed",
            "Salesforce sent no authorization code. Start again with Connect Salesforce.",
        );
    };
    let client = engine.client();
    let token = match auth::exchange_code(
        client.http(),
        client.config(),
        &code,
        &redirect_uri(engine, &headers),
        Some(&verifier),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "authorization code exchange failed");
            return page(&site, StatusCode::BAD_GATEWAY, "Salesforce refused the connection", "The authorization could not be exchanged for access. Start again with Connect Salesforce.");
        }
    };
    // A Reconnect that signed in to another org than the one connected: nothing changes until
    // the person says so, with both orgs in front of them.
    let current = match store::connection_view(&s.pool, &ws).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reading the connection");
            return page(
                &site,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The connection could not be saved",
                "Try Connect Salesforce again in a moment.",
            );
        }
    };
    if let Some(connected) = current.instance_url.filter(|url| {
        current.state != ConnectionState::Disconnected && !same_org(url, &token.instance_url)
    }) {
        let key = s.oauth_flows.hold_switch(token.clone(), flow);
        return switch_page(
            &site,
            &viewer,
            &connected,
            current.username.as_deref(),
            &token.instance_url,
            &key,
        );
    }
    let action = match current.state {
        ConnectionState::Disconnected => AuditAction::Connected,
        _ => AuditAction::Reconnected,
    };
    use_tokens(&s, &site, engine, &token, &viewer, action).await
}

/// Whether two instance addresses are the same org (each org has its own My Domain address).
fn same_org(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Connects with `token`: the client uses it, the connection is saved (the refresh token sealed),
/// and syncing resumes.
async fn use_tokens(
    s: &ApiState,
    site: &Assets,
    engine: &Engine,
    token: &TokenResponse,
    viewer: &Viewer,
    action: AuditAction,
) -> Response {
    let client = engine.client();
    client.reconnect(token);
    let username = integration_user(client).await;
    let now = s.clock.now_ms();
    let ws = viewer.ws();
    if let Err(e) = store::save_connected(
        &s.pool,
        &ws,
        &token.instance_url,
        username.as_deref(),
        token.refresh_token.as_deref().map(|t| engine.config().keyring.seal(&ws, t)).as_ref(),
        now,
    )
    .await
    {
        tracing::error!(error = %e, "saving the connection");
        return page(
            site,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The connection could not be saved",
            "Try Connect Salesforce again in a moment.",
        );
    }
    audit(&s.pool, viewer, now, action, &token.instance_url).await;
    if let Err(e) = engine.reconnected().await {
        tracing::error!(error = %e, "resuming the sync after reconnecting");
    }
    see_other(&viewer.href("/settings/crm"))
}

/// The question asked when a Reconnect signed in to another org.
fn switch_page(
    site: &Assets,
    viewer: &Viewer,
    connected: &str,
    user: Option<&str>,
    other: &str,
    key: &str,
) -> Response {
    let (connected, other, key) = (html_escape(connected), html_escape(other), html_escape(key));
    let action = html_escape(&viewer.href("/settings/crm/salesforce/switch"));
    let user = user.map(|u| format!(" as {}", html_escape(u))).unwrap_or_default();
    let inner = format!(
        "<div class=\"empty-state\" data-testid=\"switch-org\"><h1>This is a different Salesforce org</h1>\
         <p>Conversion is connected to <strong>{connected}</strong>{user}. You signed in to <strong>{other}</strong>.</p>\
         <p>Switching syncs this workspace with {other} from now on: its records come in beside the ones already here, and changes made in Conversion go there.</p>\
         <div class=\"actions\">\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"key\" value=\"{key}\"><input type=\"hidden\" name=\"decision\" value=\"switch\">\
         <button class=\"btn btn--danger\" type=\"submit\">Switch to {other}</button></form>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"key\" value=\"{key}\"><input type=\"hidden\" name=\"decision\" value=\"keep\">\
         <button class=\"btn btn--secondary\" type=\"submit\">Keep {connected}</button></form>\
         </div></div>"
    );
    let html = super::site::document(site, "Switch Salesforce org?", "standalone", &inner);
    (StatusCode::OK, Html(html)).into_response()
}

#[derive(Deserialize)]
struct SwitchAnswer {
    key: String,
    decision: String,
}

/// The answer to [`switch_page`]: switch to the other org, or keep the connected one (the other
/// org's new token is then revoked, so it leaves nothing behind).
async fn switch(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
    site: Assets,
    Form(a): Form<SwitchAnswer>,
) -> Response {
    if !viewer.is_admin() {
        return admins_only(&site);
    }
    let Ok(engine) = s.engine(&viewer.ws()).await else { return no_engine(&site) };
    let engine = &engine;
    let Some(token) = s.oauth_flows.take_switch(&a.key, &viewer) else {
        return page_for(
            &site,
            &viewer,
            StatusCode::BAD_REQUEST,
            "The connection could not be completed",
            "This question has expired or was already answered. Start again with Reconnect Salesforce.",
        );
    };
    if a.decision == "switch" {
        return use_tokens(&s, &site, engine, &token, &viewer, AuditAction::SwitchedOrg).await;
    }
    let kept = format!("kept the connected org; refused {}", token.instance_url);
    audit(&s.pool, &viewer, s.clock.now_ms(), AuditAction::KeptOrg, &kept).await;
    if let Some(refresh) = &token.refresh_token {
        let client = engine.client();
        if let Err(e) = auth::revoke(client.http(), client.config(), refresh).await {
            tracing::warn!(error = %e, "revoking the other org's token");
        }
    }
    see_other(&viewer.href("/settings/crm"))
}

/// Stops syncing, revokes the refresh token at Salesforce and forgets the tokens. A run in flight fails for want of them and leaves the
/// state "disconnected" ([`crate::sync::state::mark_reconnect_needed`]); the loops start nothing
/// new until Connect ([`Engine::may_call`]), also after a restart ([`crate::sync::connection::on_start`]).
async fn disconnect(State(s): State<ApiState>, Signed(viewer): Signed, site: Assets) -> Response {
    if !viewer.is_admin() {
        return admins_only(&site);
    }
    let Ok(engine) = s.engine(&viewer.ws()).await else { return no_engine(&site) };
    let ws = viewer.ws();
    // Forgotten here whatever Salesforce answers; revoked there so nobody can use it again.
    if let Err(e) = engine.client().revoke_and_disconnect().await {
        tracing::warn!(error = %e, "revoking the refresh token at Salesforce");
    }
    let org = store::connection_view(&s.pool, &ws)
        .await
        .ok()
        .and_then(|c| c.instance_url)
        .unwrap_or_default();
    if let Err(e) = store::save_disconnected(&s.pool, &ws, s.clock.now_ms()).await {
        tracing::error!(error = %e, "saving the disconnection");
        return page_for(
            &site,
            &viewer,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Salesforce could not be disconnected",
            "Try again in a moment.",
        );
    }
    audit(&s.pool, &viewer, s.clock.now_ms(), AuditAction::Disconnected, &org).await;
    see_other(&viewer.href("/settings/crm"))
}

pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_cookie_is_secure_when_the_flow_comes_back_over_https() {
        let plain = state_cookie("s", "http://127.0.0.1:3000/settings/crm/salesforce/callback");
        assert!(plain.contains("HttpOnly; SameSite=Lax") && !plain.contains("Secure"));
        let tls = state_cookie("s", "https://sync.example.com/settings/crm/salesforce/callback");
        assert!(tls.ends_with("; Secure"), "{tls}");
    }

    fn flow(user_id: i64) -> Flow {
        Flow { verifier: "verifier".into(), user_id, workspace: "acme".into() }
    }

    #[test]
    fn a_flow_is_used_once() {
        let flows = PendingFlows::default();
        flows.start("st".into(), flow(1));
        let back = flows.finish("st", 1).expect("the flow");
        assert_eq!((back.verifier.as_str(), back.workspace.as_str()), ("verifier", "acme"));
        assert!(flows.finish("st", 1).is_none());
        assert!(flows.finish("never-started", 1).is_none());
    }

    #[test]
    fn a_flow_belongs_to_the_person_who_started_it() {
        let flows = PendingFlows::default();
        flows.start("st".into(), flow(1));
        assert!(flows.finish("st", 2).is_none(), "someone else's state is refused");
        assert!(flows.finish("st", 1).is_none(), "and spent");
    }
}
