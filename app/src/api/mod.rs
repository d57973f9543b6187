//! Server functions: the reads behind every page. Each is a GET with query parameters at a stable
//! path under `/api`, so it doubles as the JSON API documented in `docs/API.md`.

pub mod activity;
pub mod alerts;
pub mod connection;
pub mod health;
pub mod history;
pub mod members;
pub mod record;
pub mod run;
pub mod schedule;

/// The signed-in person of the request being rendered (pages show who is signed in, and hide an
/// admin's controls from members).
#[cfg(feature = "ssr")]
pub fn viewer() -> Option<crate::domain::access::Viewer> {
    ssr::viewer().ok()
}

/// Every workspace of the signed-in person (server only: the product bar's switcher).
#[cfg(feature = "ssr")]
pub fn workspaces() -> Vec<crate::domain::access::Viewer> {
    use leptos::prelude::use_context;
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::domain::access::Workspaces>().cloned())
        .map(|w| w.0)
        .unwrap_or_default()
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::domain::access::Viewer;
    use crate::state::AppState;
    use leptos::prelude::*;

    /// The server's state as this request sees it: the workspace is the signed-in person's (the
    /// server lets no request without one reach a server function).
    pub fn state() -> Result<AppState, ServerFnError> {
        let mut st = use_context::<AppState>()
            .ok_or_else(|| ServerFnError::new("server state is missing"))?;
        let viewer = viewer()?;
        st.workspace = crate::store::WorkspaceId(viewer.workspace);
        st.workspace_name = viewer.workspace_name.into();
        Ok(st)
    }

    /// The signed-in person, as the server's sign-in layer put them on the request.
    pub fn viewer() -> Result<Viewer, ServerFnError> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
            .ok_or_else(|| ServerFnError::new("Sign in to Conversion first."))
    }

    /// The signed-in person when they are an admin of the workspace; anyone else gets 403 and
    /// [`ADMINS_ONLY`](crate::domain::access::ADMINS_ONLY).
    pub fn require_admin() -> Result<Viewer, ServerFnError> {
        let viewer = viewer()?;
        if viewer.is_admin() {
            return Ok(viewer);
        }
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(axum::http::StatusCode::FORBIDDEN);
        }
        Err(ServerFnError::new(crate::domain::access::ADMINS_ONLY))
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
