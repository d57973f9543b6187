//! Throughput of the Salesforce client reading from the local org over loopback, pages of 2,000.
//! Ignored by default (it is a measurement, not a check); run it with:
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-sf cargo test --release -p server --test salesforce_bench -- --ignored --nocapture
//! ```
//! `BENCH_RECORDS` sets the org size (default 1,000,000).

use serde::Deserialize;
use server::fake_org::{self, OrgConfig};
use server::salesforce::{Record, SalesforceClient};
use std::time::Instant;
use tokio::net::TcpListener;

const FIELDS: &str = "Id, FirstName, LastName, Email, Title, LeadSource, Conversion_Do_Not_Sync__c, CreatedDate, LastModifiedDate, SystemModstamp";

/// What an inbound contact sync reads, decoded straight into a struct.
#[derive(Deserialize)]
#[allow(non_snake_case, dead_code)]
struct ContactRow {
    Id: String,
    FirstName: Option<String>,
    LastName: Option<String>,
    Email: Option<String>,
    Title: Option<String>,
    LeadSource: Option<String>,
    Conversion_Do_Not_Sync__c: bool,
    CreatedDate: String,
    LastModifiedDate: String,
    SystemModstamp: String,
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

async fn read_all<T: serde::de::DeserializeOwned>(
    client: &SalesforceClient,
    object: &str,
) -> (u64, u64) {
    let mut stream = client.query::<T>(format!("SELECT {FIELDS} FROM {object}")).batch_size(2000);
    let mut records = 0u64;
    while let Some(page) = stream.next_page().await.expect("page") {
        records += page.records.len() as u64;
    }
    (records, stream.pages())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn client_reads_from_the_local_org() {
    let n: usize =
        std::env::var("BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let started = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let org =
        fake_org::start(listener, OrgConfig { records: n, ..OrgConfig::default() }).await.unwrap();
    let contacts = org.with_store(|s| s.table("Contact").unwrap().live_count());
    println!(
        "org of {n} records generated in {:.2?} ({contacts} live contacts)",
        started.elapsed()
    );
    let client = org.client().unwrap();
    let rss_before = peak_rss_kb();

    for (label, typed) in [("serde_json::Map records", false), ("typed struct records", true)] {
        let stats_before = org.page_stats();
        let t = Instant::now();
        let (records, pages) = if typed {
            read_all::<ContactRow>(&client, "Contact").await
        } else {
            read_all::<Record>(&client, "Contact").await
        };
        let elapsed = t.elapsed();
        let stats = org.page_stats();
        let org_pages = stats.pages - stats_before.pages;
        let org_ms_per_page =
            (stats.nanos - stats_before.nanos) as f64 / org_pages.max(1) as f64 / 1e6;
        println!(
            "{label}: {records} records, {pages} pages in {elapsed:.2?} = {:.0} records/s end to end; \
             local org {org_ms_per_page:.2} ms per page of 2,000 (query + render, no network)",
            records as f64 / elapsed.as_secs_f64()
        );
        assert_eq!(records as usize, contacts);
    }
    println!(
        "peak RSS: {} MB after generating the org, {} MB after streaming (growth {} MB)",
        rss_before / 1024,
        peak_rss_kb() / 1024,
        (peak_rss_kb() - rss_before) / 1024
    );
    org.shutdown().await;
}
