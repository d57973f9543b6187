//! The Salesforce REST client: OAuth, paged queries, sObject Collections writes, limits.
//!
//! - [`client`]: configuration, session refresh, transient-fault retries, API usage.
//! - [`config`]: what differs between orgs; [`wire`]: reading answers and errors.
//! - [`auth`]: the OAuth web-server flow and the refresh-token grant; [`identity`]: userinfo.
//! - [`query`]: `query` / `queryAll`, streamed page by page.
//! - [`sobjects`]: collections create / update / upsert, single records, describe, limits.
//! - [`bulk`]: Bulk API 2.0 query jobs, their results read as CSV.
//! - [`types`]: the wire JSON, shared with the local org in `crate::fake_org`.
//! - [`error`], [`backoff`], [`ids`], [`datetime`]: small pure pieces.

pub mod auth;
pub mod backoff;
pub mod bulk;
pub mod client;
pub mod config;
pub mod csv_row;
pub mod datetime;
pub mod error;
pub mod identity;
pub use app::domain::salesforce_id as ids;
pub mod query;
pub mod sobjects;
pub mod types;
pub mod wire;

pub use backoff::RetryPolicy;
pub use client::{ClientConfig, SalesforceClient, Session};
pub use error::SalesforceError;
pub use ids::SalesforceId;
pub use query::QueryStream;
pub use types::{ApiUsage, Record, RecordError, SaveResult};
