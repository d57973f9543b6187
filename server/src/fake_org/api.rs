//! What every data request goes through before its handler (latency, injected 500s, the bearer
//! token, the daily allowance), the whole-request error shape, and the small resources:
//! versions, `/limits`, `/sobjects`, describe.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm>

use super::org::{lock, now_minute, Org};
use crate::salesforce::types::{ApiErrorBody, ApiUsage, LimitValue, Limits};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A whole-request error: `[{"message": ..., "errorCode": ...}]` with its HTTP status.
pub fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(vec![ApiErrorBody { message: message.into(), error_code: code.into(), fields: None }])).into_response()
}

pub fn api_error_body(status: StatusCode, body: ApiErrorBody) -> Response {
    (status, Json(vec![body])).into_response()
}

pub fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
}

pub fn unreadable(object: &str) -> Response {
    api_error(
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_ACCESS_OR_READONLY",
        format!("The integration user does not have access to read {object}."),
    )
}

/// API versions are `vNN.N`; anything else under `/services/data` does not exist.
pub fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()))
}

/// Middleware for `/services/data/vXX.X/*`: latency, then injected 500s, then the session, then
/// the daily allowance, then the response delay; `Sforce-Limit-Info` is set on whatever comes back.
pub async fn gate(State(org): State<Arc<Org>>, request: Request, next: Next) -> Response {
    let latency = lock(&org.faults).latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let minute = now_minute();
    let max = lock(&org.usage).max;
    let with_usage = |mut response: Response, used: u64| {
        if let Ok(v) = HeaderValue::from_str(&ApiUsage { used, max }.header_value()) {
            response.headers_mut().insert(ApiUsage::HEADER, v);
        }
        response
    };
    let current = || lock(&org.usage).used(minute);

    if lock(&org.faults).take_failure() {
        let response = api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1987620144-35772 (-1182472283)",
        );
        return with_usage(response, current());
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
        .map(str::trim);
    let valid = token.is_some_and(|t| lock(&org.tokens).access_valid(t, org.session_timeout));
    if !valid {
        let response = api_error(StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", "Session expired or invalid");
        return with_usage(response, current());
    }
    let counted = lock(&org.usage).try_count(minute);
    match counted {
        Err(used) => {
            let response = api_error(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
            with_usage(response, used)
        }
        Ok(used) => {
            let response = next.run(request).await;
            let delay = lock(&org.faults).response_delay_ms;
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            with_usage(response, used)
        }
    }
}

/// `GET /services/data`: the versions this org speaks (unauthenticated, as in Salesforce).
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_versions.htm>
pub async fn versions() -> Response {
    Json(json!([
        {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"},
        {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"},
        {"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"}
    ]))
    .into_response()
}

/// `GET /limits`.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm>
pub async fn limits(State(org): State<Arc<Org>>, Path(version): Path<String>) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let (max, used) = {
        let mut usage = lock(&org.usage);
        let used = usage.used(now_minute());
        (usage.max, used)
    };
    let records = org.data_store().tables.iter().map(|t| t.rows.len() as i64).sum::<i64>();
    // A record is counted as 2 KB of data storage, as Salesforce does for most objects.
    let storage_max = 1024;
    let mut body = Limits::new();
    let mut put = |name: &str, max: i64, remaining: i64| {
        body.insert(name.to_string(), LimitValue { max, remaining });
    };
    put("DailyApiRequests", max as i64, max.saturating_sub(used) as i64);
    put("DailyBulkApiBatches", 15_000, 15_000);
    put("DailyAsyncApexExecutions", 250_000, 250_000);
    put("DataStorageMB", storage_max, (storage_max - records * 2 / 1024).max(0));
    put("FileStorageMB", 1024, 1024);
    put("SingleEmail", 5_000, 5_000);
    Json(body).into_response()
}

/// `GET /sobjects`: the global describe, one entry per object.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_describeGlobal.htm>
pub async fn describe_global(State(org): State<Arc<Org>>, Path(version): Path<String>) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    let store = org.data_store();
    let sobjects: Vec<_> = store
        .tables
        .iter()
        .map(|t| {
            let name = t.def.name;
            json!({
                "name": name, "label": t.def.label, "keyPrefix": t.def.key_prefix, "custom": t.def.custom(),
                "createable": true, "updateable": true, "deletable": true, "queryable": true,
                "urls": {
                    "sobject": format!("/services/data/{version}/sobjects/{name}"),
                    "describe": format!("/services/data/{version}/sobjects/{name}/describe"),
                    "rowTemplate": format!("/services/data/{version}/sobjects/{name}/{{ID}}"),
                }
            })
        })
        .collect();
    Json(json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})).into_response()
}

/// `GET /sobjects/{type}/describe`.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm>
pub async fn describe(State(org): State<Arc<Org>>, Path((version, object)): Path<(String, String)>) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    if lock(&org.faults).is_unreadable(&object) {
        return unreadable(&object);
    }
    match org.data_store().table(&object) {
        Some(t) => Json(t.def.describe()).into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_look_like_v_major_minor() {
        assert!(valid_version("v62.0"));
        assert!(!valid_version("62.0"));
        assert!(!valid_version("v62"));
        assert!(!valid_version("vx.0"));
    }
}
