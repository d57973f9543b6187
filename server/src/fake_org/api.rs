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
    (
        status,
        Json(vec![ApiErrorBody { message: message.into(), error_code: code.into(), fields: None }]),
    )
        .into_response()
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

/// The oldest API version a real org still serves: 7.0-30.0 were retired (30.0 and older answer
/// 410 GONE since Summer '25).
/// Doc: <https://help.salesforce.com/s/articleView?id=000354473&type=1>
pub const OLDEST_VERSION: u32 = 31;
/// The newest version this org speaks (Spring '25); later ones do not exist yet.
pub const NEWEST_VERSION: u32 = 63;

/// What a `vNN.N` path segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSupport {
    Supported,
    /// An existing version that Salesforce has retired: 410.
    Retired,
    /// Not a version, or one that was never released: 404 like any unknown resource.
    Unknown,
}

pub fn version_support(v: &str) -> VersionSupport {
    let major = v
        .strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .filter(|(a, b)| *b == "0" && !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|(a, _)| a.parse::<u32>().ok());
    match major {
        Some(m) if (OLDEST_VERSION..=NEWEST_VERSION).contains(&m) => VersionSupport::Supported,
        Some(m) if (7..OLDEST_VERSION).contains(&m) => VersionSupport::Retired,
        _ => VersionSupport::Unknown,
    }
}

/// Whether `/services/data/{v}/...` is served by this org.
pub fn valid_version(v: &str) -> bool {
    version_support(v) == VersionSupport::Supported
}

/// The release a version came with: three a year, v62.0 being Winter '25.
fn release_label(major: u32) -> String {
    let k = major as i64 - 62;
    let season = ["Winter", "Spring", "Summer"][k.rem_euclid(3) as usize];
    format!("{season} '{:02}", 25 + k.div_euclid(3))
}

/// The answer to a request for a version that is not served (`None`: it is served).
fn version_refusal(path: &str) -> Option<Response> {
    let segment = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match version_support(segment) {
        VersionSupport::Supported => None,
        // The retirement notice documents the status only; the body is the usual error array.
        VersionSupport::Retired => Some(api_error(
            StatusCode::GONE,
            "NOT_FOUND",
            format!("API version {segment} has been retired"),
        )),
        VersionSupport::Unknown => Some(not_found()),
    }
}

/// Middleware for everything under `/services/data/` (unknown paths included, so that they too
/// need a session and carry the header): latency, then injected 500s, then the session, then the
/// API version, then the daily allowance, then the response delay; `Sforce-Limit-Info` is set on
/// whatever comes back.
pub async fn gate(State(org): State<Arc<Org>>, request: Request, next: Next) -> Response {
    org.stats.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        let response =
            api_error(StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", "Session expired or invalid");
        return with_usage(response, current());
    }
    if let Some(refused) = version_refusal(request.uri().path()) {
        return with_usage(refused, current());
    }
    let counted = lock(&org.usage).try_count(minute);
    match counted {
        Err(used) => {
            let response = api_error(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            );
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
    let all: Vec<_> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|major| {
            json!({"label": release_label(major), "url": format!("/services/data/v{major}.0"), "version": format!("{major}.0")})
        })
        .collect();
    Json(all).into_response()
}

/// `GET /services/data/vXX.X`: the resources of a version, name to URL.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_discoveryresource.htm>
pub async fn resources(Path(version): Path<String>) -> Response {
    let url = |name: &str| format!("/services/data/{version}/{name}");
    Json(json!({
        "limits": url("limits"),
        "query": url("query"),
        "queryAll": url("queryAll"),
        "sobjects": url("sobjects"),
        "composite": url("composite"),
    }))
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
    let (jobs_max, jobs_used) = {
        let mut jobs = lock(&org.bulk);
        (jobs.daily_max, jobs.used(super::org::now_millis()))
    };
    put("DailyBulkV2QueryJobs", jobs_max as i64, jobs_max.saturating_sub(jobs_used) as i64);
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
pub async fn describe(
    State(org): State<Arc<Org>>,
    Path((version, object)): Path<(String, String)>,
) -> Response {
    if !valid_version(&version) {
        return not_found();
    }
    if lock(&org.faults).is_unreadable(&object) {
        return unreadable(&object);
    }
    match org.data_store().table(&object) {
        Some(t) => Json(t.def.describe(&version)).into_response(),
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_released_unretired_versions_are_served() {
        assert!(valid_version("v62.0"));
        assert!(valid_version("v31.0"));
        assert!(!valid_version("62.0"));
        assert!(!valid_version("v62"));
        assert!(!valid_version("vx.0"));
        assert!(!valid_version("v62.5"));
        assert_eq!(version_support("v30.0"), VersionSupport::Retired);
        assert_eq!(version_support("v99.0"), VersionSupport::Unknown);
        assert_eq!(version_support("v6.0"), VersionSupport::Unknown);
    }

    #[test]
    fn release_labels_follow_the_three_releases_a_year() {
        assert_eq!(release_label(62), "Winter '25");
        assert_eq!(release_label(63), "Spring '25");
        assert_eq!(release_label(61), "Summer '24");
        assert_eq!(release_label(31), "Summer '14");
    }
}
