//! The demo: what makes a fresh server show live activity with no Salesforce account.
//!
//! - [`history`]: a 14-day history of runs for an empty workspace (`--demo-history`).
//! - [`changes`]: changes made in Conversion at a steady pace, pushed as outbound runs.
//!
//! The local org itself ([`crate::fake_org`]) simulates its own users' edits.

pub mod changes;
pub mod history;
