//! The local org's Bulk API 2.0 query jobs over the wire: a job's states over time, its results
//! read in sets by locator as CSV (the same rows as a REST query), the job's delimiter and line
//! ending, queryAll, abort, delete, and the documented refusals (a clause Bulk API 2.0 does not
//! take, an unknown job, results read with another API version, the daily job limit).

use reqwest::StatusCode;
use serde_json::{json, Value};
use server::fake_org::{self, FakeOrg, OrgConfig};
use std::time::Duration;
use tokio::net::TcpListener;

mod common;

async fn start(config: OrgConfig) -> (FakeOrg, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org = fake_org::start(listener, config).await.unwrap();
    let token = common::refresh_grant(&org).await;
    (org, token["access_token"].as_str().unwrap().to_string())
}

/// The JSON of the answer to `request`.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

fn http(
    org: &FakeOrg,
    access: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}/services/data/{path}", org.credentials().instance_url))
        .bearer_auth(access)
}

async fn create(org: &FakeOrg, access: &str, body: Value) -> reqwest::Response {
    http(org, access, reqwest::Method::POST, "v59.0/jobs/query").json(&body).send().await.unwrap()
}

async fn state(org: &FakeOrg, access: &str, id: &str) -> String {
    let info: Value =
        json_of(http(org, access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}"))).await;
    info["state"].as_str().unwrap().to_string()
}

async fn wait_complete(org: &FakeOrg, access: &str, id: &str) {
    for _ in 0..100 {
        if state(org, access, id).await == "JobComplete" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("job {id} never completed");
}

/// Splits one CSV line written with `sep` (every value quoted, empty cells for null).
fn cells(line: &str, sep: char) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let cell = if chars.peek() == Some(&'"') {
            chars.next();
            let mut s = String::new();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        s.push('"');
                    } else {
                        break;
                    }
                } else {
                    s.push(c);
                }
            }
            Some(s)
        } else {
            None
        };
        out.push(cell);
        match chars.next() {
            Some(c) if c == sep => continue,
            _ => return out,
        }
    }
}

#[tokio::test]
async fn a_query_job_completes_and_its_results_come_in_sets_by_locator() {
    let (org, access) = start(OrgConfig { records: 3_000, ..OrgConfig::default() }).await;
    let soql =
        "SELECT Id, LastName, Title, Account.Name FROM Contact WHERE LastName != null ORDER BY Id";
    let created = create(&org, &access, json!({ "operation": "query", "query": soql })).await;
    assert_eq!(created.status(), 200);
    let job: Value = created.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("750"), "{job}");
    assert_eq!(
        (job["state"].as_str(), job["object"].as_str(), job["apiVersion"].as_f64()),
        (Some("UploadComplete"), Some("Contact"), Some(59.0))
    );
    assert_eq!(
        (job["lineEnding"].as_str(), job["columnDelimiter"].as_str()),
        (Some("LF"), Some("COMMA"))
    );
    // Not complete yet: no results.
    let early =
        http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}/results"))
            .send()
            .await
            .unwrap();
    assert_eq!(early.status(), StatusCode::BAD_REQUEST);
    wait_complete(&org, &access, &id).await;

    // Read in sets of 400 until the locator says null.
    let mut locator: Option<String> = None;
    let mut ids = Vec::new();
    let mut sets = 0;
    loop {
        let mut path = format!("v59.0/jobs/query/{id}/results?maxRecords=400");
        if let Some(l) = &locator {
            path.push_str(&format!("&locator={l}"));
        }
        let r = http(&org, &access, reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let count: usize = r.headers()["sforce-numberofrecords"].to_str().unwrap().parse().unwrap();
        let next = r.headers()["sforce-locator"].to_str().unwrap().to_string();
        let body = r.text().await.unwrap();
        let mut lines = body.lines();
        assert_eq!(lines.next(), Some("\"Id\",\"LastName\",\"Title\",\"Account.Name\""));
        let rows: Vec<_> = lines.map(|l| cells(l, ',')).collect();
        assert_eq!(rows.len(), count);
        ids.extend(rows.iter().map(|r| r[0].clone().unwrap()));
        sets += 1;
        if next == "null" {
            break;
        }
        locator = Some(next);
    }
    // The same rows as the REST query, in its order.
    let mut rest_ids = Vec::new();
    let mut page: Value =
        json_of(http(&org, &access, reqwest::Method::GET, "v59.0/query").query(&[("q", soql)]))
            .await;
    loop {
        rest_ids.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_string()),
        );
        let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) else { break };
        page = json_of(
            reqwest::Client::new()
                .get(format!("{}{next}", org.credentials().instance_url))
                .bearer_auth(&access),
        )
        .await;
    }
    assert_eq!(ids, rest_ids);
    assert_eq!(sets, ids.len().div_ceil(400));
    let info: Value =
        json_of(http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}"))).await;
    assert_eq!(info["numberRecordsProcessed"].as_u64(), Some(ids.len() as u64));

    // Results are read with the version the job was made with.
    let other =
        http(&org, &access, reqwest::Method::GET, &format!("v60.0/jobs/query/{id}/results"))
            .send()
            .await
            .unwrap();
    assert_eq!(other.status(), StatusCode::CONFLICT);
    // Deleted, it is gone.
    let deleted = http(&org, &access, reqwest::Method::DELETE, &format!("v59.0/jobs/query/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(gone.json::<Value>().await.unwrap()[0]["errorCode"], "NOT_FOUND");
    org.shutdown().await;
}

#[tokio::test]
async fn delimiters_line_endings_query_all_abort_and_refusals() {
    let (org, access) =
        start(OrgConfig { records: 1_000, daily_bulk_query_jobs: 4, ..OrgConfig::default() }).await;
    // A pipe and CRLF; queryAll brings deleted records (IsDeleted true) too.
    let job: Value = create(
        &org,
        &access,
        json!({ "operation": "queryAll", "query": "SELECT Id, IsDeleted, Email FROM Contact", "columnDelimiter": "PIPE", "lineEnding": "CRLF" }),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = job["id"].as_str().unwrap();
    wait_complete(&org, &access, id).await;
    let body = http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}/results"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with("\"Id\"|\"IsDeleted\"|\"Email\"\r\n"), "{}", &body[..60]);
    let rows: Vec<_> =
        body.split("\r\n").skip(1).filter(|l| !l.is_empty()).map(|l| cells(l, '|')).collect();
    assert!(rows.iter().any(|r| r[1].as_deref() == Some("true")), "deleted contacts in a queryAll");
    assert!(rows.iter().any(|r| r[2].is_none()), "a null is an empty cell");

    // Aborted before it completes: no results.
    let job: Value =
        create(&org, &access, json!({ "operation": "query", "query": "SELECT Id FROM Account" }))
            .await
            .json()
            .await
            .unwrap();
    let id = job["id"].as_str().unwrap();
    let aborted: Value = json_of(
        http(&org, &access, reqwest::Method::PATCH, &format!("v59.0/jobs/query/{id}"))
            .json(&json!({ "state": "Aborted" })),
    )
    .await;
    assert_eq!(aborted["state"], "Aborted");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(state(&org, &access, id).await, "Aborted");
    let results =
        http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}/results"))
            .send()
            .await
            .unwrap();
    assert_eq!(results.status(), StatusCode::BAD_REQUEST);

    // What Bulk API 2.0 does not take, and a bad query, refused at creation.
    for (query, code) in [
        ("SELECT COUNT() FROM Lead", "INVALIDJOB"),
        ("SELECT Id FROM Lead LIMIT 5 OFFSET 5", "INVALIDJOB"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Lead", "INVALID_FIELD"),
    ] {
        let r = create(&org, &access, json!({ "operation": "query", "query": query })).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], code, "{query}");
    }
    let r = create(&org, &access, json!({ "operation": "insert", "query": "SELECT Id FROM Lead" }))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()[0]["errorCode"], "INVALIDJOB");

    // The daily job limit (4 here): /limits counts the jobs made, and the fifth is refused.
    let limits: Value = json_of(http(&org, &access, reqwest::Method::GET, "v59.0/limits")).await;
    assert_eq!(limits["DailyBulkV2QueryJobs"], json!({ "Max": 4, "Remaining": 2 }));
    for _ in 0..2 {
        let r =
            create(&org, &access, json!({ "operation": "query", "query": "SELECT Id FROM Lead" }))
                .await;
        assert_eq!(r.status(), 200);
    }
    let refused =
        create(&org, &access, json!({ "operation": "query", "query": "SELECT Id FROM Lead" }))
            .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()[0]["errorCode"], "EXCEEDED_QUOTA");
    org.shutdown().await;
}

#[tokio::test]
async fn fault_controls_fail_or_abort_a_job_midway_and_expire_jobs() {
    use server::fake_org::FaultCommand;
    let (org, access) = start(OrgConfig { records: 300, ..OrgConfig::default() }).await;
    let query = json!({"operation": "query", "query": "SELECT Id FROM Contact"});
    org.apply_fault(FaultCommand::FailBulkJobs {
        count: 1,
        message: Some("Retried more than 15 times".into()),
    });
    org.apply_fault(FaultCommand::AbortBulkJobs { count: 1 });

    // Each broken job runs a while first, as a job that fails midway does.
    for (end, message) in [("Failed", Some("Retried more than 15 times")), ("Aborted", None)] {
        let job: Value = create(&org, &access, query.clone()).await.json().await.unwrap();
        let id = job["id"].as_str().unwrap().to_string();
        let mut seen = Vec::new();
        for _ in 0..100 {
            let info: Value = json_of(http(
                &org,
                &access,
                reqwest::Method::GET,
                &format!("v59.0/jobs/query/{id}"),
            ))
            .await;
            let state = info["state"].as_str().unwrap().to_string();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if state == end {
                assert_eq!(info["errorMessage"].as_str(), message, "{info}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen.last().map(String::as_str), Some(end), "{seen:?}");
        assert!(seen.iter().any(|s| s == "InProgress"), "it was in progress first: {seen:?}");
        let results =
            http(&org, &access, reqwest::Method::GET, &format!("v59.0/jobs/query/{id}/results"))
                .send()
                .await
                .unwrap();
        assert_eq!(
            results.status(),
            StatusCode::BAD_REQUEST,
            "a job that did not complete has no results"
        );
    }

    // The next job completes; once expired, it and its results are gone.
    let job: Value = create(&org, &access, query).await.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    wait_complete(&org, &access, &id).await;
    org.apply_fault(FaultCommand::ExpireBulkJobs);
    for path in [format!("v59.0/jobs/query/{id}"), format!("v59.0/jobs/query/{id}/results")] {
        let r = http(&org, &access, reqwest::Method::GET, &path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let stats = org.bulk_stats();
    assert_eq!(stats.jobs_made, 3);
    assert!(stats.objects.values().all(|o| o == "Contact"));
    // And over the admin endpoint.
    let admin: Value = json_of(
        reqwest::Client::new().get(format!("{}/__fake_org/bulk", org.credentials().instance_url)),
    )
    .await;
    assert_eq!(admin["jobs_made"], 3);
}
