//! Conversion's side of the data: contacts, companies, opportunities, opportunity-contact links
//! and custom events, each with its Salesforce id and external times. Their rows are read and
//! written in the store ([`app::store::conversion`]).
//!
//! - [`changes`]: changes made in Conversion, checked here, each written with its outbox row in
//!   one transaction.
//!
//! Its JSON API is [`crate::http::conversion`].

pub mod changes;
