//! The Overview's History card: how far back the workspace's sync history goes, and how long it is
//! kept (admins choose 7, 30, 90 or 365 days; members read it).

use crate::api::history::{HistoryView, SaveRetention};
use crate::components::time::LocalTimeIsland;
use crate::domain::retention::{label, RETENTION_CHOICES};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

#[component]
pub fn HistoryCard(history: HistoryView) -> impl IntoView {
    let HistoryView { days, oldest_at, can_change } = history;
    let since = match oldest_at {
        Some(ms) => {
            Either::Left(view! { <span>"History goes back to "<LocalTimeIsland ms/>"."</span> })
        }
        None => Either::Right(view! { <span>"No runs yet."</span> }),
    };
    view! {
        <section class="card" aria-labelledby="history-title" data-testid="history-card" data-days=days>
            <header class="card__header">
                <div>
                    <h2 id="history-title" class="card__title">"History"</h2>
                    <p class="card__subtitle">
                        {format!("Sync runs and their records are kept for {}. ", label(days))}
                        {since}
                    </p>
                </div>
            </header>
            {if can_change {
                Either::Left(view! { <HistoryForm days/> })
            } else {
                Either::Right(view! { <p class="admins-only">"Only workspace admins can change how long history is kept."</p> })
            }}
        </section>
    }
}

/// The choice of how long to keep history, saved through a server function without a reload.
#[island]
fn HistoryForm(days: i64) -> impl IntoView {
    let save = ServerAction::<SaveRetention>::new();
    let result = move || {
        save.value().get().map(|r| match r {
            Ok(Ok(days)) => EitherOf3::A(view! {
                <p class="form-status form-status--ok" role="status">
                    {format!("Saved. Runs older than {} are deleted at the next retention pass.", label(days))}
                </p>
            }),
            Ok(Err(refused)) => EitherOf3::B(view! { <p class="form-status form-status--error" role="alert">{refused}</p> }),
            Err(_) => EitherOf3::C(view! { <p class="form-status form-status--error" role="alert">"The choice could not be saved. Try again in a moment."</p> }),
        })
    };
    view! {
        <ActionForm action=save attr:class="history-form">
            <label class="field field--inline">
                <span class="field__label">"Keep history for"</span>
                <select class="input" name="retention_days" data-testid="retention-days">
                    {RETENTION_CHOICES
                        .into_iter()
                        .map(|d| view! { <option value=d.to_string() selected=d == days>{label(d)}</option> })
                        .collect_view()}
                </select>
            </label>
            <div class="actions">
                <button class="btn btn--secondary" type="submit">"Save"</button>
                {result}
            </div>
        </ActionForm>
    }
}
