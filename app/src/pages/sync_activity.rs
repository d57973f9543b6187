//! Settings → CRM & Syncing → Sync activity: every run, newest first, filterable, live.

use crate::api::activity::{list_runs, poll_runs, RunsResponse};
use crate::components::badges::StatusBadge;
use crate::components::counts::{count_values, COUNT_LABELS};
use crate::components::layout::{CrmTab, SettingsLayout};
use crate::components::live::{use_interval_while, IDLE_POLL_MS, POLL_MS};
use crate::components::time::{browser_offset_minutes, browser_zone, client_now_ms, LocalTime, RunDuration};
use crate::domain::filters::{filter_date, format_offset, latest_year, EARLIEST_YEAR};
use crate::domain::{format_count, Direction, Message, ObjectType, RunId, RunStatus, RunsQuery, SyncRun};
use crate::domain::RUNS_PAGE_SIZE as PAGE_SIZE;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The run page's address.
pub fn run_href(id: RunId) -> String {
    format!("/settings/crm/sync-activity/runs/{id}")
}

#[component]
pub fn SyncActivityPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|p| RunsQuery {
            direction: p.get("direction"),
            object: p.get("object"),
            from: p.get("from"),
            to: p.get("to"),
            tz: p.get("tz"),
            status: p.get("status"),
            message: p.get("message"),
            before: p.get("before"),
            after: p.get("after"),
        })
    });
    let page = Resource::new(
        move || query.get(),
        |q| list_runs(q.direction, q.object, q.from, q.to, q.tz, q.status, q.message, q.before, q.after),
    );

    view! {
        <Title text="Sync activity"/>
        <SettingsLayout active=CrmTab::SyncActivity>
            <section class="card activity" aria-labelledby="activity-title">
                <header class="card__header">
                    <div>
                        <h2 id="activity-title" class="card__title">"Sync activity"</h2>
                        <p class="card__subtitle">
                            "Every sync between Conversion and Salesforce. Each entry is one batch; open it to see the records that changed."
                        </p>
                    </div>
                </header>
                <DirectionTabs query=query.get_untracked()/>
                <FilterBar query=query.get_untracked() latest_year=latest_filter_year()/>
                <MessageFilter query=query.get_untracked()/>
                <div role="tabpanel" id="runs-panel" class="activity__panel">
                    <Transition fallback=|| view! { <p class="loading">"Loading sync activity…"</p> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(resp) => {
                                    let record_status = record_status_for(&query.get_untracked());
                                    Either::Left(view! { <RunList resp query=query.get_untracked() record_status/> })
                                }
                                Err(_) => Either::Right(view! {
                                    <div class="empty-state" role="alert">
                                        <h3>"Sync activity could not be loaded"</h3>
                                        <p>"Try again in a moment."</p>
                                    </div>
                                }),
                            }
                        })}
                    </Transition>
                </div>
            </section>
        </SettingsLayout>
    }
}

/// All / Inbound / Outbound as a real tablist. The tabs are server HTML (links to this page's
/// address with another direction); only the arrow keys that move between them need the browser.
#[component]
fn DirectionTabs(query: RunsQuery) -> impl IntoView {
    let tabs: [(Option<Direction>, &'static str); 3] = [
        (None, "All"),
        (Some(Direction::Inbound), Direction::Inbound.tab_label()),
        (Some(Direction::Outbound), Direction::Outbound.tab_label()),
    ];
    let current = query.direction.as_deref().and_then(Direction::parse);
    view! {
        <TabKeys>
            {tabs
                .into_iter()
                .map(|(dir, label)| {
                    let selected = current == dir;
                    let href = RunsQuery { direction: dir.map(|d| d.as_str().to_string()), ..query.first_page() }.href();
                    view! {
                        <a
                            class="tabs__tab"
                            role="tab"
                            href=href
                            aria-selected=if selected { "true" } else { "false" }
                            aria-controls="runs-panel"
                            tabindex=if selected { "0" } else { "-1" }
                            data-direction=dir.map(|d| d.as_str()).unwrap_or("all")
                        >
                            {label}
                        </a>
                    }
                })
                .collect_view()}
        </TabKeys>
    }
}

/// The direction tablist: arrow keys move the focus between its tabs.
#[island]
fn TabKeys(children: Children) -> impl IntoView {
    view! {
        <div class="tabs" role="tablist" aria-label="Direction" on:keydown=crate::components::tabs::move_between_tabs>
            {children()}
        </div>
    }
}

/// The last year the date filter reads (next year) by the server's clock, which reads the dates
/// of the address with the same one.
fn latest_filter_year() -> i32 {
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

/// With a record message filter, a run opens on its records of that message's kind (skipped or
/// failed), where the message is. Worked out on the server: the catalog stays out of the Wasm.
fn record_status_for(query: &RunsQuery) -> Option<String> {
    match query.message.as_deref().and_then(Message::from_code)? {
        Message::Record(m) => Some(if m.is_skip() { "skipped" } else { "failed" }.to_string()),
        Message::Run(_) => None,
    }
}

/// The message filter, set by a link (the health card's "needs attention" groups): what it is
/// and a way to drop it. An unknown code is not shown here; the page's note says it was ignored.
#[component]
fn MessageFilter(query: RunsQuery) -> impl IntoView {
    let message = query.message.as_deref().and_then(Message::from_code)?;
    let without = RunsQuery { message: None, ..query.first_page() }.href();
    Some(view! {
        <p class="filter-banner" data-testid="message-filter">
            <span>"Showing runs with "<strong>{message.title()}</strong></span>
            <span class="filter-banner__meaning">{message.meaning()}</span>
            <a class="btn btn--ghost btn--sm" href=without>"Show all runs"</a>
        </p>
    })
}

/// Object type, run status and date range. Changes navigate, so the URL always holds the view; the server
/// renders the page of the new address. Without JavaScript the same form is a GET form whose
/// fields carry the active filters (server HTML), with an Apply button.
#[island]
fn FilterBar(query: RunsQuery, latest_year: i32) -> impl IntoView {
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
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            go(RunsQuery { object: (v != "all").then_some(v), ..query.get_untracked() });
        }
    };
    let on_status = {
        let go = go.clone();
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
        let go = go.clone();
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
        let apply = apply.clone();
        move |end: RangeEnd, v: String| {
            let Some(date) = filter_date(&v, latest_year) else { return };
            let before = filter_date(&shown(end), latest_year);
            let new_year = before.is_none_or(|b| chrono::Datelike::year(&b) != chrono::Datelike::year(&date));
            if !typing.get_value() || new_year {
                apply(end, v);
            }
        }
    };
    let on_date_key = {
        let apply = apply.clone();
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
    let clear_href = move || {
        RunsQuery { direction: query.get().direction, ..Default::default() }.href()
    };
    view! {
        <form class="filters" method="get" action="/settings/crm/sync-activity" autocomplete="off"
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
                        on:change={ let f = on_date_change.clone(); move |ev| f(RangeEnd::From, event_target_value(&ev)) }
                        on:keydown={ let f = on_date_key.clone(); move |ev| f(RangeEnd::From, ev) }
                        on:blur={ let f = apply.clone(); move |ev| f(RangeEnd::From, event_target_value(&ev)) }/>
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

/// The runs of one page, kept live while any of them is in progress.
#[island]
fn RunList(resp: RunsResponse, query: RunsQuery, record_status: Option<String>) -> impl IntoView {
    let on_first_page = query.before.is_none() && query.after.is_none();
    let rows: RwSignal<Vec<(RunId, RwSignal<SyncRun>)>> =
        RwSignal::new(resp.runs.iter().cloned().map(|r| (r.id, RwSignal::new(r))).collect());
    let older = RwSignal::new(resp.older);
    let newer = resp.newer;
    let now = RwSignal::new(resp.as_of);
    let skew = StoredValue::new(0i64);
    let as_of = resp.as_of;
    Effect::new(move |_| skew.set_value(as_of - client_now_ms()));

    let live = Memo::new(move |_| {
        rows.with(|rs| rs.iter().any(|(_, r)| r.with(|r| r.status == RunStatus::InProgress)))
    });
    use_interval_while(live, 1_000, move || async move { now.set(client_now_ms() + skew.get_value()) });
    let poll_query = query.clone();
    let poll = move || {
        let q = poll_query.clone();
        async move {
            // New runs are asked for only on the first page; an empty page asks for any run.
            let newest = on_first_page
                .then(|| rows.with_untracked(|rs| rs.first().map_or_else(|| RunId::MIN.to_string(), |(id, _)| id.to_string())));
            let watch = rows.with_untracked(|rs| {
                rs.iter()
                    .filter(|(_, r)| r.with_untracked(|r| r.status == RunStatus::InProgress))
                    .map(|(id, r)| format!("{id}~{}", r.with_untracked(|r| r.counts.processed())))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            let Ok(poll) = poll_runs(q.direction, q.object, q.from, q.to, q.tz, q.status, q.message, newest, Some(watch)).await else {
                return;
            };
            skew.set_value(poll.as_of - client_now_ms());
            if rows.with_untracked(Vec::is_empty) && !poll.runs.is_empty() {
                // The empty state has no table to add rows to: the server renders the list.
                #[cfg(feature = "hydrate")]
                let _ = window().location().reload();
                return;
            }
            apply_poll(rows, older, poll.runs, on_first_page);
        }
    };
    use_interval_while(live, POLL_MS, poll.clone());
    // With nothing in progress the first page still looks for new runs, less often: activity
    // appears without a reload (the help article's promise), at the cost of one index probe.
    let idle = Memo::new(move |_| on_first_page && !live.get());
    use_interval_while(idle, IDLE_POLL_MS, poll);

    if resp.runs.is_empty() {
        return Either::Left(empty_state(&resp, &query));
    }
    let notes = resp.notes.clone();
    Either::Right(view! {
        <Notes notes/>
        <div class="table-wrap">
            <table class="runs">
                <caption class="visually-hidden">"Sync runs, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Run"</th>
                        <th scope="col">"Status"</th>
                        {COUNT_LABELS.iter().map(|l| view! { <th scope="col" class="num">{*l}</th> }).collect_view()}
                        <th scope="col" class="num">"Duration"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col"><span class="visually-hidden">"Open"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || rows.get() key=|(id, _)| *id children=move |(_, run)| view! { <RunRow run now record_status=record_status.clone()/> }/>
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {(!on_first_page).then(|| view! { <a class="btn btn--ghost" href=query.first_page().href()>"Newest"</a> })}
            {newer.map(|id| {
                let href = RunsQuery { after: Some(id.to_string()), ..query.first_page() }.href();
                view! { <a class="btn btn--secondary" href=href rel="prev">"← Newer"</a> }
            })}
            {move || older.get().map(|id| {
                let href = RunsQuery { before: Some(id.to_string()), ..query.first_page() }.href();
                view! { <a class="btn btn--secondary" href=href rel="next">"Older →"</a> }
            })}
        </nav>
    })
}

/// Merges a poll into the rows: watched runs change in place, new runs go on top.
fn apply_poll(
    rows: RwSignal<Vec<(RunId, RwSignal<SyncRun>)>>,
    older: RwSignal<Option<RunId>>,
    runs: Vec<SyncRun>,
    on_first_page: bool,
) {
    let mut fresh = Vec::new();
    rows.with_untracked(|rs| {
        for run in runs {
            match rs.iter().find(|(id, _)| *id == run.id) {
                Some((_, sig)) => {
                    if sig.with_untracked(|r| *r != run) {
                        sig.set(run);
                    }
                }
                None if on_first_page => fresh.push(run),
                None => {}
            }
        }
    });
    if fresh.is_empty() {
        return;
    }
    fresh.sort_by(|a, b| b.id.cmp(&a.id));
    rows.update(|rs| {
        let newest = rs.first().map(|(id, _)| *id);
        let mut merged: Vec<_> = fresh
            .into_iter()
            .filter(|r| newest.is_none_or(|n| r.id > n))
            .map(|r| (r.id, RwSignal::new(r)))
            .collect();
        merged.append(rs);
        if merged.len() > PAGE_SIZE as usize {
            merged.truncate(PAGE_SIZE as usize);
            older.set(merged.last().map(|(id, _)| *id));
        }
        *rs = merged;
    });
}

fn empty_state(resp: &RunsResponse, query: &RunsQuery) -> impl IntoView {
    let notes = resp.notes.clone();
    let (title, body, action): (&str, &str, Option<(String, &str)>) = if !resp.workspace_has_runs {
        ("No sync activity yet", "Activity appears here automatically once data begins syncing.", None)
    } else if query.has_filters() {
        (
            "No runs match these filters",
            "Sync activity exists, but none of it matches the filters you picked. New runs that match appear here as they start.",
            Some((RunsQuery::default().href(), "Clear filters")),
        )
    } else {
        ("No more runs", "There are no runs on this page.", Some((query.first_page().href(), "Go to the newest runs")))
    };
    view! {
        <Notes notes/>
        <div class="empty-state" data-testid="empty-state">
            <div class="empty-state__icon" aria-hidden="true"></div>
            <h3>{title}</h3>
            <p>{body}</p>
            {action.map(|(href, label)| view! { <a class="btn btn--primary" href=href>{label}</a> })}
        </div>
    }
}

/// Parameters the server ignored, in words.
#[component]
pub fn Notes(notes: Vec<String>) -> impl IntoView {
    (!notes.is_empty()).then(|| {
        view! {
            <div class="notice" role="status" data-testid="notes">
                <ul>{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
            </div>
        }
    })
}

#[component]
fn RunRow(run: RwSignal<SyncRun>, now: RwSignal<i64>, record_status: Option<String>) -> impl IntoView {
    let first = run.get_untracked();
    let href = match record_status {
        Some(status) => format!("{}?status={status}", run_href(first.id)),
        None => run_href(first.id),
    };
    let description = first.description();
    let status = Signal::derive(move || run.with(|r| r.status));
    let progress = move || {
        run.with(|r| {
            (r.status == RunStatus::InProgress).then(|| {
                let done = format_count(r.counts.processed());
                match r.expected_total {
                    Some(total) => format!("{done} of {} record{}", format_count(total), if total == 1 { "" } else { "s" }),
                    None => format!("{done} records so far"),
                }
            })
        })
    };
    view! {
        <tr class="run-row" data-run-id=first.id.to_string() data-direction=first.direction.as_str()
            data-object=first.object_type.as_str() data-status=move || status.get().as_str()>
            <td class="run-row__what" data-label="Run">
                <a class="run-row__title" href=href.clone()>{description.clone()}</a>
                <div class="run-row__meta">
                    <span class="chip">{first.object_type.label()}</span>
                    <span class="run-row__dir">{first.direction.short_label()}</span>
                    <span class="run-row__trigger">{first.trigger.label()}</span>
                </div>
                {move || progress().map(|p| view! { <div class="run-row__progress" data-testid="progress">{p}</div> })}
            </td>
            <td data-label="Status"><StatusBadge status/></td>
            {COUNT_LABELS
                .iter()
                .enumerate()
                .map(|(i, label)| {
                    let key = label.to_lowercase();
                    let value = move || run.with(|r| count_values(&r.counts)[i]);
                    view! {
                        <td class=format!("num count count--{key}") class:is-zero=move || value() == 0 data-label=*label data-count=key.clone()>
                            {move || format_count(value())}
                        </td>
                    }
                })
                .collect_view()}
            <td class="num" data-label="Duration">
                <RunDuration
                    started_at=Signal::derive(move || run.with(|r| r.started_at))
                    finished_at=Signal::derive(move || run.with(|r| r.finished_at))
                    now
                />
            </td>
            <td data-label="Started"><LocalTime ms=first.started_at/></td>
            <td class="run-row__open">
                <a class="btn btn--secondary btn--sm" href=href aria-label=format!("View {}", description.to_lowercase())>"View"</a>
            </td>
        </tr>
    }
}
