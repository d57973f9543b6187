//! Sync activity: the part of Conversion that shows every sync run with Salesforce.
//!
//! - [`domain`]: runs, records, statuses, URL filters and the help article's message catalog.
//! - [`api`]: server functions (the reads behind every page, also a small JSON API).
//! - [`pages`]: one file per page; [`components`]: the small pieces they share.
//! - [`store`] (server only): SQLite, migrations and queries. [`state`] (server only): AppState.
//!
//! Leptos islands: the server renders every page; only the components marked `#[island]` (the
//! live run list, a run's records, the filters, the health card, the settings form, local times)
//! hydrate in the browser, so the Wasm carries only their code.

// The view types of the larger pages nest deeper than the default limit in release builds.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The stylesheet's name carries its content hash (cargo-leptos `hash-files`).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site and the page's own inline
/// scripts (Leptos's hydration scripts carry this answer's nonce), Wasm compiled from this site's
/// file (`'wasm-unsafe-eval'`), calls only to this site, never framed. Style attributes stay
/// allowed (the charts' bar widths); there is no inline style element.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|t: String| if t.is_empty() { "Conversion".to_string() } else { format!("{t} · Conversion") }/>
        <Router>
            <Routes fallback=pages::not_found::NotFoundPage>
                <Route path=path!("/") view=|| view! { <Redirect path=domain::href::at("/settings/crm")/> }/>
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage/>
                <Route path=path!("/settings/users") view=pages::users::UsersPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/crm") view=pages::crm_overview::CrmOverviewPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/crm/sync-activity") view=pages::sync_activity::SyncActivityPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/crm/sync-activity/runs/:id") view=pages::run::RunPage ssr=SsrMode::Async/>
                <Route path=path!("/settings/crm/sync-activity/records/:key") view=pages::record::RecordPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
