//! The five counts every run shows.

use crate::domain::{format_count, Counts};
use leptos::prelude::*;

pub const COUNT_LABELS: [&str; 5] = ["Created", "Updated", "Deleted", "Skipped", "Failed"];

pub fn count_values(c: &Counts) -> [i64; 5] {
    [c.created, c.updated, c.deleted, c.skipped, c.failed]
}

/// A labelled strip of the five counts (run page header).
#[component]
pub fn CountBreakdown(#[prop(into)] counts: Signal<Counts>) -> impl IntoView {
    view! {
        <dl class="count-strip">
            {COUNT_LABELS
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let key = label.to_lowercase();
                    view! {
                        <div class=format!("count-strip__item count--{key}") class:is-zero=move || count_values(&counts.get())[i] == 0 data-count=key.clone()>
                            <dt>{*label}</dt>
                            <dd class="num">{move || format_count(count_values(&counts.get())[i])}</dd>
                        </div>
                    }
                })
                .collect_view()}
        </dl>
    }
}
