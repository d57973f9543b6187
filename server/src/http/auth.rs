//! Signing in and out, and the layer that lets only signed-in members of the workspace through.
//!
//! - `POST /sign-in` (the sign-in page's form): checks the email and password (argon2id), starts a
//!   new session (a new id: one fixed before sign-in is worth nothing after it) and lands on the
//!   page that was asked for (`next`, an address on this site only).
//! - `POST /sign-out`: ends the session, here and in the database.
//! - [`require_sign_in`]: every request but the sign-in page, `/healthz` and the built files needs
//!   a signed-in member of the workspace; pages without one redirect to the sign-in page with the
//!   address in `next`, the API answers 401. The request carries the [`Viewer`] from there on.
//!
//! Handlers read the person with the [`Signed`] and [`Admin`] extractors.

use super::error::ApiError;
use super::rate_limit::{retry_after_secs, Changer, RateLimit};
use super::tokens;
use crate::accounts;
use app::domain::access::{AuditAction, Viewer, Workspaces, ADMINS_ONLY};
use app::domain::href::{in_workspace, split_workspace};
use app::state::Clock;
use app::store::api_tokens;
use app::store::audit::{self, Actor};
use app::store::Db;
use app::store::{accounts as store, WorkspaceId};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Form, Router};
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_sessions::Session;

/// The session's key for the signed-in person's id.
const USER_KEY: &str = "user";
/// Where a sign-in without a `next` lands, within the person's workspace.
pub const HOME: &str = "/settings/crm";
/// The workspace chooser, for a person in several workspaces who followed a link without one.
pub const WORKSPACES: &str = "/workspaces";
/// The sign-in page.
pub const SIGN_IN: &str = "/sign-in";

/// Failed sign-ins an email may have in [`THROTTLE_WINDOW`] before further tries are refused
/// unchecked until the oldest leaves the window.
pub const MAX_FAILURES: usize = 5;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// What a password check refused unchecked says.
pub const TOO_MANY_TRIES: &str =
    "Too many failed tries of this account's password. Wait 15 minutes, then try again.";

/// What signing in needs.
#[derive(Clone)]
pub struct AuthState {
    pub pool: Db,
    pub clock: Arc<dyn Clock>,
    pub throttle: Throttle,
    /// Changes (any request but GET, HEAD and OPTIONS) per person and workspace, and per token.
    pub changes: RateLimit<Changer>,
}

impl AuthState {
    /// `changes_per_minute`: each person's (in each workspace) and each token's allowance of
    /// changes (0: unlimited). `throttle` is shared with the invitation page, where an existing
    /// account's password is tried too.
    pub fn new(
        pool: Db,
        clock: Arc<dyn Clock>,
        throttle: Throttle,
        changes_per_minute: u32,
    ) -> AuthState {
        AuthState { pool, clock, throttle, changes: RateLimit::per_minute(changes_per_minute) }
    }
}

/// Recent failed password checks by email (lowercased), on the sign-in page and on an invitation
/// for an existing account, so that guessing one account's password stops after
/// [`MAX_FAILURES`] tries in [`THROTTLE_WINDOW`]. In memory: a restart forgets it.
#[derive(Clone, Default)]
pub struct Throttle(Arc<Mutex<HashMap<String, VecDeque<Instant>>>>);

impl Throttle {
    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, tries| {
            while tries.front().is_some_and(|t| t.elapsed() >= THROTTLE_WINDOW) {
                tries.pop_front();
            }
            !tries.is_empty()
        });
        map
    }

    /// How long until this email may try again, when it has used up its tries.
    pub fn wait(&self, email: &str) -> Option<Duration> {
        let map = self.failures();
        let tries = map.get(&email.to_lowercase())?;
        (tries.len() >= MAX_FAILURES).then(|| THROTTLE_WINDOW.saturating_sub(tries[0].elapsed()))
    }

    pub fn failed(&self, email: &str) {
        self.failures().entry(email.to_lowercase()).or_default().push_back(Instant::now());
    }

    pub fn succeeded(&self, email: &str) {
        self.failures().remove(&email.to_lowercase());
    }
}

pub fn routes(state: AuthState) -> Router {
    Router::new()
        .route(SIGN_IN, post(sign_in))
        .route("/sign-out", post(sign_out))
        .route(WORKSPACES, get(choose_workspace))
        .with_state(state)
}

#[derive(Deserialize)]
struct ChooseParams {
    next: Option<String>,
}

/// `GET /workspaces`: the person's workspaces, each a link to the page they asked for (`next`,
/// an address without a workspace) in that workspace.
async fn choose_workspace(
    Extension(Workspaces(mine)): Extension<Workspaces>,
    site: super::site::Assets,
    Query(p): Query<ChooseParams>,
) -> Response {
    use super::oauth::html_escape;
    let next = p
        .next
        .as_deref()
        .and_then(safe_next)
        .filter(|n| split_workspace(n).is_none() && *n != WORKSPACES)
        .unwrap_or(HOME);
    let items: String = mine
        .iter()
        .map(|v| {
            format!(
                "<li><a class=\"workspace-choice\" href=\"{href}\"><span class=\"workspace-choice__name\">{name}</span>\
                 <span class=\"workspace-choice__role\">{role}</span></a></li>",
                href = html_escape(&in_workspace(&v.workspace, next)),
                name = html_escape(&v.workspace_name),
                role = v.role.label(),
            )
        })
        .collect();
    let html = super::site::document(
        &site,
        "Choose a workspace",
        "standalone",
        &format!(
            "<div class=\"empty-state\" data-testid=\"choose-workspace\"><h1>Choose a workspace</h1>\
             <p>You are a member of several workspaces. Which one is this for?</p>\
             <ul class=\"workspace-choices\">{items}</ul>\
             <form method=\"post\" action=\"/sign-out\"><button class=\"btn btn--ghost btn--sm\" type=\"submit\">Sign out</button></form>\
             </div>"
        ),
    );
    let mut response = (StatusCode::OK, axum::response::Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_in(
    State(st): State<AuthState>,
    session: Session,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = form.next.as_deref().and_then(safe_next);
    let refused = |error: &str| {
        let mut to = format!("{SIGN_IN}?error={error}");
        if let Some(next) = next {
            to.push_str("&next=");
            to.push_str(&encode(next));
        }
        Redirect::to(&to).into_response()
    };
    let email = form.email.trim();
    if email.is_empty() || form.password.is_empty() {
        return refused("missing");
    }
    if let Some(wait) = st.throttle.wait(email) {
        tracing::warn!(
            wait_secs = wait.as_secs(),
            "a sign-in was refused unchecked: too many failed tries for the email"
        );
        return refused("throttled");
    }
    let found = match store::credentials(&st.pool, email).await {
        Ok(found) => found,
        Err(e) => return unavailable(e),
    };
    // An unknown email costs the same hash check as a wrong password: the answer's timing does
    // not tell which emails have accounts.
    let hash = found.as_ref().map_or(accounts::decoy_hash(), |c| c.password_hash.as_str());
    let matches = accounts::verify_password(form.password, hash.to_string()).await;
    let Some(user_id) = found.filter(|_| matches).map(|c| c.user_id) else {
        tracing::info!("a sign-in was refused: unknown email or wrong password");
        st.throttle.failed(email);
        return refused("invalid");
    };
    st.throttle.succeeded(email);
    match store::viewers(&st.pool, user_id).await {
        Ok(mine) if !mine.is_empty() => {}
        Ok(_) => return refused("not_member"),
        Err(e) => return unavailable(e),
    }
    if let Err(e) = start_session(&session, user_id).await {
        return unavailable(e);
    }
    tracing::info!(user_id, "signed in");
    // Without a `next`: the root, which leads into the person's workspace.
    Redirect::to(next.unwrap_or("/")).into_response()
}

/// Signs the person in on this browser's session, under a new session id: an id planted in the
/// browser before does not become signed in.
pub async fn start_session(
    session: &Session,
    user_id: i64,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(USER_KEY, user_id).await
}

async fn sign_out(session: Session) -> Response {
    if let Err(e) = session.flush().await {
        return unavailable(e);
    }
    Redirect::to(&format!("{SIGN_IN}?signed_out=1")).into_response()
}

pub fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "sign-in could not read or write its session");
    let message = "Signing in is not possible right now: Conversion's database could not be reached. Try again in a minute.";
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "60")], message).into_response()
}

/// `next` when it is an address on this site (a path, not `//elsewhere` or `/\elsewhere`, which
/// browsers read as another host), else nothing.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

/// Percent-encodes a `next` address for the sign-in page's query.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Requests that need nobody signed in: the sign-in page and form, sign-out, the liveness check,
/// invitation links (the invitee has no account yet), and the site's files (the built Wasm, JS and CSS under `/pkg`, the favicon).
fn is_public(path: &str) -> bool {
    path == SIGN_IN
        || path == "/sign-out"
        || path == "/healthz"
        || path.starts_with("/invite/")
        || path.starts_with("/pkg/")
        || (path.rfind('/') == Some(0) && path.contains('.'))
}

/// Addresses outside any workspace that a signed-in person may reach as themselves: the
/// Salesforce callback (one fixed address for every workspace; its flow names the workspace) and
/// the workspace chooser.
fn is_personal(path: &str) -> bool {
    path == super::oauth::CALLBACK || path == WORKSPACES
}

/// `axum::middleware::from_fn_with_state` over everything but the public requests. It wraps the
/// whole router (not `Router::layer`, which runs after routing), because it takes the workspace
/// off the address: `/w/{workspace}/settings/crm` is routed as `/settings/crm`, with the
/// person as a member of that workspace on the request ([`Viewer`]) and all their workspaces
/// beside it ([`Workspaces`]).
///
/// - A workspace the person is not a member of answers as one that does not exist: 404, the
///   same page (or JSON) either way, after the same one query.
/// - An address without a workspace (an old link, a script's `/api/…`): a person in one
///   workspace is sent to it (pages) or served in it (the API, forms); one in several picks a
///   workspace (pages) or is told to name one (the API).
pub async fn require_sign_in(
    State(st): State<AuthState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if is_public(&path) {
        return next.run(request).await;
    }
    let mine = if let Some(authorization) =
        request.headers().get(header::AUTHORIZATION).filter(|a| is_bearer(a))
    {
        // A script with an API token: the token alone decides, never a session beside it. (Other
        // schemes, such as the Basic of a proxy in front, are not ours: the session decides.)
        match bearer_viewer(&st, authorization).await {
            Ok(viewer) => vec![viewer],
            Err(response) => return response,
        }
    } else {
        let user_id = match session.get::<i64>(USER_KEY).await {
            Ok(Some(id)) => id,
            Ok(None) => return signed_out(&request),
            Err(e) => return unavailable(e),
        };
        match store::viewers(&st.pool, user_id).await {
            Ok(mine) if !mine.is_empty() => mine,
            Ok(_) => {
                // The account is gone, or in no workspace any more: the session is worth nothing.
                let _ = session.flush().await;
                return signed_out(&request);
            }
            Err(e) => return unavailable(e),
        }
    };
    if let Some((workspace, rest)) = split_workspace(&path) {
        let Some(viewer) = mine.iter().find(|v| v.workspace == workspace).cloned() else {
            return not_found(&request);
        };
        let rest = match request.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        match rest.parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return not_found(&request),
        }
        if let Some(refused) = count_change(&st, &viewer, &request) {
            return refused;
        }
        request.extensions_mut().insert(viewer);
        request.extensions_mut().insert(Workspaces(mine));
        return next.run(request).await;
    }
    if is_personal(&path) {
        request.extensions_mut().insert(Workspaces(mine));
        return next.run(request).await;
    }
    let is_page =
        !path.starts_with("/api/") && matches!(*request.method(), Method::GET | Method::HEAD);
    match (mine.len(), is_page) {
        (1, true) => {
            let here = request.uri().path_and_query().map_or(path.as_str(), |p| p.as_str());
            let here = if here == "/" { HOME } else { here };
            Redirect::to(&in_workspace(&mine[0].workspace, here)).into_response()
        }
        (1, false) => {
            let viewer = mine[0].clone();
            if let Some(refused) = count_change(&st, &viewer, &request) {
                return refused;
            }
            request.extensions_mut().insert(viewer);
            request.extensions_mut().insert(Workspaces(mine));
            next.run(request).await
        }
        (_, true) => {
            let here = request.uri().path_and_query().map_or(path.as_str(), |p| p.as_str());
            let mut to = WORKSPACES.to_string();
            if here != "/" {
                to.push_str("?next=");
                to.push_str(&encode(here));
            }
            Redirect::to(&to).into_response()
        }
        (_, false) => ApiError::BadRequest(format!(
            "You are a member of several workspaces: name one in the address, /w/{{workspace}}{path} ({}).",
            mine.iter().map(|v| v.workspace.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .into_response(),
    }
}

/// Takes a change from the allowance of the person (in this workspace) or token making it, or
/// answers 429 without letting it through (`Some`: the refusal). Reads (GET, HEAD, OPTIONS) are
/// not counted.
fn count_change(st: &AuthState, viewer: &Viewer, request: &Request) -> Option<Response> {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let changer = match viewer.token {
        Some(id) => Changer::Token(id),
        None => Changer::Person { user_id: viewer.user_id, workspace: viewer.workspace.clone() },
    };
    let wait = st.changes.take(&changer).err()?;
    let secs = retry_after_secs(wait);
    tracing::warn!(
        workspace = %viewer.workspace,
        user_id = viewer.user_id,
        token = ?viewer.token,
        retry_after_secs = secs,
        "a change was refused: over the allowance of changes a minute"
    );
    let message = format!(
        "Too many changes: {who} may make {limit} a minute in this workspace. Try again in {secs} s.",
        who = if viewer.token.is_some() { "an API token" } else { "each person" },
        limit = st.changes.limit(),
    );
    let path = request.uri().path();
    let is_api = split_workspace(path).map_or(path, |(_, rest)| rest).starts_with("/api/");
    let site = request.extensions().get::<super::site::Assets>().cloned();
    let mut response = match site.filter(|_| !is_api) {
        Some(site) => super::oauth::page_for(
            &site,
            viewer,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many changes",
            &super::oauth::html_escape(&message),
        ),
        None => {
            return Some(
                ApiError::TooManyRequests { message, retry_after_secs: secs }.into_response(),
            )
        }
    };
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    Some(response)
}

/// The answer for a workspace that does not exist and for one the person is not a member of:
/// the same either way, so that the answer says nothing about which.
fn not_found(request: &Request) -> Response {
    let path = request.uri().path();
    let is_api = split_workspace(path).is_some_and(|(_, rest)| rest.starts_with("/api/"));
    if is_api {
        return ApiError::NotFound("Not found.".into()).into_response();
    }
    let site = request.extensions().get::<super::site::Assets>().cloned();
    let Some(site) = site else {
        return (StatusCode::NOT_FOUND, "Not found.").into_response();
    };
    super::oauth::page(
        &site,
        StatusCode::NOT_FOUND,
        "Page not found",
        "This address does not lead to a page you can open. Check the link, or ask whoever sent it which workspace it is in.",
    )
}

/// Whether an `Authorization` header is a bearer token (the scheme is case-insensitive).
pub fn is_bearer(authorization: &HeaderValue) -> bool {
    authorization.as_bytes().get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
}

/// The person a request's `Authorization: Bearer …` acts as: its token's workspace and access.
async fn bearer_viewer(st: &AuthState, authorization: &HeaderValue) -> Result<Viewer, Response> {
    let refused = |why: &str| ApiError::Unauthorized(why.to_string()).into_response();
    let Some(token) = authorization
        .to_str()
        .ok()
        .and_then(|v| v.get(7..))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(refused("Authorization must be `Bearer` and an API token."));
    };
    let found = api_tokens::find_live(&st.pool, &tokens::hash(token), st.clock.now_ms())
        .await
        .map_err(unavailable)?;
    match found {
        Some(t) => Ok(Viewer {
            user_id: t.created_by.unwrap_or(0),
            email: format!("API token \u{201c}{}\u{201d} ({}\u{2026})", t.name, t.prefix),
            name: t.name,
            workspace: t.workspace.0,
            workspace_name: t.workspace_name,
            role: t.access.role(),
            token: Some(t.id),
        }),
        _ => Err(refused("This API token is not valid: it was revoked, or is mistyped.")),
    }
}

/// The answer to a request nobody signed in for: the API says 401; a page redirects to the
/// sign-in page, which comes back to it.
fn signed_out(request: &Request) -> Response {
    let path = request.uri().path();
    let in_app = split_workspace(path).map_or(path, |(_, rest)| rest);
    if in_app.starts_with("/api/") {
        return ApiError::Unauthorized("Sign in to Conversion first.".into()).into_response();
    }
    let mut to = SIGN_IN.to_string();
    if request.method() == Method::GET {
        let here = request.uri().path_and_query().map_or(path, |p| p.as_str());
        if here != "/" && here != HOME {
            to.push_str("?next=");
            to.push_str(&encode(here));
        }
    }
    let mut response = Redirect::to(&to).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds an entry to the workspace's audit trail for what `viewer` just did. The change itself is
/// made already: an entry that cannot be written is logged, not a reason to undo it.
pub async fn audit(pool: &Db, viewer: &Viewer, now_ms: i64, action: AuditAction, detail: &str) {
    let ws = WorkspaceId(viewer.workspace.clone());
    let actor = Actor::Person { user_id: viewer.user_id, email: &viewer.email };
    if let Err(e) = audit::record(pool, &ws, now_ms, actor, action, detail).await {
        tracing::error!(error = %e, action = action.as_str(), "the audit trail could not be written");
    }
}

/// The signed-in person, for handlers (the sign-in layer put them on the request).
pub struct Signed(pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .map(Signed)
            .ok_or_else(|| ApiError::Unauthorized("Sign in to Conversion first.".into()))
    }
}

/// The signed-in person when they are an admin of the workspace; anyone else is answered 403.
pub struct Admin(pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Signed(viewer) = Signed::from_request_parts(parts, state).await?;
        if viewer.is_admin() {
            Ok(Admin(viewer))
        } else {
            Err(ApiError::Forbidden(ADMINS_ONLY.into()))
        }
    }
}

/// An admin signed in with a session (not an API token): what managing tokens takes, so that a
/// token cannot make or revoke tokens.
pub struct SessionAdmin(pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for SessionAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Admin(viewer) = Admin::from_request_parts(parts, state).await?;
        if viewer.token.is_some() {
            return Err(ApiError::Forbidden(
                "API tokens are made and revoked by an admin signed in, not with a token.".into(),
            ));
        }
        Ok(SessionAdmin(viewer))
    }
}

/// [`SessionAdmin`] for the forms of the settings pages: anyone else gets a plain page saying
/// why (403 for a member, 401 signed out), in the site's look, not JSON.
pub struct SessionAdminPage(pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for SessionAdminPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match SessionAdmin::from_request_parts(parts, state).await {
            Ok(SessionAdmin(viewer)) => Ok(SessionAdminPage(viewer)),
            Err(e) => {
                let Ok(site) = super::site::Assets::from_request_parts(parts, state).await;
                Err(super::oauth::page(
                    &site,
                    e.status(),
                    "This is for workspace admins",
                    e.message(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_followed_only_to_this_site() {
        assert_eq!(
            safe_next("/settings/crm/sync-activity?direction=inbound"),
            Some("/settings/crm/sync-activity?direction=inbound")
        );
        for elsewhere in
            ["https://evil.example/", "//evil.example", "/\\evil.example", "evil", "", "/a\nb"]
        {
            assert_eq!(safe_next(elsewhere), None, "{elsewhere:?}");
        }
    }

    #[test]
    fn the_sign_in_page_and_files_are_public_and_nothing_else() {
        for p in ["/sign-in", "/healthz", "/pkg/sync-activity.wasm", "/favicon.svg", "/invite/abc"]
        {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/",
            "/settings/crm",
            "/api/runs",
            "/api/health",
            "/settings/crm/sync-activity/runs/a.b",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn only_a_bearer_authorization_is_read_as_a_token() {
        for (value, bearer) in [
            ("Bearer cvs_x", true),
            ("bearer cvs_x", true),
            ("BEARER x", true),
            ("Basic YTpi", false),
            ("Bear", false),
        ] {
            assert_eq!(is_bearer(&HeaderValue::from_static(value)), bearer, "{value}");
        }
    }

    #[test]
    fn next_is_encoded_whole() {
        assert_eq!(encode("/a/runs/1?x=1&y=2"), "/a/runs/1%3Fx%3D1%26y%3D2");
    }
}
