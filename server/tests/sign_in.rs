//! Signing in and out over the wire, against the app assembled in-process: who gets through, where
//! a sign-in lands, what a session is worth after sign-out or another sign-in, and what a member
//! (not an admin) may change.

use app::domain::access::Role;
use reqwest::header::{LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use reqwest::StatusCode;

mod common;
use common::{browser, sign_in, without_redirects, ADMIN_EMAIL, ADMIN_PASSWORD};

const MEMBER_EMAIL: &str = "member@example.com";
const MEMBER_PASSWORD: &str = "a member's own password";

/// The app without the engine, served on its own port, with a member beside the first admin.
async fn serve() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let served = common::InProcess::start().await;
    served.add_user(MEMBER_EMAIL, "Mia Member", Role::Member, MEMBER_PASSWORD).await;
    (served.base, served.stop, served.dir)
}

fn no_redirects(base: &str) -> reqwest::Client {
    browser(base).build().unwrap()
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()[LOCATION].to_str().unwrap()
}

/// The session cookie an answer sets (`name=value`), if any.
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("conversion_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

async fn post_sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    http.post(format!("{base}/sign-in"))
        .form(&[("email", email), ("password", password), ("next", next)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_out_pages_go_to_sign_in_and_come_back_and_the_api_answers_401() {
    let (base, _stop, _dir) = serve().await;
    let http = no_redirects(&base);

    // A pasted deep link, signed out: to the sign-in page, which knows where to come back to.
    let deep =
        "/settings/crm/sync-activity/runs/0192d5a8-0000-7000-8000-000000000001?status=failed";
    let r = http.get(format!("{base}{deep}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = location(&r).to_string();
    assert!(to.starts_with("/sign-in?next=%2F") || to.starts_with("/sign-in?next=/"), "{to}");
    let page = http.get(format!("{base}{to}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in") && html.contains("name=\"password\""), "the sign-in form");
    assert!(
        html.contains("runs/0192d5a8-0000-7000-8000-000000000001?status=failed"),
        "next is kept in the form"
    );

    // Signed in from there: lands on the page asked for.
    let r = post_sign_in(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD, deep).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), deep);
    assert!(session_cookie(&r).is_some(), "a session cookie");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_ascii_lowercase();
    assert!(cookie.contains("httponly") && cookie.contains("samesite=lax"), "{cookie}");

    // The API, signed out: 401 in JSON, saying how to sign in; so is every server function.
    for path in ["/api/runs", "/api/health", "/api/connection", "/api/sync/status", "/api/run?id=x"]
    {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.headers().contains_key(WWW_AUTHENTICATE), "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "Sign in to Conversion first.", "{path}");
    }
    // What needs nobody signed in: the liveness check (the site's files: site_on_the_wire.rs).
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_refused_alike_and_next_stays_on_this_site() {
    let (base, _stop, _dir) = serve().await;
    let http = no_redirects(&base);
    for (email, password) in
        [(ADMIN_EMAIL, "not the password"), ("nobody@example.com", ADMIN_PASSWORD)]
    {
        let r = post_sign_in(&http, &base, email, password, "/settings/crm/sync-activity").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            location(&r),
            "/sign-in?error=invalid&next=/settings/crm/sync-activity",
            "{email}"
        );
        assert!(session_cookie(&r).is_none(), "no session for a refused sign-in");
    }
    let page = http.get(format!("{base}/sign-in?error=invalid")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("do not match an account"));

    // Email without regard to case; a `next` elsewhere is dropped for the Overview.
    for next in ["https://evil.example/", "//evil.example/x", "/\\evil.example"] {
        let r = post_sign_in(&http, &base, "ADMIN@Example.com", ADMIN_PASSWORD, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/", "{next}");
    }
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_is_worth_nothing_after_sign_out() {
    let (base, _stop, _dir) = serve().await;
    let http = no_redirects(&base);
    let runs = |cookie: String| {
        let (http, url) = (http.clone(), format!("{base}/api/runs"));
        async move { http.get(url).header("cookie", cookie).send().await.unwrap().status() }
    };
    let first = session_cookie(&post_sign_in(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD, "/").await)
        .unwrap();
    assert_eq!(runs(first.clone()).await, StatusCode::OK);
    // The session cookie alone, lifted into a script (no Origin, no token), makes no change.
    let lifted = without_redirects()
        .build()
        .unwrap()
        .post(format!("{base}/api/conversion/companies"))
        .header("cookie", &first)
        .json(&serde_json::json!({ "name": "From a script" }))
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), StatusCode::FORBIDDEN);
    assert!(lifted.text().await.unwrap().contains("needs an API token"));

    // Signing in again in the same browser: a new id, and the old one no longer opens anything.
    let again = http
        .post(format!("{base}/sign-in"))
        .header("cookie", &first)
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let second = session_cookie(&again).unwrap();
    assert_ne!(first, second, "rotated at sign-in");
    assert_eq!(runs(first).await, StatusCode::UNAUTHORIZED, "the old id is gone");
    assert_eq!(runs(second.clone()).await, StatusCode::OK);

    // A session id made up by someone else is nobody's.
    assert_eq!(
        runs("conversion_session=AAAAAAAAAAAAAAAAAAAAAA".into()).await,
        StatusCode::UNAUTHORIZED
    );

    // Signing out ends it in the database: replaying the cookie opens nothing.
    let out = http.post(format!("{base}/sign-out")).header("cookie", &second).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&out), "/sign-in?signed_out=1");
    assert_eq!(runs(second).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_member_reads_everything_and_changes_nothing_an_admin_owns() {
    let (base, _stop, _dir) = serve().await;
    let member = sign_in(&base, MEMBER_EMAIL, MEMBER_PASSWORD, without_redirects()).await;
    for path in [
        "/api/runs",
        "/api/health",
        "/api/connection",
        "/api/sync/settings",
        "/w/acme/api/runs",
        "/w/acme/settings/crm",
        "/w/acme/settings/crm/sync-activity",
    ] {
        let r = member.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let overview = member
        .get(format!("{base}/w/acme/settings/crm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        overview.contains("Mia Member") && overview.contains("Member"),
        "the product bar names who is signed in"
    );

    let forbidden = [
        member
            .put(format!("{base}/api/sync/settings"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap(),
        member.post(format!("{base}/api/sync/now")).send().await.unwrap(),
        member
            .post(format!("{base}/api/conversion/companies"))
            .json(&serde_json::json!({ "name": "X" }))
            .send()
            .await
            .unwrap(),
        member
            .post(format!("{base}/api/settings/save"))
            .form(&[("interval_secs", "60")])
            .send()
            .await
            .unwrap(),
        member.get(format!("{base}/w/acme/settings/crm/salesforce/connect")).send().await.unwrap(),
        member
            .post(format!("{base}/w/acme/settings/crm/salesforce/disconnect"))
            .send()
            .await
            .unwrap(),
    ];
    for r in forbidden {
        let url = r.url().to_string();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
        assert!(r.text().await.unwrap().contains("Only workspace admins"), "{url}");
    }

    // The same changes as the admin get past the role check (the server runs without an engine,
    // so what they then answer is the engine's absence, not a refusal).
    let admin = sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let made = admin
        .post(format!("{base}/api/conversion/companies"))
        .json(&serde_json::json!({ "name": "Admin Co" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_email_with_too_many_failed_tries_is_refused_unchecked_for_a_while() {
    let (base, _stop, _dir) = serve().await;
    let http = no_redirects(&base);
    for _ in 0..server::http::auth::MAX_FAILURES {
        let r = post_sign_in(&http, &base, MEMBER_EMAIL, "a guess", "/").await;
        assert!(location(&r).starts_with("/sign-in?error=invalid"), "{}", location(&r));
    }
    // Now even the right password is not checked: the tries are used up (any case of the email).
    let r = post_sign_in(&http, &base, "Member@Example.com", MEMBER_PASSWORD, "/").await;
    assert!(location(&r).starts_with("/sign-in?error=throttled"), "{}", location(&r));
    assert!(session_cookie(&r).is_none());
    let page = http.get(format!("{base}/sign-in?error=throttled")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Too many failed sign-ins"));
    // Another account is not held up by it.
    let r = post_sign_in(&http, &base, ADMIN_EMAIL, ADMIN_PASSWORD, "/settings/crm").await;
    assert_eq!(location(&r), "/settings/crm");
}

#[tokio::test]
async fn an_admins_changes_are_in_the_audit_trail_which_only_admins_see() {
    let (base, _stop, _dir) = serve().await;
    let admin = sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder()).await;
    let saved = admin
        .put(format!("{base}/api/sync/settings"))
        .json(&serde_json::json!({ "interval_secs": 300, "excluded_domains": ["example.org"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    // The same settings again change nothing, and add nothing to the trail.
    let again = admin
        .put(format!("{base}/api/sync/settings"))
        .json(&serde_json::json!({ "interval_secs": 300, "excluded_domains": ["example.org"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);

    let seen: serde_json::Value =
        admin.get(format!("{base}/api/connection")).send().await.unwrap().json().await.unwrap();
    let trail = seen["audit"].as_array().expect("an admin sees the trail");
    let actions: Vec<&str> = trail.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Newest first: the settings, then the member added by `server adduser`, then the first
    // admin made at start.
    assert_eq!(actions, ["settings_changed", "member_added", "member_added"], "{seen}");
    assert_eq!(trail[0]["actor"], ADMIN_EMAIL);
    assert_eq!(trail[0]["detail"], "Inbound schedule, Excluded email domains");
    assert_eq!(trail[1]["actor"], "server adduser");
    assert_eq!(trail[1]["detail"], "member@example.com (Member)");
    let overview = admin
        .get(format!("{base}/w/acme/settings/crm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("Audit trail") && overview.contains("changed the sync settings"));

    let member = sign_in(&base, MEMBER_EMAIL, MEMBER_PASSWORD, reqwest::Client::builder()).await;
    let theirs: serde_json::Value =
        member.get(format!("{base}/api/connection")).send().await.unwrap().json().await.unwrap();
    assert!(theirs["audit"].is_null(), "{theirs}");
    let overview = member
        .get(format!("{base}/w/acme/settings/crm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!overview.contains("Audit trail"));
    assert!(overview.contains("Only workspace admins can change the sync settings."));
}

/// Makes a token through the Overview's form as `admin`; the token the page shows once.
async fn make_token(admin: &reqwest::Client, base: &str, name: &str, access: &str) -> String {
    let page = admin
        .post(format!("{base}/w/acme/settings/crm/api-tokens"))
        .form(&[("name", name), ("access", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CREATED);
    let html = page.text().await.unwrap();
    let from =
        html.find("data-testid=\"new-token\">").unwrap() + "data-testid=\"new-token\">".len();
    html[from..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn api_tokens_read_or_write_as_made_and_stop_when_revoked() {
    let (base, _stop, _dir) = serve().await;
    let admin = sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let reader = make_token(&admin, &base, "Nightly export", "read").await;
    let writer = make_token(&admin, &base, "Provisioning", "read_write").await;
    assert!(reader.starts_with("cvs_") && reader.len() > 40, "{reader}");
    let bare = no_redirects(&base);
    let with = |token: &str, r: reqwest::RequestBuilder| {
        r.header("authorization", format!("Bearer {token}"))
    };

    // Read: the API's reads, and nothing an admin owns.
    let runs = with(&reader, bare.get(format!("{base}/api/runs"))).send().await.unwrap();
    assert_eq!(runs.status(), StatusCode::OK);
    let put = |token: String| {
        let (http, url) = (bare.clone(), format!("{base}/api/sync/settings"));
        async move {
            http.put(url)
                .header("authorization", format!("Bearer {token}"))
                .json(&serde_json::json!({ "interval_secs": 300 }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(put(reader.clone()).await, StatusCode::FORBIDDEN);
    // Read and write: an admin's changes too, in the trail under the token's name.
    assert_eq!(put(writer.clone()).await, StatusCode::OK);
    // But no token makes or lists tokens.
    let listed = with(&writer, bare.get(format!("{base}/api/tokens"))).send().await.unwrap();
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);

    // The admin's list names the tokens by their first characters, never the tokens.
    let list: serde_json::Value =
        admin.get(format!("{base}/api/tokens")).send().await.unwrap().json().await.unwrap();
    let text = list.to_string();
    assert!(!text.contains(&reader) && !text.contains(&writer), "{text}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    let reader_id =
        list.as_array().unwrap().iter().find(|t| t["name"] == "Nightly export").unwrap()["id"]
            .as_i64()
            .unwrap();
    assert!(list[0]["last_used_at"].is_i64(), "a use is noted: {list}");

    // Revoked: the token opens nothing, at once.
    let revoked = admin
        .post(format!("{base}/w/acme/settings/crm/api-tokens/{reader_id}/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let after = with(&reader, bare.get(format!("{base}/api/runs"))).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    let again = admin
        .post(format!("{base}/w/acme/settings/crm/api-tokens/{reader_id}/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    // A proxy's Basic in front of the server is not a token: the session still decides.
    let behind_proxy = admin
        .get(format!("{base}/api/runs"))
        .header("authorization", "Basic YWRtaW46cGFzcw==")
        .send()
        .await
        .unwrap();
    assert_eq!(behind_proxy.status(), StatusCode::OK);
    // A made-up token opens nothing; another scheme without a session opens nothing either.
    for authorization in ["Bearer cvs_made_up", "Basic YWRtaW46cGFzcw=="] {
        let r = bare
            .get(format!("{base}/api/runs"))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{authorization}");
    }

    let seen: serde_json::Value =
        admin.get(format!("{base}/api/connection")).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> =
        seen["audit"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        &actions[..4],
        ["token_revoked", "settings_changed", "token_created", "token_created"],
        "{seen}"
    );
    assert!(seen["audit"][1]["actor"].as_str().unwrap().contains("Provisioning"), "{seen}");

    // A member makes no tokens.
    let member = sign_in(&base, MEMBER_EMAIL, MEMBER_PASSWORD, without_redirects()).await;
    let refused = member
        .post(format!("{base}/w/acme/settings/crm/api-tokens"))
        .form(&[("name", "Mine"), ("access", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
