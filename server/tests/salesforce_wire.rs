//! The local org's responses, checked against the shapes in Salesforce's documentation (REST API
//! Developer Guide examples, OAuth token responses, the Sforce-Limit-Info header), so clients
//! written for a real org work unchanged. Also the `server fake-org` command.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use server::fake_org::{self, FakeOrg, OrgConfig};
use sha2::Sha256;
use tokio::net::TcpListener;

mod common;

async fn start(records: usize) -> FakeOrg {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake_org::start(listener, OrgConfig { records, ..OrgConfig::default() }).await.unwrap()
}

use common::refresh_grant as token;

/// Sorted, so the checks hold whether or not serde_json keeps insertion order.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// `2013-05-20T20:49:32.000+0000`
fn is_sf_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 28
        && s.ends_with("+0000")
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23..=27 => true,
            _ => c.is_ascii_digit(),
        })
}

async fn get(
    org: &FakeOrg,
    access: &str,
    path_and_query: &str,
    options: Option<&str>,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .get(format!("{}{path_and_query}", org.credentials().instance_url))
        .bearer_auth(access);
    if let Some(o) = options {
        r = r.header("Sforce-Query-Options", o);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn token_responses_have_the_documented_fields_and_signature() {
    let org = start(0).await;
    let t = token(&org).await;
    assert_eq!(
        keys(&t),
        vec!["access_token", "id", "instance_url", "issued_at", "scope", "signature", "token_type"]
    );
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["instance_url"], org.credentials().instance_url.as_str());
    assert!(t["issued_at"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()));
    assert!(t["id"].as_str().unwrap().contains("/id/00D"));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(org.credentials().client_secret.as_bytes()).unwrap();
    mac.update(
        format!("{}{}", t["id"].as_str().unwrap(), t["issued_at"].as_str().unwrap()).as_bytes(),
    );
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(t["signature"], expected.as_str());

    let bad = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", org.credentials().login_url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", org.credentials().client_id.as_str()),
            ("refresh_token", "5Aepnope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
    );
    org.shutdown().await;
}

#[tokio::test]
async fn query_pages_match_the_documented_example() {
    let org = start(3_000).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let soql = "SELECT+Id,+Name,+CreatedDate,+SystemModstamp+FROM+Account";
    let first =
        get(&org, &access, &format!("/services/data/v62.0/query?q={soql}"), Some("batchSize=200"))
            .await;
    assert_eq!(first.status(), 200);
    let limit = first.headers()["sforce-limit-info"].to_str().unwrap().to_string();
    let (used, max) = limit.strip_prefix("api-usage=").unwrap().split_once('/').unwrap();
    assert!(used.parse::<u64>().is_ok() && max.parse::<u64>().is_ok(), "{limit}");

    let text = first.text().await.unwrap();
    // Key order as in the guide: totalSize, done, nextRecordsUrl, records.
    let positions: Vec<usize> = ["\"totalSize\"", "\"done\"", "\"nextRecordsUrl\"", "\"records\""]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["done"], false);
    let next = page["nextRecordsUrl"].as_str().unwrap();
    let locator = next.strip_prefix("/services/data/v62.0/query/").unwrap();
    assert!(locator.starts_with("01g") && locator.ends_with("-200"), "{next}");
    let record = &page["records"][0];
    assert_eq!(keys(&record["attributes"]), vec!["type", "url"]);
    assert_eq!(record["attributes"]["type"], "Account");
    let id = record["Id"].as_str().unwrap();
    assert!(id.starts_with("001") && id.len() == 18);
    assert_eq!(
        record["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Account/{id}").as_str()
    );
    assert!(is_sf_datetime(record["CreatedDate"].as_str().unwrap()), "{}", record["CreatedDate"]);

    // A locator can be fetched again and gives the same page.
    let a = get(&org, &access, next, None).await.text().await.unwrap();
    let b = get(&org, &access, next, None).await.text().await.unwrap();
    assert_eq!(a, b);
    let second: Value = serde_json::from_str(&a).unwrap();
    assert_ne!(second["records"][0]["Id"], page["records"][0]["Id"]);

    let bad = get(&org, &access, "/services/data/v62.0/query/01gnope-200", None).await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");

    // A result that fits one page has done=true and no nextRecordsUrl.
    let one: Value =
        get(&org, &access, "/services/data/v62.0/query?q=SELECT+Id+FROM+Account+LIMIT+3", None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!((one["totalSize"].as_u64(), one["done"].as_bool()), (Some(3), Some(true)));
    assert!(one.get("nextRecordsUrl").is_none());
    org.shutdown().await;
}

#[tokio::test]
async fn writes_limits_and_errors_match_the_documented_shapes() {
    let org = start(0).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", org.credentials().instance_url);

    let created = http
        .post(format!("{base}/sobjects/Account"))
        .bearer_auth(&access)
        .json(&json!({"Name": "Express Logistics"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(keys(&body), vec!["errors", "id", "success"]);
    assert_eq!(
        (body["success"].as_bool(), body["errors"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    let id = body["id"].as_str().unwrap();
    // PATCH answers 204 with no body; the change reads back.
    let patched = http
        .patch(format!("{base}/sobjects/Account/{id}"))
        .bearer_auth(&access)
        .json(&json!({"Name": "Express Logistics Ltd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 204);
    let read: Value = get(
        &org,
        &access,
        &format!("/services/data/v62.0/sobjects/Account/{id}?fields=Name"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(read["Name"], "Express Logistics Ltd");
    // A body that is not an object, and an object the org does not have.
    let not_object = http
        .post(format!("{base}/sobjects/Account"))
        .bearer_auth(&access)
        .json(&json!([1]))
        .send()
        .await
        .unwrap();
    assert_eq!(not_object.status(), 400);
    assert_eq!(not_object.json::<Value>().await.unwrap()[0]["errorCode"], "JSON_PARSER_ERROR");
    let unknown = http
        .patch(format!("{base}/sobjects/Nope/{id}"))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let results: Value = http
        .post(format!("{base}/composite/sobjects"))
        .bearer_auth(&access)
        .json(&json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Account"}, "Name": "Example.com"},
            {"attributes": {"type": "Contact"}, "Email": "sample@example.com"}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys(&results[0]), vec!["errors", "id", "success"]);
    assert_eq!(
        results[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]})
    );

    // allOrNone=true rolls back the valid record too.
    let rolled: Value = http
        .post(format!("{base}/composite/sobjects"))
        .bearer_auth(&access)
        .json(&json!({"allOrNone": true, "records": [
            {"attributes": {"type": "Account"}, "Name": "Rolled back"},
            {"attributes": {"type": "Account"}}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rolled[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(org.with_store(|s| s.table("Account").unwrap().rows.len()), 2);

    let limits: Value = http
        .get(format!("{base}/limits"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys(&limits["DailyApiRequests"]), vec!["Max", "Remaining"]);

    let versions: Value = reqwest::get(format!("{}/services/data", org.credentials().instance_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(versions
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["version"] == "62.0" && v["url"] == "/services/data/v62.0"));

    // The admin endpoint injects a 500 in Salesforce's error shape.
    let admin = format!("{}/__fake_org/faults", org.credentials().instance_url);
    let state: Value = http
        .post(&admin)
        .json(&json!({"action": "fail_next", "count": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["faults"]["fail_next"], 1);
    let failed = http.get(format!("{base}/limits")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(failed.status(), 500);
    assert!(failed.headers().contains_key("sforce-limit-info"));
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    assert_eq!(keys(&body[0]), vec!["errorCode", "message"]);
    org.shutdown().await;
}

#[tokio::test]
async fn the_fake_org_command_prints_its_credentials_and_serves() {
    let org = common::StandaloneOrg::start(&[
        "--addr",
        "127.0.0.1:0",
        "--records",
        "300",
        "--seed",
        "9",
        "--activity-per-minute",
        "0",
    ])
    .await;
    assert_eq!(
        keys(&org.credentials),
        vec![
            "client_id",
            "client_secret",
            "instance_url",
            "login_url",
            "refresh_token",
            "username"
        ]
    );
    let mut q = org.client().query::<server::salesforce::Record>("SELECT Id FROM Lead");
    let page = q.next_page().await;
    assert!(page.unwrap().unwrap().total_size > 0);
}

/// Salesforce's answer to a resource that does not exist, from the error-code reference.
const DOCUMENTED_NOT_FOUND: &str =
    r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#;

#[tokio::test]
async fn unknown_resources_and_versions_pass_the_gate_and_answer_not_found() {
    let org = start(0).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let documented: Value = serde_json::from_str(DOCUMENTED_NOT_FOUND).unwrap();

    // Without a session, an unknown resource is refused like a known one.
    let anonymous = reqwest::get(format!(
        "{}/services/data/v62.0/nothing/here",
        org.credentials().instance_url
    ))
    .await
    .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("sforce-limit-info"));

    for path in [
        "/services/data/v62.0/nothing/here",
        "/services/data/v99.0/limits",
        "/services/data/v62.5/query?q=SELECT+Id+FROM+Lead",
        "/services/data/latest/limits",
    ] {
        let response = get(&org, &access, path, None).await;
        assert_eq!(response.status(), 404, "{path}");
        let limit =
            response.headers().get("sforce-limit-info").map(|v| v.to_str().unwrap().to_string());
        assert!(limit.as_deref().is_some_and(|l| l.starts_with("api-usage=")), "{path}: {limit:?}");
        assert_eq!(response.json::<Value>().await.unwrap(), documented, "{path}");
    }
    // Retired versions answer 410 GONE, as the retirement notice says.
    let retired = get(&org, &access, "/services/data/v30.0/limits", None).await;
    assert_eq!(retired.status(), 410);
    assert_eq!(retired.json::<Value>().await.unwrap()[0]["errorCode"], "NOT_FOUND");

    // The version resource lists what the version serves; every listed version is served.
    let resources: Value =
        get(&org, &access, "/services/data/v62.0", None).await.json().await.unwrap();
    assert_eq!(resources["query"], "/services/data/v62.0/query");
    let versions: Value = reqwest::get(format!("{}/services/data", org.credentials().instance_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.first().unwrap()["version"], "31.0");
    assert!(versions.iter().any(|v| v["label"] == "Winter '25" && v["version"] == "62.0"));
    for v in versions {
        let limits =
            get(&org, &access, &format!("{}/limits", v["url"].as_str().unwrap()), None).await;
        assert_eq!(limits.status(), 200, "{v}");
    }
    org.shutdown().await;
}

#[tokio::test]
async fn every_resource_answers_with_or_without_a_trailing_slash_and_counts() {
    // As Salesforce does, and as simple-salesforce asks: `query/?q=…`, `sobjects/Contact/`, then
    // `SELECT COUNT() FROM …`.
    let org = start(50).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let base = org.credentials().instance_url.clone();
    let http = reqwest::Client::new();
    for path in [
        "/services/data/",
        "/services/data/v59.0/",
        "/services/data/v59.0/limits/",
        "/services/data/v59.0/sobjects/",
        "/services/data/v59.0/sobjects/Contact/describe/",
    ] {
        let r = http.get(format!("{base}{path}")).bearer_auth(&access).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let query =
        get(&org, &access, "/services/data/v59.0/query/?q=SELECT+Id+FROM+Contact", None).await;
    assert_eq!(query.status(), 200);
    let page: Value = query.json().await.unwrap();
    assert!(page["totalSize"].as_u64().unwrap() > 0, "the query string survives: {page}");
    let created = http
        .post(format!("{base}/services/data/v59.0/sobjects/Contact/"))
        .bearer_auth(&access)
        .json(&json!({ "LastName": "Slash", "Email": "slash@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let read = http
        .get(format!("{base}/services/data/v59.0/sobjects/Contact/{id}/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(read.json::<Value>().await.unwrap()["LastName"], "Slash");
    // simple-salesforce's next question: how many are there.
    let count: Value =
        get(&org, &access, "/services/data/v59.0/query/?q=SELECT+COUNT()+FROM+Contact", None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(count["totalSize"], page["totalSize"].as_u64().unwrap() + 1, "{count}");
    assert_eq!(
        (count["done"].as_bool(), count["records"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
    let limited: Value = get(
        &org,
        &access,
        "/services/data/v59.0/query?q=SELECT+COUNT()+FROM+Contact+LIMIT+3",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(limited["totalSize"], 3);
    let ordered = get(
        &org,
        &access,
        "/services/data/v59.0/query?q=SELECT+COUNT()+FROM+Contact+ORDER+BY+Id",
        None,
    )
    .await;
    assert_eq!(ordered.status(), 400);
    assert_eq!(ordered.json::<Value>().await.unwrap()[0]["errorCode"], "MALFORMED_QUERY");
    // An unknown resource is still unknown with a slash.
    let unknown = get(&org, &access, "/services/data/v59.0/nothing/", None).await;
    assert_eq!(unknown.status(), 404);
    org.shutdown().await;
}

/// Which of a query's candidate records it should select.
type Keep = Box<dyn Fn(&Value) -> bool>;

/// Every page of a query, records only.
async fn query_all_pages(org: &FakeOrg, access: &str, soql: &str) -> Result<Vec<Value>, Value> {
    let url = format!("{}/services/data/v62.0/query", org.credentials().instance_url);
    let first = reqwest::Client::new()
        .get(url)
        .query(&[("q", soql)])
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    if first.status() != 200 {
        return Err(first.json().await.unwrap());
    }
    let mut page: Value = first.json().await.unwrap();
    let mut records = Vec::new();
    loop {
        records.extend(page["records"].as_array().unwrap().iter().cloned());
        let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) else { break };
        page = get(org, access, &next, None).await.json().await.unwrap();
    }
    Ok(records)
}

#[tokio::test]
async fn where_clauses_with_or_not_in_like_dates_and_offset_select_what_they_say() {
    let org = start(2_000).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let all = query_all_pages(
        &org,
        &access,
        "SELECT Id, LastName, Email, Title, AccountId, CreatedDate FROM Contact ORDER BY Id",
    )
    .await
    .unwrap();
    assert!(all.len() > 300, "{}", all.len());
    let text = |r: &Value, f: &str| r[f].as_str().map(str::to_lowercase);
    let ids = |records: &[Value]| {
        records.iter().map(|r| r["Id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let expect = |keep: &dyn Fn(&Value) -> bool| {
        ids(&all.iter().filter(|r| keep(r)).cloned().collect::<Vec<_>>())
    };

    let some_account = all.iter().find_map(|r| r["AccountId"].as_str()).unwrap().to_string();
    let first_name_letter = text(&all[0], "LastName").unwrap().chars().next().unwrap();
    let cases: Vec<(String, Keep)> = vec![
        (
            format!("SELECT Id FROM Contact WHERE LastName LIKE '{first_name_letter}%' OR Title = null ORDER BY Id"),
            Box::new(move |r: &Value| {
                text(r, "LastName").is_some_and(|n| n.starts_with(first_name_letter)) || r["Title"].is_null()
            }),
        ),
        (
            format!("SELECT Id FROM Contact WHERE AccountId IN ('{some_account}', '001000000000000AAA') AND NOT Email LIKE '%.org' ORDER BY Id"),
            Box::new({
                let a = some_account.clone();
                move |r: &Value| r["AccountId"].as_str() == Some(a.as_str()) && !text(r, "Email").is_some_and(|e| e.ends_with(".org"))
            }),
        ),
        (
            format!("SELECT Id FROM Contact WHERE AccountId NOT IN ('{some_account}') AND (Title != null OR Email = null) ORDER BY Id"),
            Box::new({
                let a = some_account.clone();
                move |r: &Value| r["AccountId"].as_str() != Some(a.as_str()) && (!r["Title"].is_null() || r["Email"].is_null())
            }),
        ),
        (
            // The generated org's records are created as it starts: all of them today or before.
            "SELECT Id FROM Contact WHERE CreatedDate <= TODAY AND CreatedDate < TOMORROW ORDER BY Id".into(),
            Box::new(|_: &Value| true),
        ),
        ("SELECT Id FROM Contact WHERE CreatedDate > TODAY ORDER BY Id".into(), Box::new(|_: &Value| false)),
    ];
    for (i, (soql, keep)) in cases.iter().enumerate() {
        let want = expect(keep.as_ref());
        // The first three select some of the contacts and not all: each part of the clause counts.
        assert!(i >= 3 || (!want.is_empty() && want.len() < all.len()), "{soql}: {}", want.len());
        let got = ids(&query_all_pages(&org, &access, soql).await.unwrap());
        assert_eq!(got, want, "{soql}");
    }

    // OFFSET and LIMIT page through the same order.
    let window =
        ids(&query_all_pages(&org, &access, "SELECT Id FROM Contact ORDER BY Id LIMIT 7 OFFSET 5")
            .await
            .unwrap());
    assert_eq!(window, ids(&all)[5..12].to_vec());
    // What Salesforce refuses, refused the same way.
    for (soql, code) in [
        (
            "SELECT Id FROM Contact WHERE Email = 'a' AND Title = 'b' OR Title = 'c'",
            "MALFORMED_QUERY",
        ),
        ("SELECT Id FROM Contact WHERE CreatedDate LIKE '2024%'", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE LastName = LAST_N_DAYS:3", "INVALID_FIELD"),
    ] {
        let refused = query_all_pages(&org, &access, soql).await.unwrap_err();
        assert_eq!(refused[0]["errorCode"], code, "{soql}: {refused}");
    }
    org.shutdown().await;
}

#[tokio::test]
async fn parent_fields_come_nested_and_can_be_filtered_and_sorted_on() {
    let org = start(2_000).await;
    let access = token(&org).await["access_token"].as_str().unwrap().to_string();
    let accounts: std::collections::HashMap<String, Value> =
        query_all_pages(&org, &access, "SELECT Id, Name, Industry FROM Account")
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a["Id"].as_str().unwrap().to_string(), a))
            .collect();
    let contacts = query_all_pages(
        &org,
        &access,
        "SELECT Id, AccountId, Account.Name, Account.Industry FROM Contact ORDER BY Id",
    )
    .await
    .unwrap();
    let mut with_account = 0;
    for c in &contacts {
        // A reference to a deleted account reads as no account.
        match c["AccountId"].as_str().filter(|id| accounts.contains_key(*id)) {
            Some(id) => {
                with_account += 1;
                let nested = &c["Account"];
                assert_eq!(nested["attributes"]["type"], "Account", "{c}");
                assert_eq!(
                    nested["attributes"]["url"],
                    format!("/services/data/v62.0/sobjects/Account/{id}")
                );
                assert_eq!(nested["Name"], accounts[id]["Name"], "{c}");
                assert_eq!(nested["Industry"], accounts[id]["Industry"], "{c}");
            }
            None => assert!(c["Account"].is_null(), "{c}"),
        }
    }
    assert!(
        with_account > 0 && with_account < contacts.len(),
        "{with_account} of {}",
        contacts.len()
    );

    // A parent's field in WHERE and ORDER BY.
    let some = contacts.iter().find_map(|c| c["Account"]["Name"].as_str()).unwrap().to_string();
    let quoted = some.replace('\\', "\\\\").replace('\'', "\\'");
    let filtered = query_all_pages(
        &org,
        &access,
        &format!("SELECT Id FROM Contact WHERE Account.Name = '{quoted}' ORDER BY Id"),
    )
    .await
    .unwrap();
    let want: Vec<&Value> =
        contacts.iter().filter(|c| c["Account"]["Name"].as_str() == Some(some.as_str())).collect();
    assert_eq!(filtered.len(), want.len(), "{some}");
    assert!(filtered.iter().zip(&want).all(|(a, b)| a["Id"] == b["Id"]));
    let sorted = query_all_pages(
        &org,
        &access,
        "SELECT Account.Name FROM Contact WHERE Account.Name != null ORDER BY Account.Name",
    )
    .await
    .unwrap();
    let names: Vec<String> =
        sorted.iter().map(|c| c["Account"]["Name"].as_str().unwrap().to_lowercase()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted by the parent's name");

    // A relationship the object does not have.
    let refused =
        query_all_pages(&org, &access, "SELECT Id, Acount.Name FROM Contact").await.unwrap_err();
    assert_eq!(refused[0]["errorCode"], "INVALID_FIELD");
    assert!(refused[0]["message"]
        .as_str()
        .unwrap()
        .contains("Didn't understand relationship 'Acount'"));
    org.shutdown().await;
}

#[tokio::test]
async fn an_org_started_with_revoked_tokens_refuses_its_own_refresh_token() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = OrgConfig {
        records: 0,
        faults: vec![fake_org::FaultCommand::RevokeTokens],
        ..OrgConfig::default()
    };
    let org = fake_org::start(listener, config).await.unwrap();
    let err = org.client().unwrap().limits().await.unwrap_err();
    assert!(matches!(err, server::salesforce::SalesforceError::InvalidGrant { .. }), "{err:?}");
    org.shutdown().await;
}

// Examples from Salesforce's documentation (REST API Developer Guide, OAuth help, SOAP API object
// reference for the duplicate types), with their IDs and values as printed. The org's bodies
// must have the same keys holding the same JSON types, recursively.

/// "Execute a SOQL Query": a first page with more to come.
const DOC_QUERY_PAGE: &str = r#"{"totalSize":3214,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
  "records":[{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/001D000000IRFmaIAH"},
  "Id":"001D000000IRFmaIAH","Name":"Test 1","CreatedDate":"2013-05-20T20:49:32.000+0000"}]}"#;
/// "Create a Record": `201` body.
const DOC_CREATE: &str = r#"{"id":"001D000000IqhSLIAZ","errors":[],"success":true}"#;
/// "Create Multiple Records" (sObject Collections), one success and one failure.
const DOC_COLLECTION: &str = r#"[{"id":"001RM000003oLnnYAE","success":true,"errors":[]},
  {"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}]}]"#;
/// "List Organization Limits": one entry.
const DOC_LIMIT_ENTRY: &str = r#"{"Max":5,"Remaining":5}"#;
/// OAuth refresh token flow: the response (no refresh token is sent back).
const DOC_REFRESH_TOKEN_RESPONSE: &str = r#"{"access_token":"00DB0000000TfcR!AQQAQFhoK8vTMg_rKA.esrJ2bCs.OOIjJgl.9Cx6O7KqjZmHMLOyVb.U61BU9tm4xRusf7d3fD1P9oefzqS6i9sJMPWj48IK",
  "signature":"d/SxeYBxH0GSVko0HMgcUxuZy0PA2cDDz1u7g7JtDHw=","scope":"refresh_token api","instance_url":"https://mycompany.my.salesforce.com",
  "id":"https://login.salesforce.com/id/00DB0000000TfcRMAS/005B0000005Bk90IAC","token_type":"Bearer","issued_at":"1558553873237"}"#;
/// "UserInfo Endpoint": the response, reduced to the claims this org serves (a real org adds
/// `photos`, `urls`, `address`, `custom_attributes`...).
const DOC_USERINFO: &str = r#"{"sub":"https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P","user_id":"005x00000012Q9P",
  "organization_id":"00Dx0000000BV7z","preferred_username":"admin@mycompany.com","nickname":"admin","name":"Admin User",
  "email":"admin@mycompany.com","email_verified":true,"given_name":"Admin","family_name":"User","zoneinfo":"America/Los_Angeles",
  "active":true,"user_type":"STANDARD","language":"en_US","locale":"en_US","utcOffset":-28800000,"updated_at":"2024-01-01T00:00:00Z"}"#;
/// "Status Codes and Error Responses": a whole-request error.
const DOC_ERROR: &str =
    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
/// A `DUPLICATES_DETECTED` per-record error, keys as the DuplicateResult, MatchResult and
/// MatchRecord references list them.
const DOC_DUPLICATE_ERROR: &str = r#"{"duplicateResult":{"allowSave":false,"duplicateRule":"Standard_Contact_Duplicate_Rule",
  "duplicateRuleEntityType":"Contact","errorMessage":"Use one of these records?","matchResults":[{"entityType":"Contact",
  "errors":[],"matchEngine":"ExactMatchEngine","matchRecords":[{"additionalInformation":[],"fieldDiffs":[],"matchConfidence":100.0,
  "record":{"attributes":{"type":"Contact"},"Id":"003D000000QV9n2IAD"}}],"rule":"Standard_Contact_Match_Rule_v1_0","size":1,"success":true}]},
  "fields":[],"message":"Use one of these records?","statusCode":"DUPLICATES_DETECTED"}"#;
/// "sObject Describe": the object-level keys and one field, reduced to the keys this org serves
/// (a real org sends more; none of these may be missing or of another type).
const DOC_DESCRIBE: &str = r#"{"name":"Account","label":"Account","labelPlural":"Accounts","custom":false,"keyPrefix":"001",
  "createable":true,"updateable":true,"deletable":true,"queryable":true,"retrieveable":true,"searchable":true,
  "urls":{"sobject":"/services/data/v62.0/sobjects/Account","describe":"/services/data/v62.0/sobjects/Account/describe",
  "rowTemplate":"/services/data/v62.0/sobjects/Account/{ID}"},
  "fields":[{"name":"Name","label":"Account Name","type":"string","soapType":"xsd:string","length":255,"byteLength":765,
  "precision":0,"scale":0,"digits":0,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":false,
  "defaultValue":null,"custom":false,"calculated":false,"autoNumber":false,"externalId":false,"idLookup":false,"unique":false,
  "caseSensitive":false,"filterable":true,"sortable":true,"groupable":true,"nameField":true,"restrictedPicklist":false,
  "picklistValues":[],"referenceTo":[],"relationshipName":null}]}"#;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `actual` differs in shape from `documented`: a key missing, a value of another JSON
/// type, or (with `exact`) a key the documentation does not have. A documented `null` accepts
/// any value (optional keys).
fn shape_diff(documented: &Value, actual: &Value, path: &str, exact: bool, out: &mut Vec<String>) {
    match (documented, actual) {
        (Value::Null, _) => {}
        (Value::Object(d), Value::Object(a)) => {
            for (k, dv) in d {
                match a.get(k) {
                    Some(av) => shape_diff(dv, av, &format!("{path}.{k}"), exact, out),
                    None => out.push(format!("{path}.{k} missing")),
                }
            }
            if exact {
                out.extend(
                    a.keys()
                        .filter(|k| !d.contains_key(*k))
                        .map(|k| format!("{path}.{k} not documented")),
                );
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            for (i, av) in a.iter().enumerate() {
                // Element by element when the lengths agree (results in request order), else
                // every element against the documented first.
                let dv = if d.len() == a.len() { d.get(i) } else { d.first() };
                if let Some(dv) = dv {
                    shape_diff(dv, av, &format!("{path}[{i}]"), exact, out);
                }
            }
        }
        (d, a) if type_name(d) != type_name(a) => {
            out.push(format!("{path}: {} documented, {} served", type_name(d), type_name(a)))
        }
        _ => {}
    }
}

fn assert_shape(documented: &str, actual: &Value, exact: bool) {
    let documented: Value = serde_json::from_str(documented).unwrap();
    let mut diffs = Vec::new();
    shape_diff(&documented, actual, "$", exact, &mut diffs);
    assert!(diffs.is_empty(), "{diffs:#?}\nserved: {actual:#}");
}

#[test]
fn the_shape_check_notices_missing_keys_and_wrong_types() {
    let doc = r#"{"a":1,"b":[{"c":"x"}],"d":null}"#;
    let mut diffs = Vec::new();
    shape_diff(
        &serde_json::from_str(doc).unwrap(),
        &json!({"a":"1","b":[{"c":"y"},{}],"e":true}),
        "$",
        true,
        &mut diffs,
    );
    assert_eq!(
        diffs,
        vec![
            "$.a: number documented, string served",
            "$.b[1].c missing",
            "$.d missing",
            "$.e not documented"
        ]
    );
}

#[tokio::test]
async fn every_body_has_the_shape_of_its_documented_example() {
    let org = start(3_000).await;
    let t = token(&org).await;
    assert_shape(DOC_REFRESH_TOKEN_RESPONSE, &t, true);
    let access = t["access_token"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();
    let base = format!("{}/services/data/v62.0", org.credentials().instance_url);

    let page: Value = get(
        &org,
        &access,
        "/services/data/v62.0/query?q=SELECT+Id,+Name,+CreatedDate+FROM+Account",
        Some("batchSize=200"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_shape(DOC_QUERY_PAGE, &page, true);

    let created: Value = http
        .post(format!("{base}/sobjects/Account"))
        .bearer_auth(&access)
        .json(&json!({"Name": "Express Logistics"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape(DOC_CREATE, &created, true);

    let taken = "taken@example.com";
    http.post(format!("{base}/sobjects/Contact"))
        .bearer_auth(&access)
        .json(&json!({"LastName": "First", "Email": taken}))
        .send()
        .await
        .unwrap();
    let results: Value = http
        .post(format!("{base}/composite/sobjects"))
        .bearer_auth(&access)
        .json(&json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Account"}, "Name": "Example.com"},
            {"attributes": {"type": "Contact"}, "Email": "sample@example.com"},
            {"attributes": {"type": "Contact"}, "LastName": "Again", "Email": taken}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape(DOC_COLLECTION, &json!([results[0], results[1]]), true);
    let duplicate = &results[2]["errors"][0];
    assert_shape(DOC_DUPLICATE_ERROR, duplicate, true);
    let matched = &duplicate["duplicateResult"]["matchResults"][0]["matchRecords"][0]["record"];
    assert_eq!(matched["attributes"]["type"], "Contact");
    let first_id: Value = get(
        &org,
        &access,
        &format!("/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+Email+=+'{taken}'"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(matched["Id"], first_id["records"][0]["Id"], "the match is the existing contact");

    // A single-record create reports the duplicate as a whole-request error, duplicateResult kept.
    let single = http
        .post(format!("{base}/sobjects/Contact"))
        .bearer_auth(&access)
        .json(&json!({"LastName": "Third", "Email": taken}))
        .send()
        .await
        .unwrap();
    assert_eq!(single.status(), 400);
    let single: Value = single.json().await.unwrap();
    assert_eq!(single[0]["errorCode"], "DUPLICATES_DETECTED");
    let documented_duplicate: Value = serde_json::from_str(DOC_DUPLICATE_ERROR).unwrap();
    let mut diffs = Vec::new();
    shape_diff(
        &documented_duplicate["duplicateResult"],
        &single[0]["duplicateResult"],
        "$",
        true,
        &mut diffs,
    );
    assert!(diffs.is_empty(), "{diffs:?}");

    let limits: Value = http
        .get(format!("{base}/limits"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (name, entry) in limits.as_object().unwrap() {
        let mut diffs = Vec::new();
        shape_diff(&serde_json::from_str(DOC_LIMIT_ENTRY).unwrap(), entry, name, true, &mut diffs);
        assert!(diffs.is_empty(), "{diffs:?}");
    }

    let describe: Value =
        get(&org, &access, "/services/data/v62.0/sobjects/Account/describe", None)
            .await
            .json()
            .await
            .unwrap();
    assert_shape(DOC_DESCRIBE, &describe, false);
    let name = describe["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Name").unwrap();
    assert_eq!(
        (name["length"].as_u64(), name["nillable"].as_bool(), name["nameField"].as_bool()),
        (Some(255), Some(false), Some(true))
    );
    let account_id =
        describe["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Id").unwrap();
    assert_eq!(account_id["soapType"], "tns:ID");
    let contact: Value = get(&org, &access, "/services/data/v62.0/sobjects/Contact/describe", None)
        .await
        .json()
        .await
        .unwrap();
    let lookup =
        contact["fields"].as_array().unwrap().iter().find(|f| f["name"] == "AccountId").unwrap();
    assert_eq!(
        (lookup["relationshipName"].as_str(), lookup["referenceTo"][0].as_str()),
        (Some("Account"), Some("Account"))
    );

    let me: Value = http
        .get(format!("{}/services/oauth2/userinfo", org.credentials().instance_url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape(DOC_USERINFO, &me, true);
    assert_eq!(me["preferred_username"], org.credentials().username.as_str());

    let refused = http.get(format!("{base}/limits")).bearer_auth("00Dnope").send().await.unwrap();
    assert_shape(DOC_ERROR, &refused.json::<Value>().await.unwrap(), true);
    org.shutdown().await;
}
