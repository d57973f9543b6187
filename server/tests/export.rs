//! A run's records as CSV (`GET /api/runs/{id}/records.csv`) over real HTTP: every record once in
//! order, the status filter applied, values with commas, quotes and line breaks kept whole, a run
//! larger than one page of reading, and clear answers for a bad id, an unknown status, another
//! workspace's run and nobody signed in.

// The page shell's view type is deep: the in-process server needs the library's limit in release.
#![recursion_limit = "256"]
use app::domain::{Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, Trigger};
use app::store::{self, NewRecord, NewRun, WorkspaceId};

mod common;
use common::memory::{reset_peak, rss_kb};
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

/// The CSV download of a 50,000-record run: time to the first byte, records/s, and the peak
/// memory of the process (server and client in one) over what it held before. See
/// docs/BENCHMARKS.md, "A run's records as CSV".
///
/// cargo test --release -p server --test export -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn csv_export_of_a_50000_record_run() {
    let server = InProcess::start().await;
    let ws = WorkspaceId(server.config.workspace.clone());
    let new_run = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Backfill,
        started_at: 1_700_000_000_000,
        expected_total: None,
    };
    let run = store::begin_run(&server.pool, &ws, &new_run).await.unwrap();
    let records: Vec<NewRecord> = (0..50_000).map(record).collect();
    for chunk in records.chunks(2_000) {
        store::append_records(&server.pool, &ws, run, chunk).await.unwrap();
    }
    drop(records);
    let http = sign_in(&server.base, ADMIN_EMAIL, ADMIN_PASSWORD, reqwest::Client::builder()).await;
    let url = format!("{}/w/{}/api/runs/{run}/records.csv", server.base, ws);
    for round in 1..=3 {
        reset_peak();
        let (before, _) = rss_kb();
        let started = std::time::Instant::now();
        let mut response = http.get(&url).send().await.unwrap();
        let mut first_byte = None;
        let mut bytes = 0usize;
        while let Some(chunk) = response.chunk().await.unwrap() {
            first_byte.get_or_insert_with(|| started.elapsed());
            bytes += chunk.len();
        }
        let took = started.elapsed();
        let (_, peak) = rss_kb();
        println!(
            "round {round}: 50,000 records, {:.1} MB in {:.3} s ({:.0} records/s), first byte after {:.1} ms; RSS {before} kB before, peak {peak} kB (+{} kB)",
            bytes as f64 / 1e6,
            took.as_secs_f64(),
            50_000.0 / took.as_secs_f64(),
            first_byte.unwrap_or_default().as_secs_f64() * 1000.0,
            peak.saturating_sub(before)
        );
    }
}
