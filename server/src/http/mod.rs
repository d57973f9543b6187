//! Everything that answers HTTP beside the Leptos pages: the JSON API, the Connect flow, the
//! middleware over every request and how the built files are served.
//!
//! - [`alerts`]: the workspace's alert webhook (`GET|PUT /api/alerts`, `POST /api/alerts/test`).
//! - [`sync_controls`]: `POST /api/sync/now`, `GET /api/sync/status`, `GET|PUT /api/sync/settings`.
//! - [`conversion`]: Conversion's records (`/api/conversion/...`).
//! - [`export`]: a run's records as CSV (`/api/runs/{id}/records.csv`).
//! - [`oauth`]: Connect / Reconnect / Disconnect Salesforce.
//! - [`auth`]: signing in and out, and the layer that lets only signed-in members through.
//! - [`tokens`]: API tokens for scripts.
//! - [`members`]: invitations, removing members, and the invitation link.
//! - [`same_origin`], [`bad_request`]: middleware; [`site`]: compression and caching.
//!
//! Handlers return `Result<_, ApiError>` ([`error`]); the state they share is [`ApiState`]
//! ([`state`]). Both are leaves: the resources import them from there, not from this module,
//! which mounts the resources.

pub mod alerts;
pub mod allowed_hosts;
pub mod auth;
pub mod bad_request;
pub mod conversion;
pub mod error;
pub mod export;
pub mod headers;
pub mod members;
pub mod oauth;
pub mod rate_limit;
pub mod retry;
pub mod same_origin;
pub mod site;
pub mod state;
pub mod sync_controls;
pub mod tokens;
pub mod trace;

pub use error::{ApiError, JsonBody};
pub use state::ApiState;

use axum::Router;

/// The JSON API and the Connect flow.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .merge(alerts::routes())
        .merge(conversion::routes())
        .merge(export::routes())
        .merge(retry::routes())
        .merge(oauth::routes())
        .merge(sync_controls::routes())
        .merge(tokens::routes())
        .merge(members::routes())
        .with_state(state)
}
