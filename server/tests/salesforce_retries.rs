//! Which failures the client retries, how often, and what it reports when it gives up: timeouts
//! and dropped connections are retried up to the policy's attempts, a 401 is answered with one
//! refresh only, and the org's own 200-record limit holds for clients that do not check it.

use axum::http::StatusCode;
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use server::fake_org::{self, FakeOrg, FaultCommand, OrgConfig};
use server::salesforce::types::Record;
use server::salesforce::{ClientConfig, RetryPolicy, SalesforceClient, SalesforceError, Session};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

async fn start(records: usize) -> FakeOrg {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake_org::start(listener, OrgConfig { records, ..OrgConfig::default() }).await.unwrap()
}

fn config(login_url: &str, attempts: u32, timeout: Duration) -> ClientConfig {
    let mut config = ClientConfig::new(login_url, "client", "secret");
    config.retry = RetryPolicy::immediate(attempts);
    config.timeout = timeout;
    config
}

async fn first_page(
    c: &SalesforceClient,
) -> Result<Option<server::salesforce::types::QueryPage<Record>>, SalesforceError> {
    c.query::<Record>("SELECT Id FROM Lead").next_page().await
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_as_unavailable() {
    let org = start(20).await;
    let creds = org.credentials();
    let mut cfg = config(&creds.login_url, 3, Duration::from_millis(250));
    cfg.client_id = creds.client_id.clone();
    cfg.client_secret = creds.client_secret.clone().into();
    let c = SalesforceClient::new(cfg, &creds.refresh_token).unwrap();
    first_page(&c).await.unwrap();
    let before = org.requests_received();

    // Every answer now comes well after the client has stopped waiting.
    org.apply_fault(FaultCommand::SetLatency { ms: 1_500 });
    let err = first_page(&c).await.unwrap_err();
    assert!(matches!(err, SalesforceError::Unavailable { attempts: 3, .. }), "{err:?}");
    assert_eq!(org.requests_received() - before, 3, "one request and two retries");

    // Once the org answers in time again, so does the client.
    org.apply_fault(FaultCommand::SetLatency { ms: 0 });
    assert!(first_page(&c).await.unwrap().is_some());
    org.shutdown().await;
}

/// A server that reads each request and closes the connection without a word.
async fn hang_up_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            drop(socket);
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn dropped_connections_are_retried_then_reported_as_unavailable() {
    let (url, accepted) = hang_up_server().await;
    let c = SalesforceClient::new(config(&url, 4, Duration::from_secs(5)), "unused")
        .unwrap()
        .with_session(Session { instance_url: url.clone(), access_token: "00Dtoken".into() });
    let err = first_page(&c).await.unwrap_err();
    match &err {
        SalesforceError::Unavailable { attempts, .. } => assert_eq!(*attempts, 4),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "each attempt opened its own connection");

    // With one attempt allowed, there is no retry.
    let before = accepted.load(Ordering::SeqCst);
    let once = SalesforceClient::new(config(&url, 1, Duration::from_secs(5)), "unused")
        .unwrap()
        .with_session(Session { instance_url: url, access_token: "00Dtoken".into() });
    assert!(matches!(
        first_page(&once).await,
        Err(SalesforceError::Unavailable { attempts: 1, .. })
    ));
    assert_eq!(accepted.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_returned_not_refreshed_again() {
    // An org whose token endpoint works but whose data API refuses every session.
    let tokens = Arc::new(AtomicUsize::new(0));
    let refusals = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (t, r, instance) = (tokens.clone(), refusals.clone(), url.clone());
    let app = Router::new()
        .route(
            "/services/oauth2/token",
            post(move || async move {
                let n = t.fetch_add(1, Ordering::SeqCst);
                Json(json!({"access_token": format!("00Dsession{n}"), "instance_url": instance, "id": "https://login.salesforce.com/id/00D/005",
                    "token_type": "Bearer", "issued_at": "1558553873237", "signature": "x"}))
            }),
        )
        .fallback(any(move || async move {
            r.fetch_add(1, Ordering::SeqCst);
            (StatusCode::UNAUTHORIZED, Json(json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])))
        }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let c = SalesforceClient::new(config(&url, 3, Duration::from_secs(5)), "5Aeprefresh").unwrap();
    let err = first_page(&c).await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (Some(401), Some("INVALID_SESSION_ID")));
    assert!(err.needs_reconnect());
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "the first session, then one refresh");
    assert_eq!(
        refusals.load(Ordering::SeqCst),
        2,
        "the request, then its one retry after the refresh"
    );
    server.abort();
}

#[tokio::test]
async fn the_org_refuses_more_than_200_records_in_one_collection_request() {
    let org = start(0).await;
    let c = org.client().unwrap();
    let access = c.session().await.unwrap().access_token.clone();
    let records: Vec<Value> = (0..201).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("L{i}"), "Company": "Acme"})).collect();
    let response = reqwest::Client::new()
        .post(format!("{}/services/data/v62.0/composite/sobjects", org.credentials().instance_url))
        .bearer_auth(&access)
        .json(&json!({"allOrNone": false, "records": records}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "EXCEEDED_ID_LIMIT");
    assert!(body[0]["message"].as_str().unwrap().contains("200"));
    assert_eq!(org.with_store(|s| s.table("Lead").unwrap().rows.len()), 0, "nothing was written");

    // 200 is allowed.
    let ok = c.create(&records[..200]).await.unwrap();
    assert!(ok.iter().all(|r| r.success));
    org.shutdown().await;
}

/// Serves Bulk API 2.0 results by hand: the first answer's body is cut short (a `Content-Length`
/// longer than what is sent, then the connection closes), every later one is whole.
async fn cut_short_results_server(body: &'static str) -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let head = |len: usize| {
                format!("HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\nsforce-locator: null\r\nsforce-numberofrecords: 3\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n")
            };
            if n == 0 {
                let half = &body[..body.len() / 2];
                let _ = socket.write_all(head(body.len()).as_bytes()).await;
                let _ = socket.write_all(half.as_bytes()).await;
            } else {
                let _ = socket.write_all(head(body.len()).as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            }
            let _ = socket.shutdown().await;
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn a_set_of_bulk_results_cut_short_is_read_again_and_more_records_than_asked_are_refused() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Email")]
        email: Option<String>,
    }
    let body =
        "\"Id\",\"Email\"\n\"003A\",\"a@example.com\"\n\"003B\",\n\"003C\",\"c@example.com\"\n";
    let (url, accepted) = cut_short_results_server(body).await;
    let c = SalesforceClient::new(config(&url, 3, Duration::from_secs(5)), "unused")
        .unwrap()
        .with_session(Session { instance_url: url.clone(), access_token: "00Dtoken".into() });
    let set = c.query_job_records::<Row>("750A", None, 10).await.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "the cut-short answer was asked for again");
    assert_eq!(set.records.len(), 3);
    assert_eq!(set.records[1], Row { id: "003B".into(), email: None });
    assert_eq!(set.next, None);

    // Three rows where two were asked for: refused, not retried.
    let before = accepted.load(Ordering::SeqCst);
    let err = c.query_job_records::<Row>("750A", None, 2).await.unwrap_err();
    assert!(matches!(err, SalesforceError::UnexpectedResponse { .. }), "{err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst) - before, 1);
}
