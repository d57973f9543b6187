//! The run list's filter bar: object type, run status and date range.

use crate::components::time::{browser_offset_minutes, browser_zone, client_now_ms};
use crate::domain::filters::{filter_date, format_offset, latest_year, EARLIEST_YEAR};
use crate::domain::href::at;
use crate::domain::{ObjectType, RunStatus, RunsQuery};
use leptos::prelude::*;

/// The last year the date filter reads (next year) by the server's clock, which reads the dates
/// of the address with the same one.
pub(super) fn latest_filter_year() -> i32 {
    #[cfg(feature = "ssr")]
    if let Some(st) = use_context::<crate::state::AppState>() {
        return latest_year(st.now_ms());
    }
    latest_year(client_now_ms())
}

/// Which end of the date range an input sets.
#[derive(Clone, Copy)]
enum RangeEnd {
    From,
    To,
}

/// Object type, run status and date range. Changes navigate, so the URL always holds the view; the server
/// renders the page of the new address. Without JavaScript the same form is a GET form whose
/// fields carry the active filters (server HTML), with an Apply button.
#[island]
pub(super) fn FilterBar(query: RunsQuery, latest_year: i32) -> impl IntoView {
    let query = Memo::new(move |_| query.clone());
    let go = move |q: RunsQuery| {
        let _ = window().location().assign(&q.first_page().href());
    };
    // The date as written in the link; a value the filter does not read stays out of the input
    // (the page's note already says it was ignored).
    let date_value = move |v: Option<String>| {
        v.map(|s| s.chars().take(10).collect::<String>())
            .filter(|d| filter_date(d, latest_year).is_some())
            .unwrap_or_default()
    };
    // Dates are read in the reader's zone: by name when the browser gives one (the server then
    // reads each date in the offset it had), else the offset the zone had on the chosen day.
    let local_tz = |date: &str| {
        browser_zone().unwrap_or_else(|| {
            let at = crate::domain::filters::parse_date(date)
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .map_or_else(client_now_ms, |t| t.and_utc().timestamp_millis());
            format_offset(browser_offset_minutes(at))
        })
    };
    let on_object = {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            go(RunsQuery { object: (v != "all").then_some(v), ..query.get_untracked() });
        }
    };
    let on_status = {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            go(RunsQuery { status: (v != "all").then_some(v), ..query.get_untracked() });
        }
    };
    // A date input reports a whole date on every keystroke once each part has a digit: typing
    // 11/27/2026 passes through 0002-11-27, 0020-11-27 and 0202-11-27. A typed date is applied
    // when it is complete: on Enter, on leaving the input, or as soon as it is a date in a year
    // the filter reads (a year typed half way is before 2000) and it is a new date or a new year.
    // A day or month typed over an existing date waits for Enter or leaving (a "2" may become a
    // "27"). A date picked from the calendar applies at once.
    let typing = StoredValue::new(false);
    let leaving = StoredValue::new(false);
    let shown = move |end: RangeEnd| {
        let q = query.get_untracked();
        date_value(match end {
            RangeEnd::From => q.from,
            RangeEnd::To => q.to,
        })
    };
    let apply = {
        move |end: RangeEnd, v: String| {
            if leaving.get_value() || v == shown(end) {
                return;
            }
            leaving.set_value(true);
            let tz = Some(local_tz(&v));
            let v = (!v.is_empty()).then_some(v);
            let q = query.get_untracked();
            go(match end {
                RangeEnd::From => RunsQuery { from: v, tz, ..q },
                RangeEnd::To => RunsQuery { to: v, tz, ..q },
            });
        }
    };
    let on_date_change = {
        move |end: RangeEnd, v: String| {
            let Some(date) = filter_date(&v, latest_year) else { return };
            let before = filter_date(&shown(end), latest_year);
            let new_year =
                before.is_none_or(|b| chrono::Datelike::year(&b) != chrono::Datelike::year(&date));
            if !typing.get_value() || new_year {
                apply(end, v);
            }
        }
    };
    let on_date_key = {
        move |end: RangeEnd, ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Enter" {
                ev.prevent_default();
                apply(end, event_target_value(&ev));
            } else {
                typing.set_value(true);
            }
        }
    };
    // Back and forward can restore a page as the reader left it (the back-forward cache), with a
    // control still showing the choice that navigated away: put back what this page's address says.
    let (object_el, status_el, from_el, to_el) = (
        NodeRef::<leptos::html::Select>::new(),
        NodeRef::<leptos::html::Select>::new(),
        NodeRef::<leptos::html::Input>::new(),
        NodeRef::<leptos::html::Input>::new(),
    );
    #[cfg(feature = "hydrate")]
    {
        let restored = window_event_listener(leptos::ev::pageshow, move |ev| {
            if !ev.persisted() {
                return;
            }
            let q = query.get_untracked();
            typing.set_value(false);
            leaving.set_value(false);
            if let Some(el) = object_el.get_untracked() {
                el.set_value(q.object.as_deref().unwrap_or("all"));
            }
            if let Some(el) = status_el.get_untracked() {
                el.set_value(q.status.as_deref().unwrap_or("all"));
            }
            if let Some(el) = from_el.get_untracked() {
                el.set_value(&date_value(q.from.clone()));
            }
            if let Some(el) = to_el.get_untracked() {
                el.set_value(&date_value(q.to.clone()));
            }
        });
        on_cleanup(move || restored.remove());
    }
    // The calendar offers only the years the filter reads.
    let (date_min, date_max) = (format!("{EARLIEST_YEAR}-01-01"), format!("{latest_year}-12-31"));
    let clear_href =
        move || RunsQuery { direction: query.get().direction, ..Default::default() }.href();
    view! {
        <form class="filters" method="get" action=at("/settings/crm/sync-activity") autocomplete="off"
            on:submit=|ev| ev.prevent_default()>
            <input type="hidden" name="direction" value=move || query.get().direction.unwrap_or_default()/>
            <input type="hidden" name="message" value=move || query.get().message.unwrap_or_default()/>
            // The zone the dates of the address are read in, kept by Apply without JavaScript.
            <input type="hidden" name="tz" value=move || query.get().tz.unwrap_or_default()/>
            <label class="field">
                <span class="field__label">"Object type"</span>
                <select name="object" class="input" on:change=on_object data-testid="object-filter" node_ref=object_el>
                    <option value="all" selected=move || query.get().object.is_none()>"All object types"</option>
                    {ObjectType::ALL
                        .iter()
                        .map(|o| {
                            let code = o.as_str();
                            view! {
                                <option value=code selected=move || query.get().object.as_deref() == Some(code)>
                                    {o.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span class="field__label">"Run status"</span>
                <select name="status" class="input input--narrow" on:change=on_status data-testid="status-filter" node_ref=status_el>
                    <option value="all" selected=move || query.get().status.is_none()>"All statuses"</option>
                    {[RunStatus::InProgress, RunStatus::Completed, RunStatus::Failed]
                        .iter()
                        .map(|st| {
                            let code = st.as_str();
                            view! {
                                <option value=code selected=move || query.get().status.as_deref() == Some(code)>{st.label()}</option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <fieldset class="field field--range">
                <legend class="field__label">"Date range"</legend>
                <div class="range">
                    <input type="date" name="from" class="input" aria-label="From date" data-testid="from-date" node_ref=from_el
                        min=date_min.clone() max=date_max.clone() value=shown(RangeEnd::From)
                        on:change={ let f = on_date_change; move |ev| f(RangeEnd::From, event_target_value(&ev)) }
                        on:keydown={ let f = on_date_key; move |ev| f(RangeEnd::From, ev) }
                        on:blur={ let f = apply; move |ev| f(RangeEnd::From, event_target_value(&ev)) }/>
                    <span class="range__sep" aria-hidden="true">"–"</span>
                    <input type="date" name="to" class="input" aria-label="To date" data-testid="to-date" node_ref=to_el
                        min=date_min max=date_max value=shown(RangeEnd::To)
                        on:change=move |ev| on_date_change(RangeEnd::To, event_target_value(&ev))
                        on:keydown=move |ev| on_date_key(RangeEnd::To, ev)
                        on:blur=move |ev| apply(RangeEnd::To, event_target_value(&ev))/>
                </div>
            </fieldset>
            <Show when=move || query.get().has_filters()>
                <a class="btn btn--ghost filters__clear" href=clear_href>"Clear filters"</a>
            </Show>
            <noscript><button class="btn btn--secondary" type="submit">"Apply"</button></noscript>
        </form>
    }
}
