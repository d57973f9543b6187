//! The search of the Sync activity view: "what happened to this record?". A plain GET form (it
//! works before the page is interactive), whose text stays in the address as `?record=…`, and the
//! records it finds with how their latest run left them.

use crate::api::record::{search_records, RecordSearchQuery, RecordSearchResponse};
use crate::components::badges::RecordStatusBadge;
use crate::components::time::LocalTimeIsland;
use crate::domain::filters::href_with;
use crate::domain::href::{at, run_path, times_in_utc};
use crate::domain::records::RecordSummary;
use leptos::either::Either;
use leptos::prelude::*;

/// The search box. Searching leaves the run filters: a record's story spans every run.
#[component]
pub fn RecordSearchForm(text: Option<String>) -> impl IntoView {
    let action = at("/settings/crm/sync-activity");
    view! {
        <form class="record-search" method="get" action=action role="search" data-testid="record-search">
            <label class="visually-hidden" for="record-search-input">"Find a record"</label>
            <input
                id="record-search-input"
                class="record-search__input"
                type="search"
                name="record"
                value=text
                maxlength="200"
                autocomplete="off"
                placeholder="Find a record: email, name, Salesforce ID or Conversion id"
            />
            {times_in_utc().then(|| view! { <input type="hidden" name="times" value="utc"/> })}
            <button class="btn" type="submit">"Search"</button>
        </form>
    }
}

/// The records found for `text`.
#[component]
pub fn RecordSearchResults(text: String) -> impl IntoView {
    let found = Resource::new(
        move || text.clone(),
        |text| search_records(RecordSearchQuery { record: Some(text) }),
    );
    view! {
        <div class="activity__panel" data-testid="record-results">
            <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
                {move || Suspend::new(async move {
                    match found.await {
                        Ok(resp) => Either::Left(results(resp)),
                        Err(_) => Either::Right(view! {
                            <div class="empty-state" role="alert">
                                <h3>"The search could not be run"</h3>
                                <p>"Try again in a moment."</p>
                            </div>
                        }),
                    }
                })}
            </Transition>
        </div>
    }
}

fn results(resp: RecordSearchResponse) -> impl IntoView {
    let clear = href_with(&at("/settings/crm/sync-activity"), &[]);
    let summary = match resp.records.len() {
        0 => format!("No record matches “{}”.", resp.text),
        1 => format!("1 record matches “{}”.", resp.text),
        n if resp.more => {
            format!("The first {n} records matching “{}”: type more to narrow it.", resp.text)
        }
        n => format!("{n} records match “{}”.", resp.text),
    };
    let empty = resp.records.is_empty();
    view! {
        <p class="filter-banner" data-testid="record-results-summary">
            <span>{summary}</span>
            <a class="btn btn--ghost btn--sm" href=clear>"Show all runs"</a>
        </p>
        {if empty {
            Either::Left(view! {
                <div class="empty-state">
                    <p>"Search by the start of an email or a name, or by a whole Salesforce ID (15 or 18 characters) or Conversion id. Records are found once a sync run has touched them."</p>
                </div>
            })
        } else {
            Either::Right(view! {
                <div class="table-wrap" tabindex="0" role="region" aria-label="Records found">
                    <table class="records-table">
                        <thead>
                            <tr>
                                <th scope="col">"Record"</th>
                                <th scope="col">"Salesforce ID"</th>
                                <th scope="col">"Latest status"</th>
                                <th scope="col">"Last synced"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {resp.records.into_iter().map(|r| view! { <ResultRow record=r/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })
        }}
    }
}

#[component]
fn ResultRow(record: RecordSummary) -> impl IntoView {
    let href = href_with(&at(&record.key.path()), &[]);
    let after = (record.last_seq > 0).then(|| (record.last_seq - 1).to_string());
    let run_href = href_with(&run_path(record.last_run), &[("after", after.as_deref())]);
    let label = record.label.clone().unwrap_or_else(|| "Unnamed record".into());
    view! {
        <tr class="record-row record-result" data-key=record.key.to_string() data-status=record.last_status.as_str()>
            <td data-label="Record">
                <div class="record-row__who">
                    <a class="record-row__label" href=href>{label}</a>
                    <div class="muted small">
                        {record.object_type.label()}
                        {record.conversion_id.map(|c| view! { " · "<span class="record-row__id">{c}</span> })}
                    </div>
                </div>
            </td>
            <td data-label="Salesforce ID">
                {match record.salesforce_id {
                    Some(id) => Either::Left(view! { <code>{id}</code> }),
                    None => Either::Right(view! { <span class="muted">"—"</span> }),
                }}
            </td>
            <td data-label="Latest status">
                <RecordStatusBadge status=record.last_status/>
                {record.last_message.map(|m| view! { <div class="message__title small">{m.title()}</div> })}
            </td>
            <td data-label="Last synced">
                <a href=run_href><LocalTimeIsland ms=record.last_at/></a>
            </td>
        </tr>
    }
}
