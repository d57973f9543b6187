//! The limits that stop a flood, over the wire: changes per person and per API token (429 with
//! `Retry-After`, the change not made, reads unaffected), and the password tries an invitation
//! for an existing account shares with the sign-in page.

use app::domain::access::Role;
use reqwest::header::{LOCATION, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::json;

mod common;
use common::{browser, sign_in, without_redirects, InProcess, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Changes each person (in a workspace) and each token may make a minute in these tests.
const LIMIT: usize = 4;

async fn contacts_in(app: &InProcess) -> i64 {
    app::on_db!(&app.pool, |p| sqlx::query_scalar("SELECT COUNT(*) FROM conversion_contacts")
        .fetch_one(p)
        .await
        .unwrap())
}

async fn create_contact(http: &reqwest::Client, base: &str, n: usize) -> reqwest::Response {
    http.post(format!("{base}/w/acme/api/conversion/contacts"))
        .json(&json!({ "email": format!("flood{n}@example.com"), "last_name": "Flood" }))
        .send()
        .await
        .unwrap()
}

async fn make_token(admin: &reqwest::Client, base: &str) -> String {
    let page = admin
        .post(format!("{base}/w/acme/settings/crm/api-tokens"))
        .form(&[("name", "Provisioning"), ("access", "read_write")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CREATED);
    let html = page.text().await.unwrap();
    let marker = "data-testid=\"new-token\">";
    let from = html.find(marker).unwrap() + marker.len();
    html[from..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn changes_past_a_minutes_allowance_are_refused_and_not_made() {
    let limit = LIMIT.to_string();
    let app = InProcess::start_with(&["--change-limit-per-minute", &limit]).await;
    let base = &app.base;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    // Making the token is the admin's first change.
    let token = make_token(&admin, base).await;
    for n in 1..LIMIT {
        assert_eq!(create_contact(&admin, base, n).await.status(), StatusCode::CREATED);
    }
    let before = contacts_in(&app).await;

    // Over the allowance: 429, a sentence and when to come back, and nothing saved.
    let refused = create_contact(&admin, base, 99).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = refused.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.starts_with("Too many changes: each person may make 4 a minute"), "{message}");
    assert_eq!(contacts_in(&app).await, before, "the refused change was not made");

    // A form post is refused the same way, as a page.
    let form = admin
        .post(format!("{base}/w/acme/settings/users/invitations"))
        .form(&[("email", "x@acme.com"), ("role", "member")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(form.headers().contains_key(RETRY_AFTER));
    let html = form.text().await.unwrap();
    assert!(html.contains("<h1>Too many changes</h1>"), "{html}");
    assert!(html.contains("href=\"/w/acme/settings/crm\""), "the way back is into the workspace");

    // Reads are not changes.
    let runs = admin.get(format!("{base}/w/acme/api/runs")).send().await.unwrap();
    assert_eq!(runs.status(), StatusCode::OK);

    // The token, though made by the same admin, has an allowance of its own ...
    let script = reqwest::Client::new();
    for n in 100..100 + LIMIT {
        let r = script
            .post(format!("{base}/w/acme/api/conversion/contacts"))
            .bearer_auth(&token)
            .json(&json!({ "email": format!("script{n}@example.com") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{n}");
    }
    // ... and is held to it.
    let r = script
        .post(format!("{base}/w/acme/api/conversion/contacts"))
        .bearer_auth(&token)
        .json(&json!({ "email": "script-over@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("an API token may make 4 a minute"));

    // Another person is not held up by either.
    app.add_user("sam@acme.com", "Sam", Role::Admin, "sam's own password").await;
    let sam = sign_in(base, "sam@acme.com", "sam's own password", without_redirects()).await;
    assert_eq!(create_contact(&sam, base, 200).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_minute_later_the_allowance_is_back() {
    // 60 a minute: one more change each second once the burst is spent.
    let app = InProcess::start_with(&["--change-limit-per-minute", "60"]).await;
    let base = &app.base;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let mut n = 0;
    let wait = loop {
        n += 1;
        let r = create_contact(&admin, base, n).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            break r.headers()[RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap();
        }
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(n <= 60, "the allowance has an end");
    };
    assert_eq!(n, 61, "a minute's allowance at once");
    assert_eq!(wait, 1);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(create_contact(&admin, base, 1_000).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_invitations_password_tries_count_with_the_sign_in_pages() {
    let app = InProcess::start().await;
    let base = &app.base;
    app.add_user("sam@acme.com", "Sam", Role::Member, "sam's own password").await;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let page = admin
        .post(format!("{base}/w/acme/settings/users/invitations"))
        .form(&[("email", "sam@acme.com"), ("role", "admin")])
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let marker = "data-testid=\"invitation-link\">";
    let from = html.find(marker).unwrap() + marker.len();
    let link = html[from..].split('<').next().unwrap().to_string();

    let guest = browser(base).build().unwrap();
    let try_link = |password: &'static str| {
        let (guest, link) = (guest.clone(), link.clone());
        async move { guest.post(&link).form(&[("password", password)]).send().await.unwrap() }
    };
    for _ in 0..server::http::auth::MAX_FAILURES {
        let r = try_link("a guess").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("That is not the password of this account."));
    }
    // The tries are used up: the right password is not even checked, here ...
    let r = try_link("sam's own password").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(server::http::auth::TOO_MANY_TRIES), "{html}");
    // ... nor on the sign-in page.
    let r = guest
        .post(format!("{base}/sign-in"))
        .form(&[("email", "sam@acme.com"), ("password", "sam's own password"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert!(r.headers()[LOCATION].to_str().unwrap().starts_with("/sign-in?error=throttled"));
    // The invitation is still open for when the wait is over.
    let listed: serde_json::Value =
        admin.get(format!("{base}/w/acme/api/members")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["invitations"][0]["email"], "sam@acme.com", "{listed}");
}
