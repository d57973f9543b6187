//! Server functions: the reads behind every page. Each is a GET with query parameters at a stable
//! path under `/api`, so it doubles as the JSON API documented in `docs/API.md`.

pub mod activity;
pub mod connection;
pub mod health;
pub mod run;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::state::AppState;
    use leptos::prelude::*;

    pub fn state() -> Result<AppState, ServerFnError> {
        use_context::<AppState>().ok_or_else(|| ServerFnError::new("server state is missing"))
    }

    /// Logs the real cause and gives the browser a safe, human message.
    pub fn internal(e: impl std::fmt::Display) -> ServerFnError {
        tracing::error!(error = %e, "sync activity query failed");
        ServerFnError::new("Sync activity could not be loaded. Try again in a moment.")
    }

    /// Live data is never used from a cache without asking the server: `no-cache` (these answers
    /// carry no validator, so asking is fetching them again). Also on the pages that read it. Not
    /// `no-store`, which also keeps a page out of the browser's back-forward cache.
    pub fn no_cache() {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.insert_header(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-cache"),
            );
        }
    }

    /// 503: the database cannot be written now; the same request can be made again later.
    pub fn unavailable() {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
            resp.insert_header(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
    }

    pub fn not_found() {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
}
