//! Conversion's JSON API: create / update / delete contacts and companies, record events. Bad
//! input gets a 4xx with a clear message and changes nothing; a good change is saved with its
//! outbox row and the outbound worker is woken at once.
//!
//! `POST /api/conversion/contacts`, `PATCH|DELETE /api/conversion/contacts/{id}`,
//! `POST /api/conversion/companies`, `PATCH|DELETE /api/conversion/companies/{id}`,
//! `POST /api/conversion/events`.

use super::changes::{self, ChangeError};
use crate::api::{error, ApiState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/conversion/contacts", post(create_contact))
        .route("/api/conversion/contacts/{id}", patch(update_contact).delete(delete_contact))
        .route("/api/conversion/companies", post(create_company))
        .route("/api/conversion/companies/{id}", patch(update_company).delete(delete_company))
        .route("/api/conversion/events", post(record_event))
}

/// Parses a JSON body ourselves so every problem is a 400 with serde's precise message.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}")))
}

fn respond(state: &ApiState, result: Result<Option<String>, ChangeError>, created: bool) -> Response {
    match result {
        Ok(id) => {
            if let Some(engine) = &state.engine {
                engine.outbox_changed();
            }
            match (id, created) {
                (Some(id), true) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
                _ => StatusCode::NO_CONTENT.into_response(),
            }
        }
        Err(ChangeError::Invalid(m)) => error(StatusCode::UNPROCESSABLE_ENTITY, &m),
        Err(e @ ChangeError::NotFound(_)) => error(StatusCode::NOT_FOUND, &e.to_string()),
        Err(ChangeError::Store(e)) => crate::api::not_saved(state, &e, "The change was not saved"),
    }
}

async fn create_contact(State(s): State<ApiState>, body: Bytes) -> Response {
    let input = match parse(&body) { Ok(i) => i, Err(r) => return r };
    let r = changes::create_contact(&s.pool, &s.workspace, &input, s.clock.now_ms()).await.map(Some);
    respond(&s, r, true)
}

async fn update_contact(State(s): State<ApiState>, Path(id): Path<String>, body: Bytes) -> Response {
    let input = match parse(&body) { Ok(i) => i, Err(r) => return r };
    let r = changes::update_contact(&s.pool, &s.workspace, &id, &input, s.clock.now_ms()).await.map(|_| None);
    respond(&s, r, false)
}

async fn delete_contact(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let r = changes::delete_contact(&s.pool, &s.workspace, &id, s.clock.now_ms()).await.map(|_| None);
    respond(&s, r, false)
}

async fn create_company(State(s): State<ApiState>, body: Bytes) -> Response {
    let input = match parse(&body) { Ok(i) => i, Err(r) => return r };
    let r = changes::create_company(&s.pool, &s.workspace, &input, s.clock.now_ms()).await.map(Some);
    respond(&s, r, true)
}

async fn update_company(State(s): State<ApiState>, Path(id): Path<String>, body: Bytes) -> Response {
    let input = match parse(&body) { Ok(i) => i, Err(r) => return r };
    let r = changes::update_company(&s.pool, &s.workspace, &id, &input, s.clock.now_ms()).await.map(|_| None);
    respond(&s, r, false)
}

async fn delete_company(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let r = changes::delete_company(&s.pool, &s.workspace, &id, s.clock.now_ms()).await.map(|_| None);
    respond(&s, r, false)
}

async fn record_event(State(s): State<ApiState>, body: Bytes) -> Response {
    let input = match parse(&body) { Ok(i) => i, Err(r) => return r };
    let r = changes::record_event(&s.pool, &s.workspace, &input, s.clock.now_ms()).await.map(Some);
    respond(&s, r, true)
}
