//! The whole app assembled in-process by `startup::build`, as `main` assembles it: served on a
//! port of its own, answering pages and the API, syncing with the demo's local org, and stopping
//! cleanly. (Tests of the binary itself, its flags and its exit, start it as a child process.)

use clap::{CommandFactory, Parser};
use server::config::Config;
use std::time::Duration;

mod common;
use common::wait_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_built_in_process_serves_syncs_and_stops() {
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
        "0",
        "--conversion-changes-per-minute",
        "0",
        "--admin-password",
        common::ADMIN_PASSWORD,
    ])
    .unwrap();
    let app = server::startup::build(&config).await.unwrap();
    for ws in ["acme", "globex"] {
        let ws = app::store::WorkspaceId(ws.into());
        assert!(
            app.engines.get(&ws).is_some() && app.engines.local_org(&ws, |_| ()).is_some(),
            "the demo runs {ws}'s engine on a local org of its own"
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    let http = common::sign_in(
        &base,
        common::ADMIN_EMAIL,
        common::ADMIN_PASSWORD,
        reqwest::Client::builder(),
    )
    .await;

    let status: serde_json::Value = http
        .get(format!("{base}/w/acme/api/sync/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["engine"], true, "{status}");
    let page = http.get(format!("{base}/w/acme/settings/crm/sync-activity")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // Every answer says it may not be framed, sniffed or quoted as a referrer elsewhere.
    for answer in [&page, &http.get(format!("{base}/w/acme/api/runs")).send().await.unwrap()] {
        let h = answer.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    }
    // A page's scripts run only with its own nonce: the policy names the one its scripts carry.
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap().to_string();
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("Sync activity"));
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry {nonce}");
    // A body far larger than any change is refused before it is read: the answer comes to the
    // headers alone (writing the body too would race the server closing the connection).
    assert_eq!(
        status_for_headers_only(&base, "/w/acme/api/conversion/companies", 2 << 20).await,
        413
    );
    // A change a browser says comes from another site is refused.
    let cross = http
        .post(format!("{base}/w/acme/api/conversion/companies"))
        .header("sec-fetch-site", "cross-site")
        .json(&serde_json::json!({ "name": "From elsewhere" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    // A name the server does not answer to (DNS rebinding) is refused before anything runs.
    let rebound = http
        .get(format!("{base}/w/acme/api/runs"))
        .header("host", "attacker.example:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);

    // The scheduler backfills the local org: inbound runs appear in the list's API.
    let synced = wait_for(Duration::from_secs(60), || async {
        let runs: serde_json::Value = http
            .get(format!("{base}/w/acme/api/runs?direction=inbound"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        runs["runs"].as_array().is_some_and(|r| r.iter().any(|r| r["status"] == "completed"))
    })
    .await;
    assert!(synced, "an inbound run completed");

    // A change through Conversion's API is pushed by the outbound worker.
    let created = http
        .post(format!("{base}/w/acme/api/conversion/contacts"))
        .json(&serde_json::json!({ "email": "built.in.process@example.com", "last_name": "Built" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let pushed = wait_for(Duration::from_secs(30), || async {
        let s: serde_json::Value = http
            .get(format!("{base}/w/acme/api/sync/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s["outbox_pending"] == 0
    })
    .await;
    assert!(pushed, "the outbox emptied");

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), served).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "served and stopped: {result:?}");
}

/// Sends a POST's headers announcing `length` bytes of body, sends none of it, and reads the
/// status of the answer.
async fn status_for_headers_only(base: &str, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the server answers before the body arrives")
        .unwrap();
    let line = String::from_utf8_lossy(&answer[..n]);
    line.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn help_lists_every_setting_with_its_environment_variable() {
    let help = Config::command().render_long_help().to_string();
    for name in [
        "SYNC_DATABASE",
        "SYNC_DEMO",
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_CLIENT_SECRET",
        "SALESFORCE_REFRESH_TOKEN",
        "SALESFORCE_LOGIN_URL",
        "SALESFORCE_REDIRECT_URI",
        "SALESFORCE_API_VERSION",
    ] {
        assert!(help.contains(name), "--help names {name}");
    }
}
