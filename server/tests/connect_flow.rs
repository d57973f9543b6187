//! A Salesforce org configured by environment with only its connected app (login URL, client id
//! and secret, no refresh token), as a new customer starts: the `server` binary starts
//! disconnected and syncs nothing; Connect runs the OAuth web-server flow through the org's
//! consent page; the connection card then names the integration user (from Salesforce's
//! userinfo), syncing starts, and a restart keeps the connection with the refresh token Connect
//! saved.

use serde_json::Value;
use server::fake_org::{self, FakeOrg, OrgConfig};
use std::path::Path;
use std::time::Duration;

mod common;
use common::{org_env, sign_in_jar, wait_for, ServerProcess, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The server with only `org`'s connected app in its environment: no refresh token.
async fn start(org: &FakeOrg, db: &Path, dir: &Path) -> ServerProcess {
    let mut env = org_env(org);
    env.push(("SYNC_INTERVAL_SECS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(db, dir, &[], &env).await
}

/// `url`'s JSON, read as the first admin.
async fn json(server: &ServerProcess, url: String) -> Value {
    server.signed_in().await.get(url).send().await.unwrap().json().await.unwrap()
}

async fn completed_runs(server: &ServerProcess) -> usize {
    let body = json(server, format!("{}/api/runs?status=completed", server.base)).await;
    body["runs"].as_array().map_or(0, Vec::len)
}

fn location(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string()
}

/// Connect as a person would: the server's Connect, the org's consent page, Allow, the callback.
async fn connect_through_the_consent_page(server: &ServerProcess) {
    consent(server, true).await;
}

/// The server's Connect, the org's consent page and Allow; the callback's answer. `checked`: also
/// that it connected, cleared the state cookie and refuses the same answer again.
async fn consent(server: &ServerProcess, checked: bool) -> reqwest::Response {
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    let (http, jar) = sign_in_jar(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, no_redirects).await;
    let go = http
        .get(format!("{}/w/acme/settings/crm/salesforce/connect", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(go.status(), 303);
    let state_cookie = go.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let authorize = reqwest::Url::parse(&location(&go)).unwrap();
    let param = |name: &str| {
        authorize.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
    };
    let consent = http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(consent.status(), 200);
    assert!(consent.text().await.unwrap().contains("Allow Access?"));
    let mut answer_url = authorize.clone();
    answer_url.set_query(None);
    let answer = http
        .post(answer_url)
        .form(&[
            ("client_id", param("client_id")),
            ("redirect_uri", param("redirect_uri")),
            ("state", param("state")),
            // The consent form carries PKCE's challenge on (RFC 7636, S256: 43 characters).
            ("code_challenge", param("code_challenge")),
            ("decision", "allow".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    assert_eq!(param("code_challenge").len(), 43);
    // The session's cookie beside the flow's, as the browser sends them.
    let cookies = |url: &str| {
        use reqwest::cookie::CookieStore;
        let session = jar.cookies(&reqwest::Url::parse(url).unwrap()).unwrap();
        format!("{}; {state_cookie}", session.to_str().unwrap())
    };
    let back = http
        .get(location(&answer))
        .header(reqwest::header::COOKIE, cookies(&location(&answer)))
        .send()
        .await
        .unwrap();
    if !checked {
        return back;
    }
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), "/w/acme/settings/crm");
    let cleared = back.headers().get_all(reqwest::header::SET_COOKIE);
    assert!(
        cleared.iter().any(|c| c.to_str().unwrap().starts_with("sf_oauth_state=;")),
        "the callback clears the state cookie"
    );
    // The same answer again (a replayed or leaked callback address): the state is spent.
    let replay = http
        .get(location(&answer))
        .header(reqwest::header::COOKIE, cookies(&location(&answer)))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("does not belong to a Connect"));
    back
}

#[tokio::test]
async fn without_a_refresh_token_connect_runs_the_oauth_flow_and_the_connection_survives_a_restart()
{
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sync.db");
    let org = fake_org::bind(
        "127.0.0.1:0".parse().unwrap(),
        OrgConfig { records: 300, ..OrgConfig::default() },
    )
    .await
    .unwrap();

    let server = start(&org, &db, dir.path()).await;
    let conn = json(&server, format!("{}/api/connection", server.base)).await;
    assert_eq!(conn["connection"]["state"], "disconnected", "{conn}");
    // Absence cannot be waited for: three schedule intervals pass, and nothing may have run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        json(&server, format!("{}/api/runs", server.base)).await["runs"].as_array().unwrap().len(),
        0
    );

    connect_through_the_consent_page(&server).await;
    let conn = json(&server, format!("{}/api/connection", server.base)).await;
    assert_eq!(conn["connection"]["state"], "connected", "{conn}");
    assert_eq!(
        conn["connection"]["username"].as_str(),
        Some(org.credentials().username.as_str()),
        "from userinfo"
    );
    assert!(
        !conn.to_string().contains(&org.credentials().refresh_token),
        "tokens never leave the server"
    );
    let synced =
        wait_for(Duration::from_secs(60), || async { completed_runs(&server).await > 0 }).await;
    assert!(synced, "the backfill runs after Connect");
    drop(server);
    // The refresh token Connect got is in the database sealed, never as itself, and the key that
    // sealed it is in a private file beside the database, not in it.
    let raw = std::fs::read(&db).unwrap();
    let wal = std::fs::read(dir.path().join("sync.db-wal")).unwrap_or_default();
    let token = org.credentials().refresh_token.clone();
    let holds = |bytes: &[u8]| bytes.windows(token.len()).any(|w| w == token.as_bytes());
    assert!(!holds(&raw) && !holds(&wal), "the refresh token is stored sealed");
    assert!(dir.path().join("sync.db.keys").exists());

    // Restarted with the same environment (still no refresh token): the saved one is used.
    let server = start(&org, &db, dir.path()).await;
    let conn = json(&server, format!("{}/api/connection", server.base)).await;
    assert_eq!(conn["connection"]["state"], "connected", "{conn}");
    // A company made in Conversion is pushed: the saved refresh token works.
    let http = server.signed_in().await;
    let made = http
        .post(format!("{}/api/conversion/companies", server.base))
        .json(&serde_json::json!({ "name": "Restarted Ltd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let pushed = wait_for(Duration::from_secs(60), || async {
        let body = json(
            &server,
            format!("{}/api/runs?direction=outbound&object=company&status=completed", server.base),
        )
        .await;
        body["runs"].as_array().unwrap().iter().any(|r| r["counts"]["created"] == 1)
    })
    .await;
    assert!(pushed, "a push after the restart completes with the saved refresh token");
}

/// A Reconnect that signs in to another org than the connected one changes nothing until the
/// person confirms the switch, with both orgs named; keeping the connected org leaves it as it was.
#[tokio::test]
async fn a_reconnect_to_another_org_asks_before_it_switches() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sync.db");
    let org = fake_org::bind(
        "127.0.0.1:0".parse().unwrap(),
        OrgConfig { records: 50, ..OrgConfig::default() },
    )
    .await
    .unwrap();
    let server = start(&org, &db, dir.path()).await;
    connect_through_the_consent_page(&server).await;
    // The workspace is connected to another org (the local org serves one, so its address is
    // changed in the database).
    let elsewhere = "https://acme.my.salesforce.com";
    let pool = common::outcomes::observe(&db).await;
    app::on_db!(&pool, |p| {
        sqlx::query("UPDATE sync_connection SET instance_url = $1")
            .bind(elsewhere)
            .execute(p)
            .await
            .unwrap();
    });
    let connected_to = || async {
        json(&server, format!("{}/api/connection", server.base)).await["connection"]["instance_url"]
            .as_str()
            .map(str::to_string)
    };
    let this_org = org.credentials().instance_url.clone();
    let http = server
        .signed_in_with(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()))
        .await;
    let answer = |key: String, decision: &'static str| {
        let http = http.clone();
        let url = format!("{}/w/acme/settings/crm/salesforce/switch", server.base);
        let origin = server.base.clone();
        async move {
            http.post(url)
                .header(reqwest::header::ORIGIN, origin)
                .form(&[("key", key.as_str()), ("decision", decision)])
                .send()
                .await
                .unwrap()
        }
    };
    let question = |body: String| {
        assert!(body.contains("This is a different Salesforce org"), "{body}");
        assert!(body.contains(elsewhere) && body.contains(&this_org), "both orgs are named");
        let from = body.find("name=\"key\" value=\"").unwrap() + "name=\"key\" value=\"".len();
        body[from..].split('"').next().unwrap().to_string()
    };

    // Asked, then kept: nothing changed.
    let back = consent(&server, false).await;
    assert_eq!(back.status(), 200);
    let key = question(back.text().await.unwrap());
    assert_eq!(
        connected_to().await.as_deref(),
        Some(elsewhere),
        "nothing changes before the answer"
    );
    let kept = answer(key.clone(), "keep").await;
    assert_eq!(kept.status(), 303);
    assert_eq!(connected_to().await.as_deref(), Some(elsewhere));
    assert_eq!(answer(key, "switch").await.status(), 400, "an answer is used once");

    // Asked again, then switched.
    let key = question(consent(&server, false).await.text().await.unwrap());
    let switched = answer(key, "switch").await;
    assert_eq!(switched.status(), 303);
    assert_eq!(connected_to().await.as_deref(), Some(this_org.as_str()));
}
