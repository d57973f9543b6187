//! The server's JSON API beside the pages: Conversion's data ([`crate::conversion::api`]) and the
//! sync controls: `POST /api/sync/now[?object=contact]`, `GET /api/sync/status`,
//! `GET|PUT /api/sync/settings`. There is no "reconnect" call: only the OAuth flow
//! ([`crate::connect`]) connects, so the connection state never claims tokens it does not have.

use crate::sync::{scheduler, state, Engine};
use app::domain::ObjectType;
use app::state::Clock;
use app::store::{StorageHealth, StoreError, WorkspaceId};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sqlx::SqlitePool;
use std::sync::Arc;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub pool: SqlitePool,
    pub workspace: WorkspaceId,
    pub clock: Arc<dyn Clock>,
    /// Absent when the server runs without the engine (`--demo false`).
    pub engine: Option<Engine>,
    /// Where a storage failure met by a change is reported (the health card shows it).
    pub storage: StorageHealth,
}

/// `{"error": "..."}` with a status.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// A change the database did not take (`refused`: "The change was not saved"). While it cannot be
/// written (a full disk, a read-only or damaged file) that is a 503 the caller can retry, with what
/// happened in words; anything else is the server's own failure, logged, and a 500.
pub fn not_saved(s: &ApiState, e: &StoreError, refused: &str) -> Response {
    tracing::error!(error = %e, "{refused}");
    match s.storage.report(e, s.clock.now_ms()) {
        Some(failure) => {
            let message = format!("{refused}: {}. Try again in a few minutes.", failure.cause());
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, &message);
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
            r
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{refused}.")),
    }
}

pub fn router(state: ApiState) -> axum::Router {
    Router::new()
        .merge(crate::conversion::api::routes())
        .merge(crate::connect::routes())
        .route("/api/sync/now", post(sync_now))
        .route("/api/sync/status", get(status))
        .route("/api/sync/settings", get(get_settings).put(put_settings))
        .with_state(state)
}

fn no_engine() -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "the sync engine is not running on this server")
}

#[derive(Deserialize)]
struct NowParams {
    object: Option<String>,
}

async fn sync_now(State(s): State<ApiState>, Query(p): Query<NowParams>) -> Response {
    let Some(engine) = &s.engine else { return no_engine() };
    let object = match p.object.as_deref() {
        None | Some("") => None,
        Some(code) => match ObjectType::parse(code) {
            Some(o) => Some(o),
            None => {
                let known: Vec<&str> = ObjectType::ALL.iter().map(|o| o.as_str()).collect();
                return error(StatusCode::BAD_REQUEST, &format!("unknown object {code:?}; one of {}", known.join(", ")));
            }
        },
    };
    if scheduler::sync_now(engine, object) {
        (StatusCode::ACCEPTED, Json(serde_json::json!({ "started": object.map(|o| o.as_str()).unwrap_or("all") }))).into_response()
    } else {
        error(StatusCode::CONFLICT, "that object is already syncing")
    }
}

async fn status(State(s): State<ApiState>) -> Response {
    let Some(engine) = &s.engine else {
        return Json(serde_json::json!({ "engine": false, "org_url": null })).into_response();
    };
    let connection = match state::connection(&s.pool, &s.workspace).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "status: connection state");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "status unavailable");
        }
    };
    let pending = crate::conversion::changes::outbox_len(&s.pool, &s.workspace).await.unwrap_or(-1);
    let running: Vec<&str> = engine.running().into_iter().map(|o| o.as_str()).collect();
    Json(serde_json::json!({
        "engine": true,
        "org_url": engine.org_url(),
        "connection": connection,
        "running": running,
        "outbox_pending": pending,
        "api_usage": engine.client().api_usage().map(|u| serde_json::json!({ "used": u.used, "max": u.max })),
        "interval_ms": engine.config().interval.as_millis() as u64,
    }))
    .into_response()
}

async fn get_settings(State(s): State<ApiState>) -> Response {
    match state::settings(&s.pool, &s.workspace).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "settings");
            error(StatusCode::INTERNAL_SERVER_ERROR, "settings unavailable")
        }
    }
}

async fn put_settings(State(s): State<ApiState>, body: Bytes) -> Response {
    let settings: state::Settings = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid settings: {e}")),
    };
    // Domains are normalised as the form does ("@Example.com" is example.com); then the same
    // check as the Overview's form.
    let settings = match app::domain::settings::parse_domains(&settings.excluded_domains.join(",")) {
        Ok(excluded_domains) => state::Settings { excluded_domains, ..settings },
        Err(message) => return error(StatusCode::UNPROCESSABLE_ENTITY, &message),
    };
    if let Err(message) = settings.validate() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    match state::save_settings(&s.pool, &s.workspace, &settings).await {
        Ok(()) => {
            // A new schedule counts from the last run, not after the old interval.
            if let Some(engine) = &s.engine {
                engine.wake();
            }
            Json(settings).into_response()
        }
        Err(e) => not_saved(&s, &e, "The settings were not saved"),
    }
}
