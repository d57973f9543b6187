//! SOQL queries, read one page at a time: a caller holds at most one page of records, whatever
//! the size of the result, and asks for the next page when it is done with the current one.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm>

use super::client::{clamp_batch_size, Call, SalesforceClient};
use super::error::SalesforceError;
use super::types::{QueryPage, Record};
use super::wire::decode;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// Where the next page comes from.
enum Cursor {
    Start { soql: String, include_deleted: bool },
    Next(String),
    Done,
}

/// A query in progress. `T` is what each record is decoded into: [`Record`] for a generic map,
/// or the caller's own `Deserialize` struct (faster, and rejects malformed rows early).
pub struct QueryStream<T = Record> {
    client: SalesforceClient,
    cursor: Cursor,
    batch_size: u32,
    total_size: Option<u64>,
    pages: u64,
    _records: PhantomData<fn() -> T>,
}

impl SalesforceClient {
    /// `GET /query`: live records only.
    pub fn query<T: DeserializeOwned>(&self, soql: impl Into<String>) -> QueryStream<T> {
        self.stream(soql.into(), false)
    }

    /// `GET /queryAll`: also deleted records still in the recycle bin (`IsDeleted = true`).
    pub fn query_all<T: DeserializeOwned>(&self, soql: impl Into<String>) -> QueryStream<T> {
        self.stream(soql.into(), true)
    }

    fn stream<T>(&self, soql: String, include_deleted: bool) -> QueryStream<T> {
        QueryStream {
            client: self.clone(),
            cursor: Cursor::Start { soql, include_deleted },
            batch_size: clamp_batch_size(self.config().batch_size),
            total_size: None,
            pages: 0,
            _records: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> QueryStream<T> {
    /// Asks for pages of `n` records (clamped to 200-2,000).
    pub fn batch_size(mut self, n: u32) -> Self {
        self.batch_size = clamp_batch_size(n);
        self
    }

    /// `totalSize` of the result, known once the first page has arrived.
    pub fn total_size(&self) -> Option<u64> {
        self.total_size
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// The next page, or `None` after the last one. A failed page can be asked for again: the
    /// cursor only moves on success, and Salesforce's locators can be fetched more than once.
    pub async fn next_page(&mut self) -> Result<Option<QueryPage<T>>, SalesforceError> {
        let options = HeaderValue::from_str(&format!("batchSize={}", self.batch_size))
            .map_err(|e| SalesforceError::Config(e.to_string()))?;
        let header = (HeaderName::from_static("sforce-query-options"), options);
        let (status, body) = match &self.cursor {
            Cursor::Done => return Ok(None),
            Cursor::Start { soql, include_deleted } => {
                let resource = if *include_deleted { "queryAll" } else { "query" };
                let path = format!("{}/{resource}", self.client.config().data_path());
                let query = [("q", soql.as_str())];
                let mut call = Call::new(Method::GET, &path);
                call.query = &query;
                call.headers.push(header);
                self.client.execute(&call).await?
            }
            Cursor::Next(url) => {
                let mut call = Call::new(Method::GET, url);
                call.headers.push(header);
                self.client.execute(&call).await?
            }
        };
        let page: QueryPage<T> = decode(status, &body)?;
        self.total_size = Some(page.total_size);
        self.pages += 1;
        self.cursor = match (&page.next_records_url, page.done) {
            // A path on the same instance, never an address elsewhere the token would be sent to.
            (Some(next), false) if next.starts_with("/services/data/") => {
                Cursor::Next(next.clone())
            }
            (Some(next), false) => {
                return Err(SalesforceError::UnexpectedResponse {
                    status: status.as_u16(),
                    detail: format!("nextRecordsUrl {next:?} is not a path of this instance's API"),
                })
            }
            (None, false) => {
                return Err(SalesforceError::UnexpectedResponse {
                    status: status.as_u16(),
                    detail: "done is false but there is no nextRecordsUrl".into(),
                })
            }
            _ => Cursor::Done,
        };
        Ok(Some(page))
    }
}
