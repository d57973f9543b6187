//! `POST /api/runs/{id}/retry[?seq=N]`: "Retry all failed" on a run, or "Retry" on its record at
//! position `seq` (admins only). Outbound records are queued for the next push, which pushes them
//! in a "Retry" run of their own; inbound records are fetched from Salesforce by ID and applied now,
//! in a "Retry" run. Both are linked to the run retried.
//!
//! The run page's buttons are plain forms: a browser's form post (`Accept: text/html`) is answered
//! with a redirect to the run page, which says what was retried; anything else gets JSON.

use super::auth::{audit, Admin};
use super::error::ApiError;
use super::state::ApiState;
use crate::sync::retry::{retry_failed, RetryOutcome};
use crate::sync::SyncError;
use app::domain::access::AuditAction;
use app::domain::href::in_workspace;
use app::domain::RunId;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<ApiState> {
    Router::new().route("/api/runs/{id}/retry", post(retry))
}

#[derive(Deserialize)]
struct Params {
    seq: Option<String>,
}

async fn retry(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = RunId::parse(&id)
        .ok_or_else(|| ApiError::BadRequest(format!("{id:?} is not a run id.")))?;
    let only = match params.seq.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(n) => Some(n.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::BadRequest(format!("{n:?} is not a record position (a number from 0)."))
        })?),
    };
    let ws = viewer.ws();
    let run = app::store::get_run(&s.pool, &ws, id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "retry: run");
            ApiError::Internal("the run could not be read".into())
        })?
        .ok_or_else(|| {
            ApiError::NotFound("There is no sync run with this id in this workspace.".into())
        })?;
    let engine = s.engine(&ws).await?;
    let outcome = match retry_failed(&engine, &run, only).await {
        Ok(outcome) => outcome,
        Err(SyncError::AlreadyRunning(object)) => {
            return Err(ApiError::Conflict(format!(
                "A sync of {} is running right now. Retry when it has finished.",
                object.plural()
            )))
        }
        Err(e) => {
            tracing::error!(error = %e, run = %id, "retry failed");
            return Err(ApiError::Unavailable {
                message: format!("The retry could not be made: {e}"),
                retry_after_secs: Some(30),
            });
        }
    };
    tracing::info!(run = %id, by = %viewer.email, ?outcome, "retried failed records");
    let detail = audit_detail(id, only, &outcome);
    audit(&s.pool, &viewer, s.clock.now_ms(), AuditAction::RetriedRecords, &detail).await;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        return Ok(
            Redirect::to(&in_workspace(&viewer.workspace, &back_to(id, &outcome))).into_response()
        );
    }
    Ok((StatusCode::ACCEPTED, Json(outcome)).into_response())
}

/// The audit trail's particulars: which run (and record), and what came of it.
fn audit_detail(id: RunId, only: Option<i64>, o: &RetryOutcome) -> String {
    let what = match only {
        Some(_) => format!("Run {id}, one failed record"),
        None => format!("Run {id}, all failed"),
    };
    let mut parts = vec![format!("{} retried", o.retried)];
    for (n, label) in [
        (o.already_queued, "already queued"),
        (o.already_synced, "already synced"),
        (o.gone, "gone"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    format!("{what}: {}", parts.join(", "))
}

/// Where a form's retry lands: the new run when an inbound retry made one, otherwise the run
/// retried, told what was queued.
fn back_to(id: RunId, o: &RetryOutcome) -> String {
    match o.runs.first() {
        Some(new) => format!("/settings/crm/sync-activity/runs/{new}"),
        None => format!(
            "/settings/crm/sync-activity/runs/{id}?status=failed&retried={}&already={}&synced={}&gone={}",
            o.retried, o.already_queued, o.already_synced, o.gone
        ),
    }
}
