//! Settings → CRM & Syncing → Sync activity: every run, newest first, filterable, live.

use crate::api::activity::{list_runs, poll_runs, RunsPollQuery, RunsResponse};
use crate::components::badges::StatusBadge;
use crate::components::counts::{count_values, COUNT_LABELS};
use crate::components::layout::{CrmTab, SettingsLayout};
use crate::components::live::{use_interval_while, IDLE_POLL_MS, POLL_MS};
use crate::components::time::{client_now_ms, LocalTime, RunDuration, TimesIn};
use crate::domain::RUNS_PAGE_SIZE as PAGE_SIZE;
use crate::domain::{format_count, Direction, Message, RunId, RunStatus, RunsQuery, SyncRun};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

mod filter_bar;
mod next_sync;
mod record_search;

use filter_bar::{latest_filter_year, FilterBar};
use next_sync::NextSync;
use record_search::{RecordSearchForm, RecordSearchResults};

pub use crate::domain::href::{href_with, run_href, run_path};

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
    let schedule = Resource::new(|| (), |_| crate::api::schedule::get_schedule());
    // A search (`?record=…`) shows the records it finds in place of the run list.
    let search = params.with_untracked(|p| p.get("record")).filter(|t| !t.trim().is_empty());

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
                    <TimesIn/>
                </header>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        schedule.await.ok().map(|view| view! { <NextSync view/> })
                    })}
                </Transition>
                <RecordSearchForm text=search.clone()/>
                {match search {
                    Some(text) => Either::Left(view! { <RecordSearchResults text/> }),
                    None => Either::Right(view! { <RunsPanel query/> }),
                }}
            </section>
        </SettingsLayout>
    }
}

/// The tabs, the filters and the runs of one page.
#[component]
fn RunsPanel(query: Memo<RunsQuery>) -> impl IntoView {
    let page = Resource::new(move || query.get(), list_runs);
    view! {
                <DirectionTabs query=query.get_untracked()/>
                <FilterBar query=query.get_untracked() latest_year=latest_filter_year()/>
                <MessageFilter query=query.get_untracked()/>
                <div class="list-actions">
                    <a class="btn btn--secondary btn--sm" href=runs_csv_href(&query.get_untracked()) download data-testid="export-runs">
                        {if query.with_untracked(RunsQuery::has_filters) { "Download these runs as CSV" } else { "Download as CSV" }}
                    </a>
                </div>
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

/// The run list as CSV with the filters shown (`GET /api/runs.csv`), every page of it.
fn runs_csv_href(query: &RunsQuery) -> String {
    let href = query.first_page().href();
    let path = crate::domain::href::at("/api/runs.csv");
    match href.split_once('?') {
        Some((_, q)) if !q.is_empty() => format!("{path}?{q}"),
        _ => path,
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
    use_interval_while(
        live,
        1_000,
        move || async move { now.set(client_now_ms() + skew.get_value()) },
    );
    let poll_query = query.clone();
    let poll = move || {
        let q = poll_query.clone();
        async move {
            // New runs are asked for only on the first page; an empty page asks for any run.
            let newest = on_first_page.then(|| {
                rows.with_untracked(|rs| {
                    rs.first().map_or_else(|| RunId::MIN.to_string(), |(id, _)| id.to_string())
                })
            });
            let watch = rows.with_untracked(|rs| {
                rs.iter()
                    .filter(|(_, r)| r.with_untracked(|r| r.status == RunStatus::InProgress))
                    .map(|(id, r)| format!("{id}~{}", r.with_untracked(|r| r.counts.processed())))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            let Ok(poll) =
                poll_runs(RunsPollQuery { filters: q, newest, watch: Some(watch) }).await
            else {
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
                Some((_, sig)) if sig.with_untracked(|r| *r != run) => sig.set(run),
                Some(_) => {}
                None if on_first_page => fresh.push(run),
                None => {}
            }
        }
    });
    if fresh.is_empty() {
        return;
    }
    fresh.sort_by_key(|r| std::cmp::Reverse(r.id));
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
        (
            "No sync activity yet",
            "Activity appears here automatically once data begins syncing.",
            None,
        )
    } else if query.has_filters() {
        (
            "No runs match these filters",
            "Sync activity exists, but none of it matches the filters you picked. New runs that match appear here as they start.",
            Some((RunsQuery::default().href(), "Clear filters")),
        )
    } else {
        (
            "No more runs",
            "There are no runs on this page.",
            Some((query.first_page().href(), "Go to the newest runs")),
        )
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
fn RunRow(
    run: RwSignal<SyncRun>,
    now: RwSignal<i64>,
    record_status: Option<String>,
) -> impl IntoView {
    let first = run.get_untracked();
    let href = href_with(&run_path(first.id), &[("status", record_status.as_deref())]);
    let description = first.description();
    let status = Signal::derive(move || run.with(|r| r.status));
    let progress = move || {
        run.with(|r| {
            (r.status == RunStatus::InProgress).then(|| {
                let done = format_count(r.counts.processed());
                match r.expected_total {
                    Some(total) => format!(
                        "{done} of {} record{}",
                        format_count(total),
                        if total == 1 { "" } else { "s" }
                    ),
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
