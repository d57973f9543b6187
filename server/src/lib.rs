//! The server's library half: the Salesforce client and the local org, shared by the binary,
//! the integration tests and the benchmarks.

pub mod fake_org;
pub mod salesforce;
