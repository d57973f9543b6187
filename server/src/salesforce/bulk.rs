//! Bulk API 2.0 query jobs: a handful of requests for any number of records, where REST query
//! pages cost one request per 2,000.
//!
//! [`SalesforceClient::create_query_job`] starts a job, [`SalesforceClient::wait_for_query_job`]
//! polls it with a growing delay until `JobComplete` (a failed or aborted job is a typed error),
//! [`SalesforceClient::query_job_results`] reads one set of results by locator as CSV, decoded
//! with the `csv` crate (quoting, embedded newlines and delimiters; an empty cell is null).
//!
//! Docs: <https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm>

use super::client::{Call, SalesforceClient};
use super::error::SalesforceError;
use super::wire::{self, decode};
use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// A query job as Salesforce describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryJob {
    pub id: String,
    pub operation: String,
    pub object: String,
    pub state: String,
    #[serde(default)]
    pub number_records_processed: Option<u64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl QueryJob {
    pub fn is_complete(&self) -> bool {
        self.state == "JobComplete"
    }
}

/// One set of a job's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    /// The field names, as the query selected them (`Account.Name`).
    pub fields: Vec<String>,
    /// One row per record, a cell per field; `None` for an empty cell (null).
    pub rows: Vec<Vec<Option<String>>>,
    /// The locator of the next set; `None` after the last.
    pub next: Option<String>,
}

/// One set of a job's results decoded into records of the caller's type.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSet<T> {
    pub records: Vec<T>,
    /// The locator of the next set; `None` after the last.
    pub next: Option<String>,
}

/// How a job is polled until it is done.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub first: Duration,
    pub max: Duration,
    /// Give up (an error) after this long.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            first: Duration::from_millis(250),
            max: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

fn jobs_path(client: &SalesforceClient) -> String {
    format!("{}/jobs/query", client.config().data_path())
}

impl SalesforceClient {
    /// Starts a query job (`queryAll` when `all`: deleted and archived records too).
    pub async fn create_query_job(
        &self,
        soql: &str,
        all: bool,
    ) -> Result<QueryJob, SalesforceError> {
        let body = serde_json::json!({
            "operation": if all { "queryAll" } else { "query" },
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        });
        let path = jobs_path(self);
        let mut call = Call::new(Method::POST, &path);
        call.json = Some(Bytes::from(body.to_string()));
        let (status, body) = self.execute(&call).await?;
        decode(status, &body)
    }

    /// The job's state now.
    pub async fn query_job(&self, id: &str) -> Result<QueryJob, SalesforceError> {
        let path = format!("{}/{id}", jobs_path(self));
        let (status, body) = self.execute(&Call::new(Method::GET, &path)).await?;
        decode(status, &body)
    }

    /// Polls the job, each wait longer than the last up to `polling.max`, until it is complete.
    /// A job that failed or was aborted is [`SalesforceError::BulkJob`].
    pub async fn wait_for_query_job(
        &self,
        id: &str,
        polling: Polling,
    ) -> Result<QueryJob, SalesforceError> {
        let started = tokio::time::Instant::now();
        let mut wait = polling.first;
        loop {
            let job = self.query_job(id).await?;
            match job.state.as_str() {
                "JobComplete" => return Ok(job),
                "Failed" | "Aborted" => {
                    return Err(SalesforceError::BulkJob {
                        id: job.id,
                        state: job.state,
                        message: job.error_message.unwrap_or_default(),
                    })
                }
                _ => {}
            }
            if started.elapsed() + wait > polling.timeout {
                return Err(SalesforceError::BulkJob {
                    id: job.id,
                    state: job.state,
                    message: format!("not complete after {} s", polling.timeout.as_secs()),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(polling.max);
        }
    }

    /// One set of the job's results: the first (`locator` `None`) or the one a previous set
    /// named, at most `max_records` records.
    pub async fn query_job_results(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: usize,
    ) -> Result<ResultSet, SalesforceError> {
        let limit = self.config().max_response_bytes;
        self.read_results(id, locator, max_records, |response| async move {
            let (status, next) = (response.status(), next_locator(response.headers()));
            let body = wire::read_body(response, limit).await?;
            let (fields, rows) =
                decode_csv(&body).map_err(|e| SalesforceError::UnexpectedResponse {
                    status: status.as_u16(),
                    detail: format!("the results are not CSV: {e}"),
                })?;
            Ok(ResultSet { fields, rows, next })
        })
        .await
    }

    /// [`Self::query_job_results`], each row decoded into a `T` by its column names as a record
    /// of a REST query page is ([`super::csv_row`]). The set is streamed: rows are decoded as
    /// the body arrives, on a blocking thread, and the body is never held whole (a set of 50,000
    /// wide records is tens of megabytes), so only the decoded records take memory.
    pub async fn query_job_records<T: DeserializeOwned + Send + 'static>(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: usize,
    ) -> Result<RecordSet<T>, SalesforceError> {
        let limit = self.config().max_results_bytes();
        self.read_results(id, locator, max_records, |response| async move {
            let (status, next) = (response.status(), next_locator(response.headers()));
            let records =
                stream_records::<T>(response, max_records, limit).await.map_err(|e| match e {
                    Streamed::Broken(detail) => {
                        SalesforceError::Unavailable { attempts: 1, detail }
                    }
                    Streamed::Unreadable(detail) => {
                        SalesforceError::UnexpectedResponse { status: status.as_u16(), detail }
                    }
                })?;
            Ok(RecordSet { records, next })
        })
        .await
    }

    /// Asks for one set of the job's results and hands the answer, its body unread, to `read`.
    async fn read_results<T, F, Fut>(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: usize,
        read: F,
    ) -> Result<T, SalesforceError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<T, SalesforceError>>,
    {
        let path = format!("{}/{id}/results", jobs_path(self));
        let max = max_records.to_string();
        let mut query = vec![("maxRecords", max.as_str())];
        if let Some(l) = locator {
            query.push(("locator", l));
        }
        let mut call = Call::new(Method::GET, &path);
        call.query = &query;
        self.execute_then(&call, read).await
    }

    /// Stops a job that is not complete.
    pub async fn abort_query_job(&self, id: &str) -> Result<QueryJob, SalesforceError> {
        let path = format!("{}/{id}", jobs_path(self));
        let mut call = Call::new(Method::PATCH, &path);
        call.json = Some(Bytes::from_static(br#"{"state":"Aborted"}"#));
        let (status, body) = self.execute(&call).await?;
        decode(status, &body)
    }

    /// Deletes a job and its results.
    pub async fn delete_query_job(&self, id: &str) -> Result<(), SalesforceError> {
        let path = format!("{}/{id}", jobs_path(self));
        self.execute(&Call::new(Method::DELETE, &path)).await.map(|_| ())
    }
}

/// The next set's locator, from `Sforce-Locator` (`null` after the last).
fn next_locator(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("sforce-locator")
        .and_then(|v| v.to_str().ok())
        .filter(|l| !l.is_empty() && *l != "null")
        .map(str::to_string)
}

/// Why a streamed set could not be read.
enum Streamed {
    /// The body stopped arriving (a broken connection): reading the set again may work.
    Broken(String),
    /// The body is not CSV, a row is not a record, or it holds more than was asked for.
    Unreadable(String),
}

/// Decodes `response`'s CSV body into records while it arrives: the body's chunks are passed to a
/// blocking thread that reads them as one stream with the `csv` crate.
async fn stream_records<T: DeserializeOwned + Send + 'static>(
    mut response: reqwest::Response,
    max_records: usize,
    limit: usize,
) -> Result<Vec<T>, Streamed> {
    let (chunks, received) = tokio::sync::mpsc::channel::<Result<Bytes, String>>(8);
    let decode = tokio::task::spawn_blocking(move || {
        decode_records::<T>(Chunks { received, current: Bytes::new() }, max_records)
    });
    let feed = async move {
        let mut total = 0usize;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return,
                Err(e) => {
                    let _ = chunks.send(Err(e.to_string())).await;
                    return;
                }
            };
            total += chunk.len();
            let chunk = if total > limit {
                Err(format!("{LIMIT_PREFIX} {limit} bytes"))
            } else {
                Ok(chunk)
            };
            // The decoder stopped (an unreadable row): nothing more to pass it.
            if chunks.send(chunk).await.is_err() {
                return;
            }
        }
    };
    let ((), decoded) = tokio::join!(feed, decode);
    decoded.map_err(|e| Streamed::Unreadable(format!("decoding the results stopped: {e}")))?
}

const LIMIT_PREFIX: &str = "the results are larger than the client reads:";

/// A response body's chunks as one `Read`, on a blocking thread.
struct Chunks {
    received: tokio::sync::mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
}

impl std::io::Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.received.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Reads CSV rows from `body` into records, refusing more than `max_records`.
fn decode_records<T: DeserializeOwned>(
    body: impl std::io::Read,
    max_records: usize,
) -> Result<Vec<T>, Streamed> {
    let failed = |e: csv::Error| match e.kind() {
        csv::ErrorKind::Io(io) if !io.to_string().starts_with(LIMIT_PREFIX) => {
            Streamed::Broken(format!("the results stopped arriving: {io}"))
        }
        _ => Streamed::Unreadable(format!("the results are not CSV: {e}")),
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
    let fields: Vec<String> =
        reader.headers().map_err(failed)?.iter().map(str::to_string).collect();
    let mut records = Vec::new();
    let mut row = csv::StringRecord::new();
    while reader.read_record(&mut row).map_err(failed)? {
        if records.len() == max_records {
            return Err(Streamed::Unreadable(format!(
                "the set holds more than the {max_records} records asked for"
            )));
        }
        let cells = row.iter().map(|c| (!c.is_empty()).then_some(c));
        let record = super::csv_row::from_row(&fields, cells).map_err(|e| {
            Streamed::Unreadable(format!(
                "row {} of the results cannot be read: {e}",
                records.len() + 1
            ))
        })?;
        records.push(record);
    }
    Ok(records)
}

/// A CSV body: its header, and its rows with empty cells as `None`.
#[allow(clippy::type_complexity)]
pub fn decode_csv(body: &[u8]) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), csv::Error> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
    let fields = reader.headers()?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        rows.push(
            record.iter().map(|c| if c.is_empty() { None } else { Some(c.to_string()) }).collect(),
        );
    }
    Ok((fields, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_keeps_quotes_newlines_and_delimiters_and_reads_empty_cells_as_null() {
        let body = b"\"Id\",\"Name\",\"Title\"\n\"001\",\"Smith, \"\"Jr\"\"\nof Acme\",\n\"002\",\"Lee\",\"CTO\"\n";
        let (fields, rows) = decode_csv(body).unwrap();
        assert_eq!(fields, vec!["Id", "Name", "Title"]);
        assert_eq!(rows[0], vec![Some("001".into()), Some("Smith, \"Jr\"\nof Acme".into()), None]);
        assert_eq!(rows[1][2].as_deref(), Some("CTO"));
    }
}
