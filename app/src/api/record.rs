//! A record's story: the search of the Sync activity view, and a record's page (who it is, how
//! Conversion holds it now, and every run that touched it).

use crate::domain::records::{RecordSummary, RecordTouch};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// Records a search lists.
pub const SEARCH_LIMIT: i64 = 20;

/// `GET /api/records/search`'s parameters: the text of the search box, as in the page's address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSearchQuery {
    pub record: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordSearchResponse {
    /// The text searched for, trimmed.
    pub text: String,
    pub records: Vec<RecordSummary>,
    /// More records start with the text than are listed.
    pub more: bool,
    pub as_of: i64,
}

/// `GET /api/records/search?record=…`: the workspace's records whose email or name starts with the
/// text, or whose Salesforce ID (15 or 18 characters, any case for 18) or Conversion id it is.
#[server(prefix = "/api", endpoint = "records/search", input = GetUrl)]
pub async fn search_records(
    #[server(flatten)] query: RecordSearchQuery,
) -> Result<RecordSearchResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::domain::records::RecordSearch;

    no_cache();
    let st = state()?;
    let text = query.record.unwrap_or_default().trim().to_string();
    let Some(search) = RecordSearch::parse(&text) else {
        return Ok(RecordSearchResponse {
            text,
            records: Vec::new(),
            more: false,
            as_of: st.now_ms(),
        });
    };
    let found = crate::store::search_records(&st.pool, &st.workspace, &search, SEARCH_LIMIT)
        .await
        .map_err(internal)?;
    Ok(RecordSearchResponse { text, records: found.records, more: found.more, as_of: st.now_ms() })
}

/// `GET /api/record`'s parameters: the record's key (`sf:<Salesforce ID>` or `cv:<Conversion
/// id>`), and the timeline position (`before=<run id>.<seq>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordQuery {
    pub key: String,
    pub before: Option<String>,
}

/// The record as Conversion holds it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversionRecord {
    pub id: String,
    pub fields: Vec<(String, String)>,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordDetail {
    pub record: RecordSummary,
    /// `None`: Conversion holds no row for it (skipped, deleted, or never synced).
    pub conversion: Option<ConversionRecord>,
    /// The record in Salesforce (`{instance_url}/lightning/r/{Object}/{Id}/view`), when the
    /// workspace is connected and the record has a Salesforce ID.
    pub salesforce_url: Option<String>,
    /// Newest first.
    pub timeline: Vec<RecordTouch>,
    /// Cursor of the next (older) page of the timeline.
    pub older: Option<String>,
    /// Whether this page is past the newest entries (a `before=` page).
    pub paged: bool,
    pub notes: Vec<String>,
    pub as_of: i64,
}

/// `GET /api/record?key=…`: a record's page; `null` (status 404) when the key names no record of
/// the workspace's runs.
#[server(prefix = "/api", endpoint = "record", input = GetUrl)]
pub async fn get_record(
    #[server(flatten)] query: RecordQuery,
) -> Result<Option<RecordDetail>, ServerFnError> {
    use super::ssr::{internal, no_cache, not_found, state};
    use crate::domain::records::{RecordKey, TouchCursor, TIMELINE_PAGE_SIZE};
    use crate::store;

    no_cache();
    let st = state()?;
    // The key as filed first (an ID exactly as Salesforce sent it), then as a person may have
    // typed it (a 15-character or re-cased 18-character ID).
    let mut record = None;
    for key in [RecordKey::from_stored(query.key.trim()), RecordKey::parse(&query.key)]
        .into_iter()
        .flatten()
    {
        record = store::find_record(&st.pool, &st.workspace, &key).await.map_err(internal)?;
        if record.is_some() {
            break;
        }
    }
    let Some(record) = record else {
        not_found();
        return Ok(None);
    };
    let mut notes = Vec::new();
    let before = match query.before.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => {
            let c = TouchCursor::parse(raw);
            if c.is_none() {
                notes.push(format!("Ignored the page position {raw:?}: showing the newest runs."));
            }
            c
        }
    };
    let keys = store::keys_of(&record);
    let page = store::record_timeline(&st.pool, &st.workspace, &keys, before, TIMELINE_PAGE_SIZE)
        .await
        .map_err(internal)?;
    let conversion = store::conversion::current::current_record(
        &st.pool,
        &st.workspace,
        record.object_type,
        record.conversion_id.as_deref(),
        record.salesforce_id.as_deref(),
    )
    .await
    .map_err(internal)?
    .map(|c| ConversionRecord {
        id: c.id,
        fields: c.fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        updated_at: c.updated_at,
    });
    let connection = store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?;
    let salesforce_url = match (connection.instance_url.as_deref(), record.salesforce_id.as_deref())
    {
        (Some(base), Some(id)) => {
            Some(crate::domain::records::salesforce_record_url(base, record.object_type, id))
        }
        _ => None,
    };
    Ok(Some(RecordDetail {
        record,
        conversion,
        salesforce_url,
        timeline: page.touches,
        older: page.older.map(|c| c.to_string()),
        paged: before.is_some(),
        notes,
        as_of: st.now_ms(),
    }))
}
