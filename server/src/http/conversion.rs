//! Conversion's JSON API: create / update / delete contacts and companies, record events. Bad
//! input gets a 4xx with a clear message and changes nothing; a good change is saved with its
//! outbox row and the outbound worker is woken at once.
//!
//! `POST /api/conversion/contacts`, `PATCH|DELETE /api/conversion/contacts/{id}`,
//! `POST /api/conversion/companies`, `PATCH|DELETE /api/conversion/companies/{id}`,
//! `POST /api/conversion/events`.

use super::auth::Admin;
use super::error::{ApiError, JsonBody};
use super::state::ApiState;
use crate::conversion::changes::{self, ChangeError, CompanyInput, ContactInput, EventInput};
use app::store::WorkspaceId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{patch, post};
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/conversion/contacts", post(create_contact))
        .route("/api/conversion/contacts/{id}", patch(update_contact).delete(delete_contact))
        .route("/api/conversion/companies", post(create_company))
        .route("/api/conversion/companies/{id}", patch(update_company).delete(delete_company))
        .route("/api/conversion/events", post(record_event))
}

/// `201 {"id": ...}` for what was created.
type Created = (StatusCode, Json<serde_json::Value>);

/// A saved change wakes the outbound worker; a refused one says why.
fn saved<T>(s: &ApiState, ws: &WorkspaceId, result: Result<T, ChangeError>) -> Result<T, ApiError> {
    match result {
        Ok(v) => {
            s.engines.outbox_changed(ws);
            Ok(v)
        }
        Err(ChangeError::Invalid(m)) => Err(ApiError::Unprocessable(m)),
        Err(e @ ChangeError::NotFound(_)) => Err(ApiError::NotFound(e.to_string())),
        Err(ChangeError::Store(e)) => Err(s.not_saved(&e, "The change was not saved")),
    }
}

fn created(id: String) -> Created {
    (StatusCode::CREATED, Json(serde_json::json!({ "id": id })))
}

async fn create_contact(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<Created, ApiError> {
    let r = changes::create_contact(&s.pool, &viewer.ws(), &input, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(created)
}

async fn update_contact(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ContactInput>,
) -> Result<StatusCode, ApiError> {
    let r = changes::update_contact(&s.pool, &viewer.ws(), &id, &input, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(|()| StatusCode::NO_CONTENT)
}

async fn delete_contact(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let r = changes::delete_contact(&s.pool, &viewer.ws(), &id, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(|_| StatusCode::NO_CONTENT)
}

async fn create_company(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    JsonBody(input): JsonBody<CompanyInput>,
) -> Result<Created, ApiError> {
    let r = changes::create_company(&s.pool, &viewer.ws(), &input, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(created)
}

async fn update_company(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<CompanyInput>,
) -> Result<StatusCode, ApiError> {
    let r = changes::update_company(&s.pool, &viewer.ws(), &id, &input, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(|()| StatusCode::NO_CONTENT)
}

async fn delete_company(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let r = changes::delete_company(&s.pool, &viewer.ws(), &id, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(|_| StatusCode::NO_CONTENT)
}

async fn record_event(
    State(s): State<ApiState>,
    Admin(viewer): Admin,
    JsonBody(input): JsonBody<EventInput>,
) -> Result<Created, ApiError> {
    let r = changes::record_event(&s.pool, &viewer.ws(), &input, s.clock.now_ms()).await;
    saved(&s, &viewer.ws(), r).map(created)
}
