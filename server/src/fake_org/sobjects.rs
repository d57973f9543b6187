//! Record resources: sObject Collections (create, update, upsert by external ID) and the
//! single-record sObject rows (create, read, update, delete).
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info.htm>,
//! <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_retrieve.htm>

use super::api::{api_error, not_found, unreadable, valid_version};
use super::org::{lock, now_millis, Org};
use super::query::write_records;
use super::store::Row;
use super::writes::{self, Written};
use crate::salesforce::types::{ApiErrorBody, RecordError, SaveResult};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value as J};
use std::collections::HashMap;
use std::sync::Arc;

/// Salesforce's cap on records per collection request.
const MAX_RECORDS: usize = 200;

// The error is the response itself, returned as is; its size does not matter on this path.
#[allow(clippy::result_large_err)]
fn parse_json(body: &[u8]) -> Result<J, Response> {
    serde_json::from_slice(body)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", e.to_string()))
}

/// A per-record failure as a single-record endpoint reports it: a 400 error array.
fn record_error_response(e: RecordError) -> Response {
    let status = match e.status_code.as_str() {
        "ENTITY_IS_DELETED" | "MALFORMED_ID" | "INVALID_CROSS_REFERENCE_KEY"
            if e.fields.is_empty() || e.fields == ["Id"] =>
        {
            StatusCode::NOT_FOUND
        }
        _ => StatusCode::BAD_REQUEST,
    };
    // A duplicate keeps its `duplicateResult` beside `errorCode`, as a real org answers.
    if let Some(duplicates) = e.duplicate_result {
        let body = serde_json::json!([{"duplicateResult": duplicates, "errorCode": e.status_code, "message": e.message}]);
        return (status, Json(body)).into_response();
    }
    let fields = Some(e.fields);
    (status, Json(vec![ApiErrorBody { message: e.message, error_code: e.status_code, fields }]))
        .into_response()
}

fn save_result(r: Result<Written, RecordError>, upsert: bool) -> SaveResult {
    match r {
        Ok(w) => SaveResult {
            id: Some(w.id),
            success: true,
            errors: vec![],
            created: upsert.then_some(w.created),
        },
        Err(e) => SaveResult { id: None, success: false, errors: vec![e], created: None },
    }
}

/// Which kind of collection request.
enum Kind {
    Create,
    Update,
    Upsert { object: String, field: String },
}

/// `POST /composite/sobjects`.
pub async fn collection_create(
    State(org): State<Arc<Org>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    collection(&org, &version, &body, Kind::Create)
}

/// `PATCH /composite/sobjects`.
pub async fn collection_update(
    State(org): State<Arc<Org>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    collection(&org, &version, &body, Kind::Update)
}

/// `PATCH /composite/sobjects/{type}/{externalIdField}`.
pub async fn collection_upsert(
    State(org): State<Arc<Org>>,
    Path((version, object, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    collection(&org, &version, &body, Kind::Upsert { object, field })
}

fn collection(org: &Org, version: &str, body: &[u8], kind: Kind) -> Response {
    if !valid_version(version) {
        return not_found();
    }
    let request = match parse_json(body) {
        Ok(r) => r,
        Err(response) => return response,
    };
    let all_or_none = request.get("allOrNone").and_then(J::as_bool).unwrap_or(false);
    let Some(records) = request.get("records").and_then(J::as_array) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            "The records field is required",
        );
    };
    if records.len() > MAX_RECORDS {
        return api_error(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        );
    }
    let mut store = org.data_store_mut();
    if let Kind::Upsert { object, field } = &kind {
        let is_external = store
            .table(object)
            .and_then(|t| t.def.field_index(field).map(|i| t.def.fields[i].external_id))
            .unwrap_or(false);
        if !is_external {
            return api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            );
        }
    }
    let mut faults = lock(&org.faults);
    let now = now_millis();
    // Undo log for allOrNone: (table, row, previous row or None for an insert).
    let mut undo: Vec<(usize, u32, Option<Row>)> = Vec::new();
    let mut results = Vec::with_capacity(records.len());
    for record in records {
        let Some(fields) = record.as_object() else {
            results.push(save_result(
                Err(RecordError::new("JSON_PARSER_ERROR", "a record must be a JSON object", &[])),
                false,
            ));
            continue;
        };
        let declared = fields.get("attributes").and_then(|a| a.get("type")).and_then(J::as_str);
        let object = match (&kind, declared) {
            (Kind::Upsert { object, .. }, _) => object.clone(),
            (_, Some(t)) => t.to_string(),
            (_, None) => {
                let e = RecordError::new("INVALID_TYPE", "Must send a concrete entity type.", &[]);
                results.push(save_result(Err(e), false));
                continue;
            }
        };
        let t = store.table_index(&object);
        let before = t.map(|t| store.tables[t].rows.len());
        let result = match &kind {
            Kind::Create => writes::create(&mut store, &mut faults, &object, fields, now),
            Kind::Update => match id_of(fields) {
                Some(id) => {
                    let previous = t.and_then(|t| {
                        store.tables[t]
                            .find(&id)
                            .map(|r| (t, r, store.tables[t].rows[r as usize].clone()))
                    });
                    let r = writes::update(&mut store, &mut faults, &object, &id, fields, now);
                    if let (Ok(_), Some((t, row, prev))) = (&r, previous) {
                        undo.push((t, row, Some(prev)));
                    }
                    r
                }
                None => Err(RecordError::new(
                    "MISSING_ARGUMENT",
                    "Id not specified in an update call",
                    &[],
                )),
            },
            Kind::Upsert { field, .. } => {
                let existing = t.and_then(|t| {
                    let key = fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(field))
                        .and_then(|(_, v)| v.as_str())?;
                    let row = *store.tables[t].by_external_id.get(key)?;
                    Some((t, row, store.tables[t].rows[row as usize].clone()))
                });
                let r = writes::upsert(&mut store, &mut faults, &object, field, fields, now);
                if let (Ok(w), Some((t, row, prev))) = (&r, existing) {
                    if !w.created {
                        undo.push((t, row, Some(prev)));
                    }
                }
                r
            }
        };
        if let (Ok(w), Some(t), Some(before)) = (&result, t, before) {
            if w.created {
                undo.push((t, before as u32, None));
            }
        }
        results.push(save_result(result, matches!(kind, Kind::Upsert { .. })));
    }
    if all_or_none && results.iter().any(|r| !r.success) {
        for (t, row, previous) in undo.into_iter().rev() {
            match previous {
                Some(prev) => store.tables[t].replace(row, prev),
                None => store.tables[t].remove_last(),
            }
        }
        for r in results.iter_mut().filter(|r| r.success) {
            *r = SaveResult {
                id: None,
                success: false,
                errors: vec![RecordError::new(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                    &[],
                )],
                created: None,
            };
        }
    }
    Json(results).into_response()
}

fn id_of(fields: &Map<String, J>) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string)
}

/// `GET /sobjects/{type}`: basic information about the object.
pub async fn basic_info(
    State(org): State<Arc<Org>>,
    Path((version, object)): Path<(String, String)>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let store = org.data_store();
    let Some(t) = store.table(&object) else { return not_found() };
    let name = t.def.name;
    Json(json!({
        "objectDescribe": {"name": name, "label": t.def.label, "keyPrefix": t.def.key_prefix, "custom": t.def.custom(),
            "urls": {"sobject": format!("/services/data/{version}/sobjects/{name}"),
                     "describe": format!("/services/data/{version}/sobjects/{name}/describe")}},
        "recentItems": []
    }))
    .into_response()
}

/// A single-record body: a JSON object, or Salesforce's parser error.
// The error is the handler's answer, returned as is: boxing it would only move the allocation.
#[allow(clippy::result_large_err)]
fn object_body(body: &Bytes) -> Result<Map<String, J>, Response> {
    match parse_json(body) {
        Ok(J::Object(m)) => Ok(m),
        Ok(_) => {
            Err(api_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "expected a JSON object"))
        }
        Err(r) => Err(r),
    }
}

/// What every single-record write checks first (a known API version, a JSON object body, an
/// object the org has); then `write` runs on the store, under its lock.
fn single_write(
    org: &Org,
    version: &str,
    object: &str,
    body: &Bytes,
    write: impl FnOnce(
        &mut super::store::Store,
        &mut super::faults::FaultState,
        &Map<String, J>,
    ) -> Response,
) -> Response {
    if !valid_version(version) {
        return not_found();
    }
    let fields = match object_body(body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut store = org.data_store_mut();
    if store.table_index(object).is_none() {
        return not_found();
    }
    write(&mut store, &mut lock(&org.faults), &fields)
}

/// `POST /sobjects/{type}`: `201 {"id", "success": true, "errors": []}`.
pub async fn create_one(
    State(org): State<Arc<Org>>,
    Path((version, object)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    single_write(&org, &version, &object, &body, |store, faults, fields| {
        match writes::create(store, faults, &object, fields, now_millis()) {
            Ok(w) => (StatusCode::CREATED, Json(save_result(Ok(w), false))).into_response(),
            Err(e) => record_error_response(e),
        }
    })
}

/// `GET /sobjects/{type}/{id}[?fields=A,B]`.
pub async fn get_one(
    State(org): State<Arc<Org>>,
    Path((version, object, id)): Path<(String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    if lock(&org.faults).is_unreadable(&object) {
        return unreadable(&object);
    }
    let store = org.data_store();
    let Some(table) = store.table(&object) else { return not_found() };
    let Some(row) = table.find(&id).filter(|&r| !table.rows[r as usize].deleted) else {
        return not_found();
    };
    let fields: Vec<usize> = match params.get("fields") {
        Some(list) => {
            let mut out = Vec::new();
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match table.def.field_index(name) {
                    Some(i) => out.push(i),
                    None => {
                        return api_error(
                            StatusCode::BAD_REQUEST,
                            "INVALID_FIELD",
                            format!("No such column '{name}' on entity '{}'", table.def.name),
                        )
                    }
                }
            }
            out
        }
        None => (0..table.def.fields.len()).collect(),
    };
    let mut out = Vec::new();
    write_records(&mut out, table, &fields, &[row], &version);
    // write_records renders an array; a single record is its only element.
    let body = out.get(1..out.len().saturating_sub(1)).map(<[u8]>::to_vec).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json;charset=UTF-8")], body).into_response()
}

/// `PATCH /sobjects/{type}/{id}`: 204 on success.
pub async fn update_one(
    State(org): State<Arc<Org>>,
    Path((version, object, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    single_write(&org, &version, &object, &body, |store, faults, fields| {
        match writes::update(store, faults, &object, &id, fields, now_millis()) {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => record_error_response(e),
        }
    })
}

/// `DELETE /sobjects/{type}/{id}`: 204 on success.
pub async fn delete_one(
    State(org): State<Arc<Org>>,
    Path((version, object, id)): Path<(String, String, String)>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let mut store = org.data_store_mut();
    if store.table_index(&object).is_none() {
        return not_found();
    }
    match writes::delete(&mut store, &mut lock(&org.faults), &object, &id, now_millis()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => record_error_response(e),
    }
}
