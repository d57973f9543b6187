//! Users & permissions: invitations and removing members (admins, signed in), and the invitation
//! link an invitee opens (no account needed).
//!
//! - `POST /settings/users/invitations` (form: `email`, `role`): a single-use link that works for
//!   [`INVITATION_DAYS`] days, shown once to the admin to copy (no mail server is needed).
//! - `POST /settings/users/invitations/{id}/revoke`: withdraws it.
//! - `POST /settings/users/members/{user_id}/remove`: removes a member (never the last admin).
//! - `GET|POST /invite/{token}`: the invitee sets a name and password (a new account) or enters
//!   their password (an existing one), joins with the invitation's role and is signed in.

use super::auth::{audit, start_session, unavailable, SessionAdminPage};
use super::oauth::{html_escape, page_for};
use super::site::Assets;
use super::state::ApiState;
use super::tokens;
use crate::accounts;
use app::domain::access::{AuditAction, Role, INVITATION_DAYS};
use app::domain::href::in_workspace;
use app::store::accounts as people;
use app::store::audit::{self as trail, Actor};
use app::store::invitations::{self, NewInvitation};
use app::store::WorkspaceId;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

/// Where Users & permissions lives.
pub const USERS_PAGE: &str = "/settings/users";

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/settings/users/invitations", post(invite))
        .route("/settings/users/invitations/{id}/revoke", post(withdraw))
        .route("/settings/users/members/{user_id}/remove", post(remove))
        .route("/invite/{token}", get(invitation_page).post(accept))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn invite(
    State(s): State<ApiState>,
    SessionAdminPage(viewer): SessionAdminPage,
    site: Assets,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let email = form.email.trim();
    if let Err(why) = accounts::check_email(email) {
        return page_for(
            &site,
            &viewer,
            StatusCode::BAD_REQUEST,
            "Nobody was invited",
            &html_escape(&why),
        );
    }
    let Some(role) = Role::parse(&form.role) else {
        return page_for(
            &site,
            &viewer,
            StatusCode::BAD_REQUEST,
            "Nobody was invited",
            "Choose admin or member.",
        );
    };
    let token = tokens::generate();
    let now = s.clock.now_ms();
    let new = NewInvitation {
        email,
        role,
        token_hash: &tokens::hash(&token),
        created_by: viewer.user_id,
        created_at: now,
        expires_at: now + INVITATION_DAYS * 24 * 60 * 60 * 1000,
    };
    let ws = WorkspaceId(viewer.workspace.clone());
    if let Err(e) = invitations::create(&s.pool, &ws, &new).await {
        tracing::error!(error = %e, "saving an invitation");
        return page_for(
            &site,
            &viewer,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Nobody was invited",
            "Try again in a moment.",
        );
    }
    audit(
        &s.pool,
        &viewer,
        now,
        AuditAction::MemberInvited,
        &format!("{email} ({})", role.label()),
    )
    .await;
    let link = format!("{}/invite/{token}", origin(&headers));
    let body = format!(
        "Send this link to <strong>{email}</strong>. It makes them a {role} of {workspace}, works once, \
         and expires in {INVITATION_DAYS} days. It is not shown again.</p>\
         <p><code class=\"token\" data-testid=\"invitation-link\">{link}</code></p><p class=\"small\">\
         <a href=\"{back}\">Back to Users &amp; permissions</a>",
        back = html_escape(&viewer.href(USERS_PAGE)),
        email = html_escape(email),
        role = role.label().to_lowercase(),
        workspace = html_escape(&viewer.workspace_name),
        link = html_escape(&link),
    );
    let mut response =
        page_for(&site, &viewer, StatusCode::CREATED, "Invitation ready to send", &body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// This server as the browser reached it (the link the invitee opens).
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3000");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|p| p.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

async fn withdraw(
    State(s): State<ApiState>,
    SessionAdminPage(viewer): SessionAdminPage,
    site: Assets,
    Path(id): Path<i64>,
) -> Response {
    let now = s.clock.now_ms();
    let ws = WorkspaceId(viewer.workspace.clone());
    match invitations::revoke(&s.pool, &ws, id, now).await {
        Ok(Some(email)) => {
            audit(&s.pool, &viewer, now, AuditAction::InvitationRevoked, &email).await;
            see_other(&viewer.href(USERS_PAGE))
        }
        Ok(None) => page_for(
            &site,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such invitation",
            "It was used, withdrawn or never made.",
        ),
        Err(e) => unavailable(e),
    }
}

async fn remove(
    State(s): State<ApiState>,
    SessionAdminPage(viewer): SessionAdminPage,
    site: Assets,
    Path(user_id): Path<i64>,
) -> Response {
    let ws = WorkspaceId(viewer.workspace.clone());
    match people::remove_member(&s.pool, &ws, user_id).await {
        Ok(Ok(email)) => {
            audit(&s.pool, &viewer, s.clock.now_ms(), AuditAction::MemberRemoved, &email).await;
            see_other(&viewer.href(USERS_PAGE))
        }
        Ok(Err(people::RemoveRefused::LastAdmin)) => page_for(
            &site,
            &viewer,
            StatusCode::CONFLICT,
            "The last admin stays",
            "A workspace needs an admin. Make someone else an admin before removing this one.",
        ),
        Ok(Err(people::RemoveRefused::NotAMember)) => page_for(
            &site,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such member",
            "This person is not a member of the workspace.",
        ),
        Err(e) => unavailable(e),
    }
}

/// The invitation's own page, in the sign-in page's look.
fn invite_page(site: &Assets, status: StatusCode, inner: &str) -> Response {
    let html = super::site::document(
        site,
        "Join a workspace",
        "signin",
        &format!(
            "<div class=\"signin__card\">\
             <p class=\"signin__brand\"><span class=\"topbar__logo\" aria-hidden=\"true\">C</span>Conversion</p>\
             {inner}</div>"
        ),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

fn invalid_link(site: &Assets) -> Response {
    invite_page(
        site,
        StatusCode::NOT_FOUND,
        "<h1 class=\"signin__title\">This invitation cannot be used</h1>\
         <p class=\"signin__hint\">It was used already, withdrawn, or it expired. Ask an admin of the workspace for a new one.</p>\
         <p><a class=\"btn btn--secondary\" href=\"/sign-in\">Sign in</a></p>",
    )
}

/// The form: a name and a new password for a new account, or the password of the existing one.
fn invitation_form(
    site: &Assets,
    status: StatusCode,
    token: &str,
    invitation: &invitations::OpenInvitation,
    has_account: bool,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"notice notice--error\" role=\"alert\" data-testid=\"invitation-error\">{}</p>", html_escape(e)))
        .unwrap_or_default();
    let fields = if has_account {
        "<p class=\"signin__hint\">You have an account: enter its password to join.</p>\
         <label class=\"field\"><span class=\"field__label\">Password</span>\
         <input class=\"input\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required autofocus></label>\
         <button class=\"btn btn--primary signin__submit\" type=\"submit\">Join and sign in</button>"
            .to_string()
    } else {
        format!(
            "<label class=\"field\"><span class=\"field__label\">Your name</span>\
             <input class=\"input\" type=\"text\" name=\"name\" autocomplete=\"name\" required autofocus maxlength=\"80\"></label>\
             <label class=\"field\"><span class=\"field__label\">Choose a password</span>\
             <input class=\"input\" type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{}\"></label>\
             <p class=\"small muted\">At least {} characters.</p>\
             <button class=\"btn btn--primary signin__submit\" type=\"submit\">Create account and join</button>",
            accounts::MIN_PASSWORD_CHARS,
            accounts::MIN_PASSWORD_CHARS
        )
    };
    let inner = format!(
        "<h1 class=\"signin__title\">Join {workspace}</h1>\
         <p class=\"signin__hint\">You were invited as <strong>{email}</strong>, {role}.</p>{error}\
         <form class=\"signin__form\" method=\"post\" action=\"/invite/{token}\">{fields}</form>",
        workspace = html_escape(&invitation.workspace_name),
        email = html_escape(&invitation.email),
        role = if invitation.role == Role::Admin { "an admin" } else { "a member" },
        token = html_escape(token),
    );
    invite_page(site, status, &inner)
}

async fn invitation_page(
    State(s): State<ApiState>,
    site: Assets,
    Path(token): Path<String>,
) -> Response {
    let found = invitations::find_open(&s.pool, &tokens::hash(&token), s.clock.now_ms()).await;
    let invitation = match found {
        Ok(Some(i)) => i,
        Ok(None) => return invalid_link(&site),
        Err(e) => return unavailable(e),
    };
    let has_account = match people::credentials(&s.pool, &invitation.email).await {
        Ok(c) => c.is_some(),
        Err(e) => return unavailable(e),
    };
    invitation_form(&site, StatusCode::OK, &token, &invitation, has_account, None)
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn accept(
    State(s): State<ApiState>,
    site: Assets,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let now = s.clock.now_ms();
    let invitation = match invitations::find_open(&s.pool, &tokens::hash(&token), now).await {
        Ok(Some(i)) => i,
        Ok(None) => return invalid_link(&site),
        Err(e) => return unavailable(e),
    };
    let existing = match people::credentials(&s.pool, &invitation.email).await {
        Ok(c) => c,
        Err(e) => return unavailable(e),
    };
    let refused = |has_account: bool, why: &str| {
        invitation_form(
            &site,
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &invitation,
            has_account,
            Some(why),
        )
    };
    let user_id = match existing {
        Some(c) => {
            if s.throttle.wait(&invitation.email).is_some() {
                tracing::warn!("an invitation's password was refused unchecked: too many failed tries for the email");
                return refused(true, super::auth::TOO_MANY_TRIES);
            }
            if !accounts::verify_password(form.password, c.password_hash).await {
                s.throttle.failed(&invitation.email);
                return refused(true, "That is not the password of this account.");
            }
            s.throttle.succeeded(&invitation.email);
            c.user_id
        }
        None => {
            let name = form.name.trim();
            if name.is_empty() {
                return refused(false, "Enter your name.");
            }
            if let Err(why) = accounts::check_new_password(&form.password) {
                return refused(false, &why);
            }
            let hash = accounts::hash_password(form.password).await;
            match people::upsert_user(&s.pool, &invitation.email, name, &hash, now).await {
                Ok((id, _)) => id,
                Err(e) => return unavailable(e),
            }
        }
    };
    match invitations::accept(&s.pool, &invitation, user_id, now).await {
        Ok(true) => {}
        Ok(false) => return invalid_link(&site),
        Err(e) => return unavailable(e),
    }
    let actor = Actor::Person { user_id, email: &invitation.email };
    let detail = format!("{} ({})", invitation.email, invitation.role.label());
    if let Err(e) = trail::record(
        &s.pool,
        &invitation.workspace,
        now,
        actor,
        AuditAction::MemberJoined,
        &detail,
    )
    .await
    {
        tracing::error!(error = %e, "the audit trail could not be written");
    }
    if let Err(e) = start_session(&session, user_id).await {
        return unavailable(e);
    }
    // Into the workspace they joined (they may have others).
    see_other(&in_workspace(invitation.workspace.as_str(), super::auth::HOME))
}
