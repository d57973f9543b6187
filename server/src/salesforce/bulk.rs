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
use super::wire::decode;
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
        let (status, body, next) = self.results_body(id, locator, max_records).await?;
        let (fields, rows) =
            decode_csv(&body).map_err(|e| SalesforceError::UnexpectedResponse {
                status: status.as_u16(),
                detail: format!("the results are not CSV: {e}"),
            })?;
        Ok(ResultSet { fields, rows, next })
    }

    /// [`Self::query_job_results`], each row decoded into a `T` by its column names as a record
    /// of a REST query page is ([`super::csv_row`]): the rows go straight from the CSV into the
    /// caller's records.
    pub async fn query_job_records<T: DeserializeOwned>(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: usize,
    ) -> Result<RecordSet<T>, SalesforceError> {
        let (status, body, next) = self.results_body(id, locator, max_records).await?;
        let bad = |detail: String| SalesforceError::UnexpectedResponse {
            status: status.as_u16(),
            detail,
        };
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&body[..]);
        let fields: Vec<String> = reader
            .headers()
            .map_err(|e| bad(format!("the results are not CSV: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut records = Vec::with_capacity(max_records.min(body.len() / 64 + 1));
        let mut row = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(bad(format!("the results are not CSV: {e}"))),
            }
            let cells = row.iter().map(|c| (!c.is_empty()).then_some(c));
            let record = super::csv_row::from_row(&fields, cells).map_err(|e| {
                bad(format!("row {} of the results cannot be read: {e}", records.len() + 1))
            })?;
            records.push(record);
        }
        Ok(RecordSet { records, next })
    }

    /// The body of one set of results, and the locator of the next.
    async fn results_body(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: usize,
    ) -> Result<(reqwest::StatusCode, Bytes, Option<String>), SalesforceError> {
        let path = format!("{}/{id}/results", jobs_path(self));
        let max = max_records.to_string();
        let mut query = vec![("maxRecords", max.as_str())];
        if let Some(l) = locator {
            query.push(("locator", l));
        }
        let mut call = Call::new(Method::GET, &path);
        call.query = &query;
        let (status, headers, body) = self.execute_with_headers(&call).await?;
        let next = headers
            .get("sforce-locator")
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_string);
        Ok((status, body, next))
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
