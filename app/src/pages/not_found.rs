//! Any URL the app does not know.

use crate::components::layout::HydrationMarker;
use crate::domain::href::at;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <main class="standalone">
            <div class="empty-state">
                <p class="empty-state__code">"404"</p>
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address. It may have been mistyped or moved."</p>
                <a class="btn btn--primary" href=at("/settings/crm")>"Go to CRM & Syncing"</a>
            </div>
        </main>
        <HydrationMarker/>
    }
}
