//! `query`, `queryAll` and their `nextRecordsUrl` pages.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm>

use super::api::{api_error, api_error_body, not_found, unreadable, valid_version};
use super::org::{lock, Org};
use super::query::{bind, execute, parse_locator, write_query_records, Bound, Cursor};
use super::soql;
use super::store::Store;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

pub const DEFAULT_BATCH: usize = 2000;

/// A query parsed and bound to the schema: where `/query` and a Bulk API 2.0 job both start.
pub struct Planned {
    pub query: soql::Query,
    pub table: usize,
    pub bound: Bound,
}

/// Parses `q` and binds it to `store`, or answers as Salesforce does: `MALFORMED_QUERY`, the
/// object's access refused, `INVALID_TYPE`, `INVALID_FIELD`. `refuse` may turn a parsed query
/// away first (the clauses Bulk API 2.0 does not take).
pub fn plan(
    org: &Org,
    store: &Store,
    q: &str,
    refuse: impl FnOnce(&soql::Query) -> Option<Response>,
) -> Result<Planned, Box<Response>> {
    let parsed = soql::parse(q).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            format!("\n{q}\n^\nERROR at Row:1:Column:1\n{e}"),
        ))
    })?;
    if let Some(refused) = refuse(&parsed) {
        return Err(Box::new(refused));
    }
    if lock(&org.faults).is_unreadable(&parsed.object) {
        return Err(Box::new(unreadable(&parsed.object)));
    }
    let Some(table) = store.table_index(&parsed.object) else {
        return Err(Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_TYPE",
            format!("\n{q}\n^\nERROR at Row:1:Column:1\nsObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", parsed.object),
        )));
    };
    let bound = bind(&parsed, table, store)
        .map_err(|e| Box::new(api_error_body(StatusCode::BAD_REQUEST, e)))?;
    Ok(Planned { query: parsed, table, bound })
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200-2,000 like Salesforce.
pub fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|opt| {
                let (k, n) = opt.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("batchSize"))
                    .then(|| n.trim().parse::<usize>().ok())?
            })
        })
        .map_or(DEFAULT_BATCH, |n| n.clamp(200, 2000))
}

pub async fn query(
    State(org): State<Arc<Org>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run(&org, &version, params.get("q"), &headers, false)
}

pub async fn query_all(
    State(org): State<Arc<Org>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    run(&org, &version, params.get("q"), &headers, true)
}

fn run(
    org: &Org,
    version: &str,
    q: Option<&String>,
    headers: &HeaderMap,
    include_deleted: bool,
) -> Response {
    if !valid_version(version) {
        return not_found();
    }
    let Some(q) = q else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        );
    };
    let started = Instant::now();
    let store = org.data_store();
    let Planned { query: parsed, table: t, bound } = match plan(org, &store, q, |_| None) {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let rows: Arc<[u32]> = execute(&bound, &store, include_deleted).into();
    if parsed.count {
        // The number of matching rows in `totalSize`, and no records.
        let body = serde_json::json!({ "totalSize": rows.len(), "done": true, "records": [] });
        return json_response(body.to_string().into_bytes());
    }
    let cursor = Cursor {
        table: t,
        fields: bound.fields,
        parents: bound.parents,
        rows,
        batch_size: batch_size(headers),
    };
    let resource = if include_deleted { "queryAll" } else { "query" };
    let body =
        page(org, &store, &cursor, 0, version, resource, |c| lock(&org.cursors).open(c), started);
    json_response(body)
}

/// `GET /query/{locator}` and `/queryAll/{locator}`: a later page of an open cursor.
pub async fn query_more(
    State(org): State<Arc<Org>>,
    Path((version, locator)): Path<(String, String)>,
) -> Response {
    more(&org, &version, &locator, "query")
}

pub async fn query_all_more(
    State(org): State<Arc<Org>>,
    Path((version, locator)): Path<(String, String)>,
) -> Response {
    more(&org, &version, &locator, "queryAll")
}

fn more(org: &Org, version: &str, locator: &str, resource: &str) -> Response {
    if !valid_version(version) {
        return not_found();
    }
    let cursor = parse_locator(locator)
        .and_then(|(id, offset)| lock(&org.cursors).get(id).map(|c| (id.to_string(), c, offset)));
    let Some((id, cursor, offset)) = cursor.filter(|(_, c, offset)| *offset <= c.rows.len()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        );
    };
    let started = Instant::now();
    let store = org.data_store();
    let object = store.tables[cursor.table].def.name;
    if lock(&org.faults).is_unreadable(object) {
        return unreadable(object);
    }
    let body = page(org, &store, &cursor, offset, version, resource, |_| id.clone(), started);
    json_response(body)
}

/// Renders the page starting at `offset`. `locator_id` is only called when a later page exists
/// (so a query that fits in one page opens no cursor).
#[allow(clippy::too_many_arguments)]
fn page(
    org: &Org,
    store: &super::store::Store,
    cursor: &Cursor,
    offset: usize,
    version: &str,
    resource: &str,
    locator_id: impl FnOnce(Cursor) -> String,
    started: Instant,
) -> Vec<u8> {
    let end = (offset + cursor.batch_size).min(cursor.rows.len());
    let mut out = Vec::with_capacity(256 + (end - offset) * 64 * (cursor.fields.len() + 2));
    out.extend_from_slice(
        format!("{{\"totalSize\":{},\"done\":{}", cursor.rows.len(), end >= cursor.rows.len())
            .as_bytes(),
    );
    let page_rows = &cursor.rows[offset..end];
    if end < cursor.rows.len() {
        let id = locator_id(cursor.clone());
        out.extend_from_slice(
            format!(",\"nextRecordsUrl\":\"/services/data/{version}/{resource}/{id}-{end}\"")
                .as_bytes(),
        );
    }
    out.extend_from_slice(b",\"records\":");
    write_query_records(&mut out, store, cursor, page_rows, version);
    out.push(b'}');
    org.stats.pages.fetch_add(1, Ordering::Relaxed);
    org.stats.records.fetch_add(page_rows.len() as u64, Ordering::Relaxed);
    org.stats.page_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    out
}

fn json_response(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json;charset=UTF-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn batch_size_header_is_read_and_clamped() {
        let mut h = HeaderMap::new();
        assert_eq!(batch_size(&h), 2000);
        for (value, expected) in [
            ("batchSize=500", 500),
            ("batchSize=1", 200),
            ("batchSize=9000", 2000),
            ("batchSize=x", 2000),
        ] {
            h.insert("sforce-query-options", HeaderValue::from_static(value));
            assert_eq!(batch_size(&h), expected, "{value}");
        }
    }
}
