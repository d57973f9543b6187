//! What every object's rules share: how a refusal is said, how text is taken, and the
//! Conversion rows a chunk's records point at.

use crate::sync::mapping::{self, present};
use app::domain::{RecordMessage, RecordStatus};
use app::store::conversion::Known;
use std::collections::HashMap;

/// Why a record does not become Conversion's: its status, message and detail.
pub type Refusal = (RecordStatus, RecordMessage, Option<String>);

pub fn skip(m: RecordMessage) -> Refusal {
    (RecordStatus::Skipped, m, None)
}

pub fn fail(m: RecordMessage, detail: impl Into<String>) -> Refusal {
    (RecordStatus::Failed, m, Some(detail.into()))
}

/// A text field as Conversion stores it: trimmed, empty as absent, refused with NUL characters.
pub fn text(v: &Option<String>) -> Result<Option<String>, Refusal> {
    match present(v) {
        Some(s) if !mapping::encodable(s) => {
            Err(fail(RecordMessage::EncodeFailed, "text contains a NUL character"))
        }
        s => Ok(s.map(str::to_string)),
    }
}

/// The Conversion rows a chunk's records point at, read once per chunk.
#[derive(Default)]
pub struct Lookups {
    pub existing: HashMap<String, Known>,
    pub by_conversion_id: HashMap<String, Known>,
    pub companies: HashMap<String, Known>,
    pub opportunities: HashMap<String, Known>,
    pub contacts_by_sf: HashMap<String, Known>,
    pub contacts_by_email: HashMap<String, Known>,
    pub contacts_by_user: HashMap<String, Known>,
}
