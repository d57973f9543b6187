//! Alerts to the workspace's webhook (README, "Alerts"):
//!
//! - `GET /api/alerts`: the webhook (for members its address's scheme and host only) and its
//!   latest delivery attempts.
//! - `PUT /api/alerts` (admin): the address, the threshold of failed records and whether it is
//!   on; the first save (or one with `rotate_secret`) answers the new signing secret, once.
//! - `POST /api/alerts/test` (admin): queues a test alert and wakes the alert task; 202 with the
//!   delivery's id, whose attempts `GET /api/alerts` then lists.

use super::auth::{audit, Admin, Signed};
use super::error::{ApiError, JsonBody};
use super::state::ApiState;
use app::domain::access::AuditAction;
use app::domain::alerts::{AlertSettingsInput, AlertsView, SavedAlerts, ATTEMPTS_SHOWN};
use app::store::alerts::{self as store, deliveries};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/alerts", get(get_alerts).put(put_alerts))
        .route("/api/alerts/test", post(send_test))
}

async fn get_alerts(
    State(s): State<ApiState>,
    Signed(viewer): Signed,
) -> Result<Json<AlertsView>, ApiError> {
    let ws = viewer.ws();
    let unreadable = |e: app::store::StoreError| {
        tracing::error!(error = %e, "alerts: reading the webhook");
        ApiError::Internal("The alert settings could not be read. Try again in a moment.".into())
    };
    let hook = store::webhook(&s.pool, &ws).await.map_err(unreadable)?;
    let attempts =
        deliveries::recent_attempts(&s.pool, &ws, ATTEMPTS_SHOWN).await.map_err(unreadable)?;
    let can_change = viewer.is_admin();
    Ok(Json(AlertsView { webhook: hook.map(|h| h.view(can_change)), attempts, can_change }))
}

async fn put_alerts(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    JsonBody(input): JsonBody<AlertSettingsInput>,
) -> Result<Response, ApiError> {
    let input = input.checked().map_err(ApiError::BadRequest)?;
    let (ws, now) = (viewer.ws(), s.clock.now_ms());
    let done = store::configure(&s.pool, s.alerts.keyring(), &ws, &input, now)
        .await
        .map_err(|e| s.not_saved(&e, "The alert webhook was not saved"))?;
    if !done.changed.is_empty() {
        let detail = format!("{} ({})", done.webhook.url, done.changed.join(", "));
        audit(&s.pool, &viewer, now, AuditAction::AlertsChanged, &detail).await;
    }
    let shows_secret = done.new_secret.is_some();
    let saved = SavedAlerts { webhook: done.webhook.view(true), secret: done.new_secret };
    let mut response = Json(saved).into_response();
    if shows_secret {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

async fn send_test(State(s): State<ApiState>, Admin(viewer): Admin) -> Result<Response, ApiError> {
    let queued = deliveries::queue_test(&s.pool, &viewer.ws(), s.clock.now_ms())
        .await
        .map_err(|e| s.not_saved(&e, "The test alert was not queued"))?;
    let Some(id) = queued else {
        return Err(ApiError::Conflict(
            "This workspace has no alert webhook yet: save its address first (PUT /api/alerts)."
                .into(),
        ));
    };
    s.alerts.wake();
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "delivery": id }))).into_response())
}
