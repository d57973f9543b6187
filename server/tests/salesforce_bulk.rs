//! The Salesforce client's Bulk API 2.0 query jobs against the local org over real HTTP: a job
//! created, waited for and read set by set holds the same records as the REST query; an aborted
//! job is a typed error; a deleted job is gone; the daily job allowance is read from `/limits`.

use server::fake_org::{self, FakeOrg, OrgConfig};
use server::salesforce::bulk::Polling;
use server::salesforce::{Record, SalesforceError};
use std::time::Duration;
use tokio::net::TcpListener;

async fn start(records: usize) -> FakeOrg {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    fake_org::start(listener, OrgConfig { records, ..OrgConfig::default() }).await.unwrap()
}

const QUICK: Polling = Polling {
    first: Duration::from_millis(20),
    max: Duration::from_millis(100),
    timeout: Duration::from_secs(30),
};

#[tokio::test]
async fn a_query_job_read_set_by_set_holds_what_the_rest_query_holds() {
    let org = start(4_000).await;
    let client = org.client().unwrap();
    let soql = "SELECT Id, Email, Account.Name FROM Contact ORDER BY Id";
    let job = client.create_query_job(soql, false).await.unwrap();
    assert_eq!((job.operation.as_str(), job.object.as_str()), ("query", "Contact"));
    let done = client.wait_for_query_job(&job.id, QUICK).await.unwrap();
    assert!(done.is_complete());

    let mut rows = Vec::new();
    let mut locator: Option<String> = None;
    let mut sets = 0;
    loop {
        let set = client.query_job_results(&job.id, locator.as_deref(), 500).await.unwrap();
        assert_eq!(set.fields, vec!["Id", "Email", "Account.Name"]);
        rows.extend(set.rows);
        sets += 1;
        match set.next {
            Some(next) => locator = Some(next),
            None => break,
        }
    }
    assert_eq!(Some(rows.len() as u64), done.number_records_processed);
    assert_eq!(sets, rows.len().div_ceil(500));

    let mut rest = Vec::new();
    let mut stream = client.query::<Record>(soql);
    while let Some(page) = stream.next_page().await.unwrap() {
        rest.extend(page.records);
    }
    assert_eq!(rows.len(), rest.len());
    for (row, record) in rows.iter().zip(&rest) {
        assert_eq!(row[0].as_deref(), record.get("Id").and_then(|v| v.as_str()));
        assert_eq!(
            row[1].as_deref(),
            record.get("Email").and_then(|v| v.as_str()),
            "null is an empty cell"
        );
        let account = record.get("Account").and_then(|a| a.get("Name")).and_then(|v| v.as_str());
        assert_eq!(row[2].as_deref(), account);
    }

    // The same first set, decoded straight into records of the caller's type by column name.
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "Email")]
        email: Option<String>,
    }
    let typed = client.query_job_records::<Row>(&job.id, None, 500).await.unwrap();
    assert_eq!(typed.records.len(), 500);
    assert!(typed.next.is_some());
    for (row, record) in rows.iter().zip(&typed.records) {
        assert_eq!(row[0].as_deref(), Some(record.id.as_str()));
        assert_eq!(row[1], record.email);
    }

    client.delete_query_job(&job.id).await.unwrap();
    let gone = client.query_job(&job.id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    org.shutdown().await;
}

#[tokio::test]
async fn an_aborted_job_is_a_typed_error_and_the_daily_allowance_is_counted() {
    let org = start(500).await;
    let client = org.client().unwrap();
    let before = client.limits().await.unwrap()["DailyBulkV2QueryJobs"].remaining;
    let job = client.create_query_job("SELECT Id FROM Lead", true).await.unwrap();
    assert_eq!(job.operation, "queryAll");
    let aborted = client.abort_query_job(&job.id).await.unwrap();
    assert_eq!(aborted.state, "Aborted");
    match client.wait_for_query_job(&job.id, QUICK).await {
        Err(SalesforceError::BulkJob { state, .. }) => assert_eq!(state, "Aborted"),
        other => panic!("{other:?}"),
    }
    let after = client.limits().await.unwrap()["DailyBulkV2QueryJobs"].remaining;
    assert_eq!(after, before - 1);
    // A query Bulk API 2.0 does not take is refused when the job is made.
    let refused = client.create_query_job("SELECT COUNT() FROM Lead", false).await.unwrap_err();
    assert_eq!(refused.error_code(), Some("INVALIDJOB"));
    org.shutdown().await;
}
