//! Status badges: always a word beside the colour and icon, never colour alone.

use crate::domain::{RecordStatus, RunStatus};
use leptos::prelude::*;

#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<RunStatus>) -> impl IntoView {
    view! {
        <span
            class=move || format!("badge badge--{}", status.get().as_str())
            title=move || status.get().meaning()
            data-status=move || status.get().as_str()
        >
            <span class="badge__icon" aria-hidden="true"></span>
            {move || status.get().label()}
        </span>
    }
}

#[component]
pub fn RecordStatusBadge(status: RecordStatus) -> impl IntoView {
    view! {
        <span class=format!("badge badge--{}", status.as_str()) title=status.meaning() data-status=status.as_str()>
            <span class="badge__icon" aria-hidden="true"></span>
            {status.label()}
        </span>
    }
}
