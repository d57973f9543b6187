//! The sync controls: `POST /api/sync/now[?object=contact]`, `GET /api/sync/status`,
//! `GET|PUT /api/sync/settings`, and `GET /api/cluster` (which server holds which of the
//! workspace's sync work). There is no "reconnect" call: only the OAuth flow
//! ([`super::oauth`]) connects, so the connection state never claims tokens it does not have.

use super::auth::{audit, Admin, Signed};
use super::error::{ApiError, JsonBody};
use super::state::ApiState;
use crate::sync::{scheduler, state};
use app::domain::access::AuditAction;
use app::domain::settings::SettingsInput;
use app::domain::ObjectType;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/sync/now", post(sync_now))
        .route("/api/sync/status", get(status))
        .route("/api/sync/settings", get(get_settings).put(put_settings))
        .route("/api/cluster", get(cluster))
}

/// For operators: this server's name, and who holds each piece of the workspace's sync work
/// (several servers on one database share it). A lease past `expires_at` is free to take.
async fn cluster(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
) -> Result<Json<serde_json::Value>, ApiError> {
    let leases = app::store::leases::leases(&s.pool, &viewer.ws()).await.map_err(|e| {
        tracing::error!(error = %e, "cluster: leases");
        ApiError::Internal("the sync work's leases could not be read".into())
    })?;
    let now = s.clock.now_ms();
    let leases: Vec<serde_json::Value> = leases
        .into_iter()
        .map(|l| {
            let live = l.holder.is_some() && l.expires_at > now;
            serde_json::json!({
                "work": l.work,
                "holder": l.holder.filter(|_| live),
                "fence": l.fence,
                "claimed_at": l.claimed_at.filter(|_| live),
                "expires_at": if live { Some(l.expires_at) } else { None },
                "last_done_at": if l.done_at > 0 { Some(l.done_at) } else { None },
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "instance": s.instance,
        "database": s.pool.backend().name(),
        "leases": leases,
    })))
}

#[derive(Deserialize)]
struct NowParams {
    object: Option<String>,
}

async fn sync_now(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Query(p): Query<NowParams>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    // The activity view's button is a plain form: the browser goes back to the view, where the
    // new runs appear.
    let form = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let back = || {
        axum::response::Redirect::to(&app::domain::href::in_workspace(
            &viewer.workspace,
            "/settings/crm/sync-activity",
        ))
        .into_response()
    };
    let engine = s.engine(&viewer.ws()).await?;
    let object = match p.object.as_deref() {
        None | Some("") => None,
        Some(code) => Some(ObjectType::parse(code).ok_or_else(|| {
            let known: Vec<&str> = ObjectType::ALL.iter().map(|o| o.as_str()).collect();
            ApiError::BadRequest(format!("unknown object {code:?}; one of {}", known.join(", ")))
        })?),
    };
    if !scheduler::sync_now(&engine, object) {
        // Already syncing: nothing started, nothing to record.
        if form {
            return Ok(back());
        }
        return Err(ApiError::Conflict("that object is already syncing".into()));
    }
    let started = object.map(|o| o.as_str()).unwrap_or("all");
    let detail = object.map_or_else(|| "All objects".to_string(), |o| o.label().to_string());
    audit(&s.pool, &viewer, s.clock.now_ms(), AuditAction::StartedSync, &detail).await;
    if form {
        return Ok(back());
    }
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "started": started }))).into_response())
}

async fn status(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ws = viewer.ws();
    let Ok(engine) = s.engine(&ws).await else {
        return Ok(Json(serde_json::json!({ "engine": false, "org_url": null })));
    };
    let connection = state::connection(&s.pool, &ws).await.map_err(|e| {
        tracing::error!(error = %e, "status: connection state");
        ApiError::Internal("status unavailable".into())
    })?;
    let pending = crate::conversion::changes::outbox_len(&s.pool, &ws).await.unwrap_or(-1);
    let running: Vec<&str> = engine.running().into_iter().map(|o| o.as_str()).collect();
    let usage = engine.client().api_usage();
    Ok(Json(serde_json::json!({
        "engine": true,
        "org_url": engine.org_url(),
        "connection": connection,
        "running": running,
        "outbox_pending": pending,
        "api_usage": usage.map(|u| serde_json::json!({ "used": u.used, "max": u.max })),
        "interval_ms": engine.config().interval.as_millis() as u64,
    })))
}

async fn get_settings(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
) -> Result<Json<state::Settings>, ApiError> {
    state::settings(&s.pool, &viewer.ws()).await.map(Json).map_err(|e| {
        tracing::error!(error = %e, "settings");
        ApiError::Internal("settings unavailable".into())
    })
}

async fn put_settings(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    JsonBody(input): JsonBody<SettingsInput>,
) -> Result<Json<state::Settings>, ApiError> {
    // Domains are normalised as the form does ("@Example.com" is example.com); codes are read
    // into object types and fields; then the same check as the Overview's form.
    let excluded_domains = app::domain::settings::parse_domains(&input.excluded_domains.join(","))
        .map_err(ApiError::Unprocessable)?;
    let settings = state::Settings::try_from(SettingsInput { excluded_domains, ..input })
        .map_err(ApiError::Unprocessable)?;
    settings.validate().map_err(ApiError::Unprocessable)?;
    let ws = viewer.ws();
    let before = state::settings(&s.pool, &ws).await.ok();
    state::save_settings(&s.pool, &ws, &settings)
        .await
        .map_err(|e| s.not_saved(&e, "The settings were not saved"))?;
    let changed = before.map(|b| settings.changes_from(&b)).unwrap_or_default();
    if !changed.is_empty() {
        let now = s.clock.now_ms();
        audit(&s.pool, &viewer, now, AuditAction::SettingsChanged, &changed.join(", ")).await;
    }
    // A new schedule counts from the last run, not after the old interval.
    s.engines.wake(&ws);
    Ok(Json(settings))
}
