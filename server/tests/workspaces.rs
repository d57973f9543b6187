//! Many workspaces on one server: the demo's two (Acme and Globex), each with its own local org
//! and engine, served in-process. Addresses carry the workspace (`/w/{workspace}/…`); another
//! workspace's pages, API and runs answer exactly as unknown ones; old addresses lead a person in
//! one workspace into it; and one workspace's revoked Salesforce token stops only its own sync.

use app::store::WorkspaceId;
use clap::Parser;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use server::fake_org::FaultCommand;
use std::time::Duration;

mod common;
use common::{browser, sign_in, wait_for, without_redirects, ADMIN_EMAIL, ADMIN_PASSWORD};

struct Demo {
    base: String,
    engines: server::sync::Engines,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

/// The demo in-process: two workspaces with small local orgs, a one-second schedule.
async fn demo() -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sync.db");
    let config = Config::try_parse_from([
        "server",
        "--database",
        db.to_str().unwrap(),
        "--demo",
        "--org-records",
        "300",
        "--org-latency-ms",
        "0",
        "--org-activity-per-minute",
        "600",
        "--conversion-changes-per-minute",
        "0",
        "--sync-interval-secs",
        "1",
        "--admin-password",
        ADMIN_PASSWORD,
    ])
    .unwrap();
    let app = server::startup::build(&config).await.unwrap();
    let engines = app.engines.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    Demo { base, engines, stop, served, _dir: dir }
}

async fn json(http: &reqwest::Client, url: &str) -> Value {
    let answer = http.get(url).send().await.unwrap();
    assert!(answer.status().is_success(), "{url}: {}", answer.status());
    answer.json().await.unwrap()
}

/// The ids of the workspace's newest runs.
async fn run_ids(http: &reqwest::Client, base: &str, ws: &str) -> Vec<String> {
    let runs = json(http, &format!("{base}/w/{ws}/api/runs")).await;
    runs["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

/// The answer's status and body, with the page's per-answer nonce (on its scripts) taken out.
async fn status_and_body(http: &reqwest::Client, url: &str) -> (StatusCode, String) {
    let answer = http.get(url).send().await.unwrap();
    let (status, body) = (answer.status(), answer.text().await.unwrap());
    let nonce =
        body.split("nonce=\"").nth(1).and_then(|rest| rest.split('"').next()).map(str::to_string);
    match nonce {
        Some(nonce) if !nonce.is_empty() => (status, body.replace(&nonce, "NONCE")),
        _ => (status, body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_workspace_syncs_on_its_own_and_a_revoked_token_stops_only_its_own() {
    let d = demo().await;
    let admin = sign_in(&d.base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder()).await;

    // Both backfill, each from its own org into its own history.
    for ws in ["acme", "globex"] {
        let synced = wait_for(Duration::from_secs(60), || async {
            let runs = json(&admin, &format!("{}/w/{ws}/api/runs?direction=inbound", d.base)).await;
            runs["runs"].as_array().is_some_and(|r| r.iter().any(|r| r["status"] == "completed"))
        })
        .await;
        assert!(synced, "{ws} completed an inbound run");
    }
    let acme = run_ids(&admin, &d.base, "acme").await;
    let globex = run_ids(&admin, &d.base, "globex").await;
    assert!(acme.iter().all(|id| !globex.contains(id)), "no run is in both workspaces");

    // Globex's org revokes every token: its next run fails with the article's authentication
    // failure and it waits for a Reconnect.
    d.engines
        .local_org(&WorkspaceId("globex".into()), |org| org.apply_fault(FaultCommand::RevokeTokens))
        .expect("globex has a local org");
    let globex_paused = wait_for(Duration::from_secs(30), || async {
        let c = json(&admin, &format!("{}/w/globex/api/connection", d.base)).await;
        c["connection"]["state"] == "reconnect_needed"
    })
    .await;
    assert!(globex_paused, "globex needs reconnecting");
    let acme_state = json(&admin, &format!("{}/w/acme/api/connection", d.base)).await;
    assert_eq!(acme_state["connection"]["state"], "connected", "{acme_state}");

    // Acme's runs keep coming: new completed inbound runs after Globex stopped.
    let newest_before = run_ids(&admin, &d.base, "acme").await.first().cloned().unwrap();
    let more = wait_for(Duration::from_secs(30), || async {
        let runs = json(&admin, &format!("{}/w/acme/api/runs?direction=inbound", d.base)).await;
        runs["runs"].as_array().is_some_and(|r| {
            r.iter().any(|r| {
                r["status"] == "completed" && r["id"].as_str().unwrap() > newest_before.as_str()
            })
        })
    })
    .await;
    assert!(more, "acme kept syncing while globex waits for a reconnect");
    let globex_status = json(&admin, &format!("{}/w/globex/api/sync/status", d.base)).await;
    assert_eq!(globex_status["connection"]["state"], "reconnect_needed", "{globex_status}");

    d.stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), d.served).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "served and stopped: {result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_workspace_answers_as_an_unknown_one_and_old_addresses_lead_into_yours() {
    let d = demo().await;
    let base = d.base.as_str();
    let admin = sign_in(base, ADMIN_EMAIL, ADMIN_PASSWORD, browser(base)).await;
    // The demo's member is in Acme only, with the first admin's password.
    let member = sign_in(base, "member@example.com", ADMIN_PASSWORD, browser(base)).await;

    let has_runs = wait_for(Duration::from_secs(60), || async {
        !run_ids(&admin, base, "globex").await.is_empty()
    })
    .await;
    assert!(has_runs, "globex has runs");
    let globex_run = run_ids(&admin, base, "globex").await.remove(0);
    let unknown_run = "01a22cb9-948a-7fcb-b8b1-049e1db2a1bd";

    // To the member, Globex is a workspace that does not exist: the same 404, the same body,
    // for its pages, its API and its runs.
    for (theirs, nowhere) in [
        ("/w/globex/settings/crm", "/w/no-such-workspace/settings/crm"),
        (
            &format!("/w/globex/settings/crm/sync-activity/runs/{globex_run}") as &str,
            &format!("/w/no-such-workspace/settings/crm/sync-activity/runs/{globex_run}"),
        ),
        ("/w/globex/api/runs", "/w/no-such-workspace/api/runs"),
        (
            &format!("/w/globex/api/run?id={globex_run}"),
            &format!("/w/nope/api/run?id={globex_run}"),
        ),
        ("/w/globex/api/health", "/w/nope/api/health"),
        ("/w/globex/api/sync/settings", "/w/nope/api/sync/settings"),
    ] {
        let a = status_and_body(&member, &format!("{base}{theirs}")).await;
        let b = status_and_body(&member, &format!("{base}{nowhere}")).await;
        assert_eq!(a.0, StatusCode::NOT_FOUND, "{theirs}");
        assert_eq!(a, b, "{theirs} answers as {nowhere}");
    }
    // A change to Globex is as unknown as a read.
    let change = member
        .put(format!("{base}/w/globex/api/sync/settings"))
        .json(&serde_json::json!({ "interval_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), StatusCode::NOT_FOUND);

    // In a workspace of one's own, another workspace's run is an unknown run.
    let (theirs, unknown) = (
        status_and_body(
            &admin,
            &format!("{base}/w/acme/settings/crm/sync-activity/runs/{globex_run}"),
        )
        .await,
        status_and_body(
            &admin,
            &format!("{base}/w/acme/settings/crm/sync-activity/runs/{unknown_run}"),
        )
        .await,
    );
    assert_eq!(theirs.0, StatusCode::NOT_FOUND);
    assert_eq!(theirs.0, unknown.0);
    assert_eq!(
        theirs.1.replace(&globex_run, "ID"),
        unknown.1.replace(unknown_run, "ID"),
        "another workspace's run is shown as an unknown one"
    );
    let api_theirs =
        status_and_body(&admin, &format!("{base}/w/acme/api/run?id={globex_run}")).await;
    let api_unknown =
        status_and_body(&admin, &format!("{base}/w/acme/api/run?id={unknown_run}")).await;
    assert_eq!(api_theirs, api_unknown);
    assert_eq!(api_theirs.0, StatusCode::NOT_FOUND);

    // Old addresses: a person in one workspace is sent into it, the query kept; a person in
    // several chooses; the API names the workspace or says how.
    let old = member
        .get(format!("{base}/settings/crm/sync-activity?direction=inbound"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert_eq!(old.headers()["location"], "/w/acme/settings/crm/sync-activity?direction=inbound");
    let root = member.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.headers()["location"], "/w/acme/settings/crm");
    let member_api = member.get(format!("{base}/api/runs")).send().await.unwrap();
    assert_eq!(member_api.status(), StatusCode::OK, "one workspace: the API needs no name");

    let choose = admin.get(format!("{base}/settings/crm/sync-activity")).send().await.unwrap();
    assert_eq!(choose.status(), StatusCode::SEE_OTHER);
    let to = choose.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/workspaces?next=/settings/crm/sync-activity");
    let page = admin.get(format!("{base}{to}")).send().await.unwrap().text().await.unwrap();
    for link in ["/w/acme/settings/crm/sync-activity", "/w/globex/settings/crm/sync-activity"] {
        assert!(page.contains(link), "the chooser links to {link}");
    }
    let ambiguous = admin.get(format!("{base}/api/runs")).send().await.unwrap();
    assert_eq!(ambiguous.status(), StatusCode::BAD_REQUEST);
    let said: Value = ambiguous.json().await.unwrap();
    assert!(said["error"].as_str().unwrap().contains("/w/{workspace}/api/runs"), "{said}");

    // The product bar offers the other workspace to the admin, and only theirs to the member.
    let overview = admin
        .get(format!("{base}/w/acme/settings/crm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("data-testid=\"workspace-switcher\""));
    assert!(overview.contains("href=\"/w/globex/settings/crm\""));
    let theirs = member
        .get(format!("{base}/w/acme/settings/crm"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!theirs.contains("workspace-switcher") && !theirs.contains("/w/globex"));

    // Signed out, a workspace's page goes to the sign-in page with its address kept.
    let out = without_redirects().build().unwrap();
    let signed_out = out.get(format!("{base}/w/globex/settings/crm")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_out.headers()["location"], "/sign-in?next=/w/globex/settings/crm");
    let api_out = out.get(format!("{base}/w/globex/api/runs")).send().await.unwrap();
    assert_eq!(api_out.status(), StatusCode::UNAUTHORIZED);

    d.stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), d.served).await;
}
