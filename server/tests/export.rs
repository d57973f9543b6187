//! A run's records as CSV (`GET /api/runs/{id}/records.csv`) over real HTTP: every record once in
//! order, the status filter applied, values with commas, quotes and line breaks kept whole, a run
//! larger than one page of reading, and clear answers for a bad id, an unknown status, another
//! workspace's run and nobody signed in.

use app::domain::{Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, Trigger};
use app::store::{self, NewRecord, NewRun, WorkspaceId};

mod common;
use common::{sign_in, InProcess, ADMIN_EMAIL, ADMIN_PASSWORD};

fn record(i: usize) -> NewRecord {
    let failed = i.is_multiple_of(3);
    NewRecord {
        status: if failed { RecordStatus::Failed } else { RecordStatus::Success },
        action: RecordAction::Created,
        message: failed.then_some(RecordMessage::InvalidEmail),
        detail: failed.then(|| format!("line one, \"quoted\"\nline two {i}")),
        salesforce_id: Some(format!("003{i:015}")),
        conversion_id: None,
        label: Some(format!("Person {i}, Acme")),
        external_created_at: Some(1_700_000_000_000),
        external_updated_at: None,
    }
}

#[tokio::test]
async fn a_runs_records_download_as_csv_with_the_filter_applied() {
    let server = InProcess::start().await;
    let ws = WorkspaceId(server.config.workspace.clone());
    let run = store::begin_run(
        &server.pool,
        &ws,
        &NewRun {
            direction: Direction::Inbound,
            object_type: ObjectType::Contact,
            trigger: Trigger::Backfill,
            started_at: 1_700_000_000_000,
            expected_total: None,
        },
    )
    .await
    .unwrap();
    // More than one page of reading (1,000 records per step).
    let records: Vec<NewRecord> = (0..2_345).map(record).collect();
    for chunk in records.chunks(500) {
        store::append_records(&server.pool, &ws, run, chunk).await.unwrap();
    }
    let http = sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder()).await;
    let url = |query: &str| format!("{}/w/{}/api/runs/{run}/records.csv{query}", server.base, ws);

    let all = http.get(url("")).send().await.unwrap();
    assert_eq!(all.status(), 200);
    assert_eq!(all.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = all.headers()["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(disposition, format!("attachment; filename=\"run-{run}-all.csv\""));
    let body = all.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    assert_eq!(&reader.headers().unwrap()[0], "Record");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2_345, "every record once");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 10);
        assert_eq!(&row[0], format!("Person {i}, Acme"));
        assert_eq!(&row[9], (i + 1).to_string(), "in the run's order");
    }
    assert_eq!(&rows[3][4], "Failed");
    assert_eq!(&rows[3][5], "Invalid email address");
    assert_eq!(&rows[3][6], "line one, \"quoted\"\nline two 3");
    assert_eq!(&rows[1][7], "2023-11-14T22:13:20.000Z");

    let failed = http.get(url("?status=failed")).send().await.unwrap();
    assert!(failed.headers()["content-disposition"].to_str().unwrap().contains("-failed.csv"));
    let body = failed.bytes().await.unwrap();
    let rows: Vec<csv::StringRecord> =
        csv::Reader::from_reader(body.as_ref()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), (0..2_345usize).filter(|i| i.is_multiple_of(3)).count());
    assert!(rows.iter().all(|r| &r[4] == "Failed"));

    // Bad input gets a clear answer.
    let bad_status = http.get(url("?status=broken")).send().await.unwrap();
    assert_eq!(bad_status.status(), 400);
    assert!(bad_status.text().await.unwrap().contains("is not a record status"));
    let bad_id = http
        .get(format!("{}/w/{}/api/runs/nope/records.csv", server.base, ws))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
    let other = app::domain::RunId::new_at(1_700_000_000_000);
    let missing = http
        .get(format!("{}/w/{}/api/runs/{other}/records.csv", server.base, ws))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let signed_out = reqwest::get(url("")).await.unwrap();
    assert_eq!(signed_out.status(), 401);
}
