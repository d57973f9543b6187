//! The browser entry point: hydrate the page's islands and nothing else.

// Links the app crate: its islands export themselves to the page.
#[allow(unused_imports)]
use app::*;

/// Hydrates the islands of the server-rendered page (the parts that change or respond in the
/// browser); the rest of the page stays the server's HTML.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The page's server functions are called in its workspace: `/w/{workspace}/api/…`.
    if let Some(ws) = app::domain::href::current_workspace() {
        let base = app::domain::href::in_workspace(&ws, "");
        leptos::server_fn::client::set_server_url(Box::leak(base.into_boxed_str()));
    }
    leptos::mount::hydrate_islands();
}
