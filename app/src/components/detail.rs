//! The frame shared by the pages under Sync activity that show one thing (a run, a record): the
//! way back to the list, the zone their times are in, and what they say when the thing cannot be
//! read or is not there.

use crate::components::layout::{CrmTab, SettingsLayout};
use crate::components::time::TimesIn;
use crate::domain::filters::href_with;
use crate::domain::href::at;
use leptos::prelude::*;
use leptos_meta::Title;

/// The settings frame with "← All sync activity" and the zone label above the page's content.
#[component]
pub fn ActivityDetail(children: Children) -> impl IntoView {
    view! {
        <SettingsLayout active=CrmTab::SyncActivity>
            <div class="page-bar">
                <a class="back-link" href=href_with(&at("/settings/crm/sync-activity"), &[])>"← All sync activity"</a>
                <TimesIn/>
            </div>
            {children()}
        </SettingsLayout>
    }
}

/// What a page says when its data could not be read (the database is away, say): `what` is
/// "run" or "record".
#[component]
pub fn LoadFailed(what: &'static str) -> impl IntoView {
    view! {
        <div class="card empty-state" role="alert">
            <h3>{format!("This {what} could not be loaded")}</h3>
            <p>"Try again in a moment."</p>
        </div>
    }
}

/// A 404 card under Sync activity: the page's title, a heading, what the children explain, and
/// the way back. Answered with status 404 when the server renders it.
#[component]
pub fn NotThere(
    /// The page's title.
    title: String,
    /// The card's heading (the title, unless it says more).
    #[prop(optional)]
    heading: Option<String>,
    testid: &'static str,
    children: Children,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let heading = heading.unwrap_or_else(|| title.clone());
    view! {
        <Title text=title/>
        <div class="card empty-state" data-testid=testid>
            <p class="empty-state__code">"404"</p>
            <h2>{heading}</h2>
            {children()}
            <a class="btn btn--primary" href=href_with(&at("/settings/crm/sync-activity"), &[])>"Back to Sync activity"</a>
        </div>
    }
}
