//! What the Overview tab's controls do to the engine, with the store and the local org running
//! for real: saved settings wake the schedule, invalid settings are refused, only the OAuth flow
//! connects, a disconnect holds through a failing run and a restart, and the company field
//! mapping decides what outbound writes.

use app::domain::access::{Role, Viewer};
use app::domain::{ObjectType, Trigger};
use app::state::Clock;
use app::store::testing::TestDb;
use app::store::{self, Db, WorkspaceId};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use server::conversion::changes::{self, CompanyInput};
use server::fake_org::{self, FakeOrg, OrgConfig};
use server::http::{self as api, ApiState};
use server::salesforce::{Record, SalesforceClient};
use server::sync::{inbound, outbound, scheduler, state, Engine, EngineConfig, Engines};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

mod common;
use common::ManualClock;

struct Setup {
    org: FakeOrg,
    engine: Engine,
    pool: Db,
    ws: WorkspaceId,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _guard: Option<TestDb>,
}

/// An engine whose server default schedule is an hour, connected as at start-up.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let database = common::TestDatabase::new(dir.path().join("sync.db")).await;
    let pool = database.open().await;
    let ws = WorkspaceId("acme".into());
    store::ensure_workspace(&pool, &ws, "Acme", 0).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org = fake_org::start(listener, OrgConfig { records: 200, ..OrgConfig::default() })
        .await
        .unwrap();
    let creds = org.credentials();
    let client = SalesforceClient::new(creds.client_config(), &creds.refresh_token).unwrap();
    let clock = ManualClock::now();
    let config = EngineConfig { interval: Duration::from_secs(3_600), ..EngineConfig::default() };
    let engine = Engine::new(
        pool.clone(),
        ws.clone(),
        client,
        clock.clone(),
        config,
        None,
        CancellationToken::new(),
    );
    common::record_connection(&engine, &org).await;
    Setup { org, engine, pool, ws, clock, _dir: dir, _guard: database.guard }
}

fn router(s: &Setup) -> axum::Router {
    api::router(ApiState {
        pool: s.pool.clone(),
        clock: s.clock.clone(),
        engines: Engines::of([s.engine.clone()]),
        storage: Default::default(),
        oauth_flows: Default::default(),
        throttle: Default::default(),
        instance: "test".into(),
        alerts: server::alerts::Alerts::new(
            s.pool.clone(),
            s.clock.clone(),
            app::store::keyring::Keyring::ephemeral(),
            Default::default(),
        )
        .unwrap(),
    })
}

async fn call(
    s: &Setup,
    method: Method,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    // As the sign-in layer hands it on: an admin of the workspace is signed in.
    let admin = Viewer {
        user_id: 1,
        email: "admin@example.com".into(),
        name: "Admin".into(),
        workspace: s.ws.as_str().into(),
        workspace_name: "Acme".into(),
        role: Role::Admin,
        token: None,
    };
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .extension(admin);
    let req = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap();
    let res = router(s).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

async fn connection_state(s: &Setup) -> String {
    state::connection(&s.pool, &s.ws).await.unwrap().state.as_str().to_string()
}

#[tokio::test]
async fn saved_settings_wake_the_schedule_and_the_new_interval_counts_from_the_last_pass() {
    let s = setup().await;
    // A pass ended; the next is due in the server default's hour.
    let pass_end = s.clock.now_ms();
    let engine = s.engine.clone();
    let waiting = tokio::spawn(async move {
        scheduler::next_pass_due(&engine, pass_end, Duration::from_secs(3_600)).await
    });
    // A minute later the schedule becomes "every 20 seconds": already over, so the pass is due
    // now, not in 59 minutes. (The timeout only stops a broken build from hanging.)
    s.clock.advance(60_000);
    let (status, _) = call(
        &s,
        Method::PUT,
        "/api/sync/settings",
        Some(serde_json::json!({ "interval_secs": 20 })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let due = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("woken by the saved settings")
        .unwrap();
    assert!(due, "a scheduled pass is due");

    // The Overview's form saves through the store and rings the handle the server shares with
    // the pages; the same wait ends.
    let pass_end = s.clock.now_ms();
    let engine = s.engine.clone();
    let waiting = tokio::spawn(async move {
        scheduler::next_pass_due(&engine, pass_end, Duration::from_secs(3_600)).await
    });
    s.clock.advance(30_000);
    s.engine.settings_saved().ring();
    let due = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("woken by the form's handle")
        .unwrap();
    assert!(due);
    s.org.shutdown().await;
}

#[tokio::test]
async fn put_settings_refuses_what_the_engine_cannot_honour_with_422() {
    let s = setup().await;
    let refused = [
        (serde_json::json!({ "interval_secs": 0 }), "0 seconds is not offered"),
        (serde_json::json!({ "inbound_objects": ["contact", "invoice"] }), "is not an object type"),
        (serde_json::json!({ "contact_fields": ["email", "fax_number"] }), "not a contact field"),
        (serde_json::json!({ "company_fields": ["revenue"] }), "not a company field"),
        (serde_json::json!({ "excluded_domains": ["not a domain!"] }), "is not an email domain"),
    ];
    for (body, why) in refused {
        let (status, answer) =
            call(&s, Method::PUT, "/api/sync/settings", Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{body}: {message}");
    }
    // Nothing of it was saved.
    assert_eq!(state::settings(&s.pool, &s.ws).await.unwrap(), state::Settings::default());
    let (status, saved) = call(&s, Method::PUT, "/api/sync/settings", Some(serde_json::json!({ "company_fields": ["website"], "excluded_domains": ["@Example.com"] }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved["excluded_domains"], serde_json::json!(["example.com"]));
    assert_eq!(
        state::settings(&s.pool, &s.ws).await.unwrap().company_fields,
        vec![app::domain::CompanyField::parse("website").unwrap()]
    );
    s.org.shutdown().await;
}

#[tokio::test]
async fn only_the_oauth_flow_connects_a_disconnect_holds_through_a_failing_run_and_a_restart() {
    let s = setup().await;
    assert_eq!(connection_state(&s).await, "connected");
    // There is no call that marks the connection connected without OAuth.
    let (status, _) = call(&s, Method::POST, "/api/sync/reconnect", None).await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
        "{status}"
    );

    let (status, _) = call(&s, Method::POST, "/settings/crm/salesforce/disconnect", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(connection_state(&s).await, "disconnected");
    assert!(!s.engine.may_call().await.unwrap(), "the loops start no new run");
    // Revoked at Salesforce too: the refresh token no longer works for anyone.
    let creds = s.org.credentials();
    let stale = SalesforceClient::new(creds.client_config(), &creds.refresh_token).unwrap();
    assert!(
        matches!(
            stale.userinfo().await,
            Err(server::salesforce::SalesforceError::InvalidGrant { .. })
        ),
        "the refresh token was revoked"
    );

    // A run that was already under way when the person disconnected: its tokens are gone, so it
    // fails with an authentication failure, which must not turn the state into "needs
    // reconnection" (that would invite a reconnect nobody asked for).
    let out =
        inbound::sync_object(&s.engine, ObjectType::Company, Trigger::Scheduled).await.unwrap();
    assert_eq!(out.failure.map(|f| f.message.code()), Some("authentication_failure"));
    assert_eq!(connection_state(&s).await, "disconnected");
    assert!(!s.engine.may_call().await.unwrap());

    // A restart with the org's credentials at hand stays disconnected.
    let creds = s.org.credentials();
    server::sync::connection::on_start(
        &s.engine,
        &creds.instance_url,
        Some(&creds.username),
        Some(&creds.refresh_token),
    )
    .await
    .unwrap();
    assert_eq!(connection_state(&s).await, "disconnected");
    assert!(!s.engine.may_call().await.unwrap());
    s.org.shutdown().await;
}

#[tokio::test]
async fn the_company_field_mapping_decides_what_outbound_writes() {
    let s = setup().await;
    let now = s.clock.now_ms();
    let input = CompanyInput {
        name: Some("Mapped Co".into()),
        website: Some("https://mapped.example".into()),
        industry: Some("Retail".into()),
    };
    let id = changes::create_company(&s.pool, &s.ws, &input, now).await.unwrap();
    assert_eq!(outbound::push_pending(&s.engine).await.unwrap().records, 1);
    let (sf,): (Option<String>,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT salesforce_id FROM conversion_companies WHERE id = $1"
    )
    .bind(&id)
    .fetch_one(p)
    .await
    .unwrap());
    let sf = sf.expect("created in the org");

    // Only the website is mapped now: a name change has nothing to write.
    let settings = state::Settings {
        company_fields: vec![app::domain::CompanyField::parse("website").unwrap()],
        ..state::Settings::default()
    };
    state::save_settings(&s.pool, &s.ws, &settings).await.unwrap();
    changes::update_company(
        &s.pool,
        &s.ws,
        &id,
        &CompanyInput { name: Some("Renamed Co".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    changes::update_company(
        &s.pool,
        &s.ws,
        &id,
        &CompanyInput { industry: Some("Banking".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    let out = outbound::push_pending(&s.engine).await.unwrap();
    assert_eq!(out.runs.len(), 1);
    let records: Vec<(String, Option<String>)> = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT status, message_code FROM run_records WHERE run_id = $1"
    )
    .bind(out.runs[0].0)
    .fetch_all(p)
    .await
    .unwrap());
    assert_eq!(records, vec![("skipped".to_string(), Some("no_fields_to_update".to_string()))]);

    // A website change is written, and only the website: the org keeps the old name.
    changes::update_company(
        &s.pool,
        &s.ws,
        &id,
        &CompanyInput { website: Some("https://renamed.example".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    outbound::push_pending(&s.engine).await.unwrap();
    let client = s.org.client().unwrap();
    let soql = format!("SELECT Id, Name, Website, Industry FROM Account WHERE Id = '{sf}'");
    let mut stream = client.query::<Record>(&soql);
    let page = stream.next_page().await.unwrap().expect("a page");
    let account = page.records.first().expect("the account");
    assert_eq!(account["Website"], "https://renamed.example");
    assert_eq!(account["Name"], "Mapped Co");
    assert_eq!(account["Industry"], "Retail");
    s.org.shutdown().await;
}
