//! The Salesforce client against the local org over real HTTP on 127.0.0.1:0: OAuth, paging,
//! writes, every per-record and whole-request error, limits, and which faults are retried.

use serde_json::{json, Value};
use server::fake_org::{self, FakeOrg, FaultCommand, OrgConfig, RuleCondition, ValidationRule};
use server::salesforce::auth;
use server::salesforce::types::{QueryPage, Record};
use server::salesforce::{RetryPolicy, SalesforceClient, SalesforceError};
use tokio::net::TcpListener;

async fn start(records: usize) -> FakeOrg {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake_org::start(listener, OrgConfig { records, ..OrgConfig::default() }).await.unwrap()
}

fn client(org: &FakeOrg, attempts: u32) -> SalesforceClient {
    let mut config = org.credentials().client_config();
    config.retry = RetryPolicy::immediate(attempts);
    SalesforceClient::new(config, &org.credentials().refresh_token).unwrap()
}

async fn first_page(
    c: &SalesforceClient,
    soql: &str,
) -> Result<QueryPage<Record>, SalesforceError> {
    c.query::<Record>(soql).next_page().await.map(|p| p.unwrap())
}

/// A code asked for with a PKCE challenge (RFC 7636, S256): the consent form carries it, and the
/// code is only exchanged with the verifier that hashes to it; a wrong one spends the code.
#[tokio::test]
async fn a_pkce_code_is_exchanged_only_with_its_verifier() {
    use base64::Engine as _;
    use sha2::Digest;
    let org = start(10).await;
    let config = org.credentials().client_config();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = "http://127.0.0.1:9/oauth/callback";
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXkdBjftJeZ4";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let code = || async {
        let url = auth::authorize_url(&config, redirect, "s", Some(&challenge)).unwrap();
        let page = http.get(&url).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&challenge), "the consent form carries the challenge");
        let answer = http
            .post(format!("{}/services/oauth2/authorize", config.login_url))
            .form(&[
                ("client_id", config.client_id.as_str()),
                ("redirect_uri", redirect),
                ("state", "s"),
                ("code_challenge", challenge.as_str()),
                ("decision", "allow"),
            ])
            .send()
            .await
            .unwrap();
        let location = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        params["code"].clone()
    };
    let first = code().await;
    for wrong in [None, Some("not-the-verifier-at-all-not-the-verifier-at-all")] {
        let refused =
            auth::exchange_code(&http, &config, &first, redirect, wrong).await.unwrap_err();
        assert!(matches!(refused, SalesforceError::InvalidGrant { .. }), "{refused:?}");
    }
    let second = code().await;
    let tokens =
        auth::exchange_code(&http, &config, &second, redirect, Some(verifier)).await.unwrap();
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test]
async fn authorization_code_flow_then_refresh_then_invalid_grant() {
    let org = start(10).await;
    let config = org.credentials().client_config();
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let redirect = "http://127.0.0.1:9/oauth/callback";

    // The consent page, then its form answered with "allow".
    let url = auth::authorize_url(&config, redirect, "st4te", None).unwrap();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Allow Access?"));
    let answer = http
        .post(format!("{}/services/oauth2/authorize", config.login_url))
        .form(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect),
            ("state", "st4te"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let location = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect));
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "st4te");

    let tokens =
        auth::exchange_code(&http, &config, &params["code"], redirect, None).await.unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.instance_url, org.credentials().instance_url);
    let refresh = tokens.refresh_token.clone().expect("the code grant returns a refresh token");

    // A code is single use.
    let again =
        auth::exchange_code(&http, &config, &params["code"], redirect, None).await.unwrap_err();
    assert!(matches!(again, SalesforceError::InvalidGrant { .. }), "{again:?}");

    // The refresh grant gives a new access token and no new refresh token.
    let refreshed = auth::refresh(&http, &config, &refresh).await.unwrap();
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert!(refreshed.refresh_token.is_none());

    // Wrong client: not invalid_grant, a different OAuth error.
    let mut wrong = config.clone();
    wrong.client_id = "nope".into();
    assert!(
        matches!(auth::refresh(&http, &wrong, &refresh).await, Err(SalesforceError::OAuth { ref error, .. }) if error == "invalid_client_id")
    );

    // After the exchange, the connection knows which user it acts as.
    let connected = SalesforceClient::new(config.clone(), "").unwrap();
    connected.reconnect(&tokens);
    let me = connected.userinfo().await.unwrap();
    assert_eq!(me.preferred_username, org.credentials().username);
    assert_eq!(me.sub, tokens.id);
    assert!(
        tokens.id.ends_with(&format!("/id/{}/{}", me.organization_id, me.user_id)),
        "{} vs {me:?}",
        tokens.id
    );

    org.apply_fault(FaultCommand::RevokeTokens);
    let err = auth::refresh(&http, &config, &refresh).await.unwrap_err();
    assert!(err.needs_reconnect(), "{err:?}");
    let err = connected.userinfo().await.unwrap_err();
    assert!(err.needs_reconnect(), "a revoked session cannot say who it is: {err:?}");
    org.shutdown().await;
}

#[tokio::test]
async fn refreshes_once_after_the_session_expires() {
    let org = start(50).await;
    let c = client(&org, 1);
    first_page(&c, "SELECT Id FROM Lead").await.unwrap();
    let before = c.session().await.unwrap();

    org.apply_fault(FaultCommand::ExpireSessions);
    let page = first_page(&c, "SELECT Id FROM Lead").await.unwrap();
    assert!(page.total_size > 0);
    assert_ne!(
        c.session().await.unwrap().access_token,
        before.access_token,
        "a new token was obtained"
    );

    // With the refresh token revoked too, the refresh fails with invalid_grant: reconnect.
    org.apply_fault(FaultCommand::RevokeTokens);
    let err = first_page(&c, "SELECT Id FROM Lead").await.unwrap_err();
    assert!(
        matches!(err, SalesforceError::InvalidGrant { .. }) && err.needs_reconnect(),
        "{err:?}"
    );
    org.shutdown().await;
}

#[tokio::test]
async fn pages_through_a_result_larger_than_one_page() {
    let org = start(5_000).await;
    let c = client(&org, 1);
    let expected = org.with_store(|s| s.table("Lead").unwrap().live_count()) as u64;
    assert!(expected > 1_000);

    let mut stream = c
        .query::<Record>("SELECT Id, Email, SystemModstamp FROM Lead ORDER BY SystemModstamp")
        .batch_size(300);
    let mut ids = std::collections::HashSet::new();
    let mut last_stamp = String::new();
    let mut sizes = Vec::new();
    while let Some(page) = stream.next_page().await.unwrap() {
        sizes.push(page.records.len());
        for r in page.records {
            let stamp = r["SystemModstamp"].as_str().unwrap().to_string();
            assert!(stamp >= last_stamp, "ORDER BY holds across pages");
            last_stamp = stamp;
            assert!(ids.insert(r["Id"].as_str().unwrap().to_string()), "no record twice");
        }
    }
    assert_eq!(ids.len() as u64, expected);
    assert_eq!(stream.total_size(), Some(expected));
    assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == 300), "{sizes:?}");
    assert_eq!(stream.pages() as usize, (expected as usize).div_ceil(300));
    org.shutdown().await;
}

#[tokio::test]
async fn batch_size_is_clamped_to_200_through_2000() {
    let org = start(10_000).await;
    let c = client(&org, 1);
    let mut small = c.query::<Record>("SELECT Id FROM Contact").batch_size(10);
    assert_eq!(small.next_page().await.unwrap().unwrap().records.len(), 200);

    // The org clamps what a client sends, whatever the client.
    let token = c.session().await.unwrap().access_token.clone();
    let url = format!("{}/services/data/v62.0/query", org.credentials().instance_url);
    for (asked, served) in [("batchSize=5000", 2000), ("batchSize=10", 200), ("batchSize=700", 700)]
    {
        let page: Value = reqwest::Client::new()
            .get(&url)
            .query(&[("q", "SELECT Id FROM Contact")])
            .bearer_auth(&token)
            .header("Sforce-Query-Options", asked)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["records"].as_array().unwrap().len(), served, "{asked}");
    }
    org.shutdown().await;
}

#[tokio::test]
async fn a_long_result_is_read_page_by_page_at_the_smallest_page_size() {
    // 30,000 contacts at the smallest page size: 150 pages. That memory stays at about one page
    // is measured in `salesforce_streaming.rs`.
    let org = start(100_000).await;
    let c = client(&org, 1);
    let mut stream =
        c.query::<Record>("SELECT Id, Email, LastModifiedDate FROM Contact").batch_size(200);
    let (mut seen, mut largest) = (0usize, 0usize);
    while let Some(page) = stream.next_page().await.unwrap() {
        largest = largest.max(page.records.len());
        seen += page.records.len();
    }
    assert_eq!(largest, 200);
    assert_eq!(seen as u64, stream.total_size().unwrap());
    assert!(stream.pages() >= 140, "{}", stream.pages());
    org.shutdown().await;
}

#[tokio::test]
async fn query_all_includes_the_recycle_bin() {
    let org = start(2_000).await;
    let c = client(&org, 1);
    let live = first_page(&c, "SELECT Id FROM Opportunity").await.unwrap().total_size;
    let all = c
        .query_all::<Record>("SELECT Id, IsDeleted FROM Opportunity")
        .next_page()
        .await
        .unwrap()
        .unwrap();
    assert!(
        all.total_size > live,
        "{} deleted opportunities expected in queryAll",
        all.total_size - live
    );
    assert!(all.records.iter().any(|r| r["IsDeleted"] == json!(true)));
    org.shutdown().await;
}

fn lead(last: &str) -> Value {
    json!({"attributes": {"type": "Lead"}, "LastName": last, "Company": "Acme"})
}

#[tokio::test]
async fn collections_report_every_per_record_error_in_order() {
    let org = start(0).await;
    let c = client(&org, 1);
    let ok = c.create(&[json!({"attributes": {"type": "Contact"}, "LastName": "Taken", "Email": "taken@acme.com"})]).await.unwrap();
    let contact_id = ok[0].id.clone().unwrap();
    org.apply_fault(FaultCommand::AddValidationRule {
        rule: ValidationRule {
            object: "Lead".into(),
            field: "Title".into(),
            condition: RuleCondition::Equals { value: "Intern".into() },
            message: "Interns cannot be leads".into(),
        },
    });
    org.apply_fault(FaultCommand::MakeReadonly { object: "Account".into() });
    let mut records = vec![
        lead("Fine"),
        json!({"attributes": {"type": "Lead"}, "Company": "Acme"}),
        json!({"attributes": {"type": "Lead"}, "LastName": "P", "Company": "Acme", "Status": "Hot"}),
        json!({"attributes": {"type": "Lead"}, "LastName": "x".repeat(81), "Company": "Acme"}),
        json!({"attributes": {"type": "Lead"}, "LastName": "V", "Company": "Acme", "Title": "Intern"}),
        json!({"attributes": {"type": "Contact"}, "LastName": "R", "AccountId": "001000000000009AAA"}),
        json!({"attributes": {"type": "Contact"}, "LastName": "D", "Email": "TAKEN@acme.com"}),
        json!({"attributes": {"type": "Account"}, "Name": "Readonly Inc"}),
    ];
    records.push(lead("Also fine"));
    let results = c.create(&records).await.unwrap();
    let codes: Vec<&str> =
        results.iter().map(|r| r.errors.first().map_or("OK", |e| e.status_code.as_str())).collect();
    assert_eq!(
        codes,
        vec![
            "OK",
            "REQUIRED_FIELD_MISSING",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "STRING_TOO_LONG",
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "INVALID_CROSS_REFERENCE_KEY",
            "DUPLICATES_DETECTED",
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "OK",
        ]
    );
    assert_eq!(results[1].errors[0].fields, vec!["LastName"]);
    assert_eq!(results[4].errors[0].message, "Interns cannot be leads");
    assert!(results[0].id.as_deref().is_some_and(|id| id.starts_with("00Q") && id.len() == 18));

    // A locked row fails with UNABLE_TO_LOCK_ROW once retries are used up.
    org.apply_fault(FaultCommand::LockRecords { ids: vec![contact_id.clone()], attempts: None });
    let locked = c
        .update(&[json!({"attributes": {"type": "Contact"}, "id": contact_id, "Title": "CTO"})])
        .await
        .unwrap();
    assert_eq!(locked[0].errors[0].status_code, "UNABLE_TO_LOCK_ROW");
    org.shutdown().await;
}

#[tokio::test]
async fn locked_rows_are_retried_but_business_errors_are_not() {
    let org = start(0).await;
    let c = client(&org, 4);
    let created = c.create(&[lead("A"), lead("B")]).await.unwrap();
    let (a, b) = (created[0].id.clone().unwrap(), created[1].id.clone().unwrap());
    org.apply_fault(FaultCommand::LockRecords { ids: vec![a.clone()], attempts: Some(2) });
    let used_before = c.api_usage().unwrap().used;
    let results = c
        .update(&[
            json!({"attributes": {"type": "Lead"}, "id": a, "Title": "Locked twice"}),
            json!({"attributes": {"type": "Lead"}, "id": b, "Status": "Not a status"}),
        ])
        .await
        .unwrap();
    assert!(results[0].success, "{:?}", results[0]);
    assert_eq!(results[1].errors[0].status_code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    // One first request, then two retries of the locked record alone.
    assert_eq!(c.api_usage().unwrap().used - used_before, 3);

    // A malformed query is sent once.
    let before = c.api_usage().unwrap().used;
    let err = first_page(&c, "SELECT Id FROM Lead WHERE").await.unwrap_err();
    assert_eq!(err.error_code(), Some("MALFORMED_QUERY"));
    assert_eq!(c.api_usage().unwrap().used, before + 1);
    org.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_retried_until_the_attempts_run_out() {
    let org = start(20).await;
    let c = client(&org, 3);
    first_page(&c, "SELECT Id FROM Lead").await.unwrap();

    org.apply_fault(FaultCommand::FailNext { count: 2 });
    assert!(first_page(&c, "SELECT Id FROM Lead").await.is_ok(), "two 500s then success");
    assert_eq!(org.faults().fail_next, 0);

    org.apply_fault(FaultCommand::FailNext { count: 5 });
    let err = first_page(&c, "SELECT Id FROM Lead").await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (Some(500), Some("UNKNOWN_EXCEPTION")));
    assert_eq!(org.faults().fail_next, 2, "exactly three attempts were made");
    org.shutdown().await;
}

#[tokio::test]
async fn whole_request_errors_keep_status_and_code() {
    let org = start(100).await;
    let c = client(&org, 2);

    let err = first_page(&c, "SELECT Nope__c FROM Lead").await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (Some(400), Some("INVALID_FIELD")));
    let err = first_page(&c, "SELECT Id FROM Nothing__c").await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_TYPE"));

    org.apply_fault(FaultCommand::MakeUnreadable { object: "Contact".into() });
    let err = first_page(&c, "SELECT Id FROM Contact").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.is_insufficient_access() && !err.is_limit_exceeded());
    org.apply_fault(FaultCommand::MakeReadable { object: "Contact".into() });

    org.apply_fault(FaultCommand::ExhaustDailyLimit);
    let err = first_page(&c, "SELECT Id FROM Contact").await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (Some(403), Some("REQUEST_LIMIT_EXCEEDED")));
    assert!(err.is_limit_exceeded());
    let usage = c.api_usage().unwrap();
    assert_eq!(usage.used, usage.max);
    org.apply_fault(FaultCommand::ResetDailyLimit);

    // A bad bearer token is a 401 INVALID_SESSION_ID array.
    let response = reqwest::Client::new()
        .get(format!("{}/services/data/v62.0/limits", org.credentials().instance_url))
        .bearer_auth("00Dbogus!token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    org.shutdown().await;
}

#[tokio::test]
async fn limits_come_from_the_header_and_the_limits_resource() {
    let org = start(10).await;
    let c = client(&org, 1);
    assert!(c.api_usage().is_none());
    first_page(&c, "SELECT Id FROM Lead").await.unwrap();
    let usage = c.api_usage().unwrap();
    assert_eq!((usage.used, usage.max), (1, 100_000));
    let limits = c.limits().await.unwrap();
    let daily = limits["DailyApiRequests"];
    assert_eq!(daily.max, 100_000);
    assert_eq!(daily.remaining, 100_000 - 2, "the /limits call itself counts");
    assert_eq!(c.api_usage().unwrap().used, 2);
    org.shutdown().await;
}

#[tokio::test]
async fn single_records_upserts_and_describe() {
    let org = start(0).await;
    let c = client(&org, 1);
    let id = c
        .create_record(
            "Lead",
            &json!({"LastName": "Solo", "Company": "Acme", "Email": "solo@acme.com"}),
        )
        .await
        .unwrap();
    let record = c.get_record("Lead", &id, &["Email", "Status", "CreatedDate"]).await.unwrap();
    assert_eq!(record["Email"], "solo@acme.com");
    assert_eq!(record["Status"], "Open - Not Contacted");
    c.update_record("Lead", &id, &json!({"Title": "CTO"})).await.unwrap();
    assert_eq!(c.get_record("Lead", &id, &[]).await.unwrap()["Title"], "CTO");
    let err = c.update_record("Lead", &id, &json!({"Status": "Nope"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"));
    c.delete_record("Lead", &id).await.unwrap();
    let err = c.get_record("Lead", &id, &[]).await.unwrap_err();
    assert_eq!((err.status(), err.error_code()), (Some(404), Some("NOT_FOUND")));

    let rows =
        [json!({"attributes": {"type": "Account"}, "Conversion_Id__c": "co-1", "Name": "Acme"})];
    let first = c.upsert("Account", "Conversion_Id__c", &rows).await.unwrap();
    let second = c.upsert("Account", "Conversion_Id__c", &rows).await.unwrap();
    assert_eq!((first[0].created, second[0].created), (Some(true), Some(false)));
    assert_eq!(first[0].id, second[0].id);
    let err = c.upsert("Account", "Name", &rows).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_FIELD"));
    let too_many: Vec<Value> = (0..201).map(|i| lead(&format!("L{i}"))).collect();
    assert!(matches!(c.create(&too_many).await, Err(SalesforceError::TooManyRecords(201))));

    let describe = c.describe("Conversion_Event__c").await.unwrap();
    assert!(describe.custom);
    assert!(describe.fields.iter().any(|f| f.name == "Conversion_Id__c" && f.external_id));
    org.shutdown().await;
}

#[tokio::test]
async fn order_by_several_fields_puts_nulls_first_unless_told_otherwise() {
    let org = start(0).await;
    let c = client(&org, 1);
    let people = [
        ("Ames", Some("CTO")),
        ("Baker", None),
        ("Cole", Some("CEO")),
        ("Diaz", Some("CTO")),
        ("Evans", None),
    ];
    let records: Vec<Value> = people
        .iter()
        .map(|(last, title)| json!({"attributes": {"type": "Contact"}, "LastName": last, "Title": title}))
        .collect();
    assert!(c.create(&records).await.unwrap().iter().all(|r| r.success));
    let order = |soql: &'static str| {
        let c = c.clone();
        async move {
            let page = first_page(&c, soql).await.unwrap();
            page.records
                .iter()
                .map(|r| r["LastName"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // The documented default: nulls first, in either direction.
    assert_eq!(
        order("SELECT LastName FROM Contact ORDER BY Title, LastName").await,
        ["Baker", "Evans", "Cole", "Ames", "Diaz"]
    );
    assert_eq!(
        order("SELECT LastName FROM Contact ORDER BY Title DESC, LastName DESC").await,
        ["Evans", "Baker", "Diaz", "Ames", "Cole"]
    );
    assert_eq!(
        order("SELECT LastName FROM Contact ORDER BY Title DESC NULLS LAST, LastName").await,
        ["Ames", "Diaz", "Cole", "Baker", "Evans"]
    );
    assert_eq!(
        order("SELECT LastName FROM Contact ORDER BY Title ASC NULLS FIRST, LastName DESC").await,
        ["Evans", "Baker", "Cole", "Diaz", "Ames"]
    );
    let err = first_page(&c, "SELECT LastName FROM Contact ORDER BY Title NULLS SOMEWHERE")
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("MALFORMED_QUERY"));
    org.shutdown().await;
}

/// A response larger than the client reads fails its call with a sentence saying so, for the
/// data API and for the token endpoint alike, instead of being read into memory.
#[tokio::test]
async fn a_response_larger_than_the_client_reads_fails_the_call() {
    let org = start(500).await;
    let creds = org.credentials();
    let mut config = creds.client_config();
    config.max_response_bytes = 4 << 10;
    let client = SalesforceClient::new(config.clone(), &creds.refresh_token).unwrap();
    // The token response (~400 bytes) fits; a page of 500 Leads does not.
    let refused = first_page(&client, "SELECT Id, Email, FirstName, LastName FROM Lead").await;
    match refused {
        Err(SalesforceError::UnexpectedResponse { status: 200, detail }) => {
            assert!(detail.contains("larger than the 4096 bytes"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    config.max_response_bytes = 64;
    let http = reqwest::Client::new();
    let token = auth::refresh(&http, &config, &creds.refresh_token).await.unwrap_err();
    assert!(token.to_string().contains("larger than the 64 bytes"), "{token}");
    // The default reads them.
    let client = SalesforceClient::new(creds.client_config(), &creds.refresh_token).unwrap();
    assert!(!first_page(&client, "SELECT Id FROM Lead").await.unwrap().records.is_empty());
}
