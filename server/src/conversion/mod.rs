//! Conversion's side of the data: contacts, companies, opportunities, opportunity-contact links
//! and custom events, each with its Salesforce id and external times.
//!
//! - [`store`]: lookups and batched upserts for the inbound engine.
//! - [`changes`]: changes made in Conversion, each written with its outbox row in one transaction.
//!
//! Its JSON API is [`crate::http::conversion`].

pub mod changes;
pub mod store;
