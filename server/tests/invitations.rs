//! Users & permissions over the wire: an admin invites by email, the link works once and for a
//! week, it creates an account or adds an existing one, and an admin removes members (never the
//! last admin), after which their session opens nothing.

use app::domain::access::Role;
use reqwest::header::LOCATION;
use reqwest::StatusCode;

mod common;
use common::{browser, sign_in, without_redirects, InProcess, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Invites `email` as `role` through the form as `admin`: the link the page shows once.
async fn invite(admin: &reqwest::Client, base: &str, email: &str, role: &str) -> String {
    let page = admin
        .post(format!("{base}/w/acme/settings/users/invitations"))
        .form(&[("email", email), ("role", role)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::CREATED);
    let html = page.text().await.unwrap();
    let marker = "data-testid=\"invitation-link\">";
    let from = html.find(marker).unwrap() + marker.len();
    html[from..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn an_invitation_makes_an_account_once_and_signs_the_new_member_in() {
    let app = InProcess::start().await;
    let base = &app.base;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let link = invite(&admin, base, "jane@acme.com", "member").await;
    assert!(link.starts_with(&format!("{base}/invite/cvs_")), "{link}");

    // The admin sees it waiting; the page never shows the link again.
    let listed: serde_json::Value =
        admin.get(format!("{base}/api/members")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["invitations"][0]["email"], "jane@acme.com", "{listed}");
    assert!(!listed.to_string().contains(link.rsplit('/').next().unwrap()));

    // Opened signed out: the form for a new account, naming the workspace and the role.
    let invitee = browser(base).cookie_store(true).build().unwrap();
    let form = invitee.get(&link).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        html.contains("Join Acme Inc.")
            && html.contains("jane@acme.com")
            && html.contains("a member"),
        "{html}"
    );
    assert!(html.contains("Choose a password"));

    // A password too short is refused with the reason, and the link still works.
    let short = invitee
        .post(&link)
        .form(&[("name", "Jane Doe"), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("at least 10 characters"));
    let joined = invitee
        .post(&link)
        .form(&[("name", "Jane Doe"), ("password", "jane's long password")])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(joined.headers()[LOCATION], "/w/acme/settings/crm");
    // Signed in at once, as a member.
    let me = invitee
        .get(format!("{base}/w/acme/settings/users"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        me.contains("Jane Doe") && me.contains("jane@acme.com \u{b7} Member"),
        "the product bar"
    );
    assert!(me.contains("Only workspace admins can invite or remove people."));

    // Used once: the same link now opens nothing, and signs nobody in.
    let again = browser(base).build().unwrap().get(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(again.text().await.unwrap().contains("This invitation cannot be used"));
    // Her own password signs her in from now on.
    sign_in(base, "jane@acme.com", "jane's long password", without_redirects()).await;

    let trail: serde_json::Value =
        admin.get(format!("{base}/api/connection")).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> =
        trail["audit"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(&actions[..2], ["member_joined", "member_invited"], "{trail}");
}

#[tokio::test]
async fn an_existing_account_joins_with_its_own_password_and_withdrawn_links_open_nothing() {
    let app = InProcess::start().await;
    let base = &app.base;
    app.add_user("sam@acme.com", "Sam", Role::Member, "sam's own password").await;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;

    // Sam is a member; invited as an admin, the link asks for his password, not a new one.
    let link = invite(&admin, base, "SAM@acme.com", "admin").await;
    let html =
        browser(base).build().unwrap().get(&link).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("You have an account") && !html.contains("Choose a password"), "{html}");
    let wrong = browser(base)
        .build()
        .unwrap()
        .post(&link)
        .form(&[("password", "a guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ok = browser(base)
        .build()
        .unwrap()
        .post(&link)
        .form(&[("password", "sam's own password")])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let sam = sign_in(base, "sam@acme.com", "sam's own password", without_redirects()).await;
    let members: serde_json::Value =
        sam.get(format!("{base}/api/members")).send().await.unwrap().json().await.unwrap();
    assert_eq!(members["can_change"], true, "Sam is an admin now: {members}");

    // A withdrawn invitation, and a made-up link, open nothing.
    let link = invite(&admin, base, "lee@acme.com", "member").await;
    let listed: serde_json::Value =
        admin.get(format!("{base}/api/members")).send().await.unwrap().json().await.unwrap();
    let id = listed["invitations"][0]["id"].as_i64().unwrap();
    let withdrawn = admin
        .post(format!("{base}/w/acme/settings/users/invitations/{id}/revoke"))
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    for dead in [link, format!("{base}/invite/cvs_made_up")] {
        assert_eq!(
            browser(base).build().unwrap().get(&dead).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
        let post = browser(base)
            .build()
            .unwrap()
            .post(&dead)
            .form(&[("name", "Lee"), ("password", "lee's long password")])
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::NOT_FOUND);
    }
    // A member cannot invite.
    app.add_user("mo@acme.com", "Mo", Role::Member, "mo's own password").await;
    let mo = sign_in(base, "mo@acme.com", "mo's own password", without_redirects()).await;
    let refused = mo
        .post(format!("{base}/w/acme/settings/users/invitations"))
        .form(&[("email", "x@acme.com"), ("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_removed_member_is_signed_out_and_the_last_admin_stays() {
    let app = InProcess::start().await;
    let base = &app.base;
    app.add_user("mo@acme.com", "Mo", Role::Member, "mo's own password").await;
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, without_redirects()).await;
    let mo = sign_in(base, "mo@acme.com", "mo's own password", without_redirects()).await;
    assert_eq!(mo.get(format!("{base}/api/runs")).send().await.unwrap().status(), StatusCode::OK);

    let members: serde_json::Value =
        admin.get(format!("{base}/api/members")).send().await.unwrap().json().await.unwrap();
    let id_of = |email: &str| {
        members["members"].as_array().unwrap().iter().find(|m| m["email"] == email).unwrap()
            ["user_id"]
            .as_i64()
            .unwrap()
    };
    let removed = admin
        .post(format!("{base}/w/acme/settings/users/members/{}/remove", id_of("mo@acme.com")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    // Mo's session opens nothing here any more.
    assert_eq!(
        mo.get(format!("{base}/api/runs")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // The only admin cannot be removed (not even by themself through the form).
    let last = admin
        .post(format!("{base}/w/acme/settings/users/members/{}/remove", id_of(ADMIN_EMAIL)))
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert!(last.text().await.unwrap().contains("A workspace needs an admin"));
}
