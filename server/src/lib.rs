//! The server's library half: the Salesforce client and the local org, the sync engine,
//! Conversion's data and the JSON API, shared by the binary, the integration tests and the
//! benchmarks.

pub mod api;
pub mod connect;
pub mod conversion;
pub mod fake_org;
pub mod salesforce;
pub mod sync;
