//! One run: what happened, why a failed run failed, and every record it touched.

use crate::api::history::{run_expired, ExpiredQuery};
use crate::api::run::{get_run, poll_run, RunDetail, RunPollQuery, RunQuery, RECORDS_PAGE_SIZE};
use crate::components::badges::{RecordStatusBadge, StatusBadge};
use crate::components::counts::CountBreakdown;
use crate::components::detail::{ActivityDetail, LoadFailed, NotThere};
use crate::components::live::{use_interval_while, POLL_MS};
use crate::components::time::{client_now_ms, LocalTime, RunDuration};
use crate::domain::filters::href_with;
use crate::domain::href::at;
use crate::domain::records::{salesforce_record_url, RecordKey};
use crate::domain::{
    format_count, ObjectType, RecordStatus, RecordsQuery, RunId, RunMessage, RunRecord, RunStatus,
    SyncRun,
};
use crate::pages::sync_activity::{run_path, Notes};
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let query = Memo::new(move |_| {
        query_map.with(|q| RecordsQuery {
            status: q.get("status"),
            after: q.get("after"),
            before: q.get("before"),
        })
    });
    let detail = Resource::new(
        move || (id.get(), query.get()),
        |(id, records)| get_run(RunQuery { id, records }),
    );
    view! {
        <ActivityDetail>
            <Transition fallback=|| view! { <p class="loading">"Loading run…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(d)) => EitherOf3::A(view! {
                            <Title text=d.run.description()/>
                            <RetriedNotice/>
                            <RunView detail=d query=query.get_untracked()/>
                        }),
                        Ok(None) => EitherOf3::B(view! { <RunNotFound id=id.get_untracked()/> }),
                        Err(_) => EitherOf3::C(view! { <LoadFailed what="run"/> }),
                    }
                })}
            </Transition>
        </ActivityDetail>
    }
}

/// After "Retry" on an outbound run's records (a form post), what was queued.
#[component]
fn RetriedNotice() -> impl IntoView {
    let q = use_query_map().get_untracked();
    let n = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    q.get("retried")?;
    let (retried, already, synced, gone) = (n("retried"), n("already"), n("synced"), n("gone"));
    let mut parts = Vec::new();
    if retried > 0 {
        parts.push(format!(
            "{} queued for the next push. It appears as a Retry run in Sync activity.",
            if retried == 1 {
                "1 record".to_string()
            } else {
                format!("{} records", format_count(retried))
            }
        ));
    }
    if already > 0 {
        parts.push(format!("{} already waiting to be pushed: pushed now.", format_count(already)));
    }
    if synced > 0 {
        parts.push(format!(
            "{} already synced by a later run: nothing to retry.",
            format_count(synced)
        ));
    }
    if gone > 0 {
        parts.push(format!("{} no longer in Conversion: nothing to push.", format_count(gone)));
    }
    if parts.is_empty() {
        parts.push("No failed record to retry.".to_string());
    }
    Some(view! {
        <div class="notice notice--success" role="status" data-testid="retried">
            {parts.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
        </div>
    })
}

/// No run at this address: past the history the workspace keeps ("This run is older than your
/// 90-day history"), or never one of its runs.
#[component]
fn RunNotFound(id: String) -> impl IntoView {
    let expired = Resource::new(move || id.clone(), |id| run_expired(ExpiredQuery { id }));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match expired.await.ok().flatten() {
                    Some(message) => Either::Left(view! {
                        <NotThere title="Run past the history kept".to_string() heading=message testid="run-expired">
                            <p>"Runs, their records and their place in each record's timeline are deleted once they are older than the history this workspace keeps. Admins choose how long on the Overview."</p>
                        </NotThere>
                    }),
                    None => Either::Right(view! {
                        <NotThere title="Run not found".to_string() testid="run-not-found">
                            <p>"There is no sync run at this address in this workspace. The link may be incomplete or mistyped."</p>
                        </NotThere>
                    }),
                }
            })}
        </Suspense>
    }
}

/// The run and its records, kept live while it is in progress: an island, hydrated from what the
/// server rendered.
#[island]
fn RunView(detail: RunDetail, query: RecordsQuery) -> impl IntoView {
    let run = RwSignal::new(detail.run.clone());
    let records = RwSignal::new(detail.records.clone());
    let later = detail.later;
    let earlier = detail.earlier;
    let now = RwSignal::new(detail.as_of);
    let skew = StoredValue::new(0i64);
    let as_of = detail.as_of;
    Effect::new(move |_| skew.set_value(as_of - client_now_ms()));
    let (status_filter, _) = query.parse();
    let status_filter = status_filter.status;

    let live = Memo::new(move |_| run.with(|r| r.status == RunStatus::InProgress));
    use_interval_while(
        live,
        1_000,
        move || async move { now.set(client_now_ms() + skew.get_value()) },
    );
    let id = detail.run.id.to_string();
    let status_param = query.status.clone();
    use_interval_while(live, POLL_MS, move || {
        let id = id.clone();
        let status = status_param.clone();
        async move {
            // New records join this page only when it is the last one and has room.
            let (last, room) = records.with_untracked(|rs| {
                let room = if later.is_none() { RECORDS_PAGE_SIZE - rs.len() as i64 } else { 0 };
                (rs.last().map(|r| r.seq), room)
            });
            let after = last.map(|n| n.to_string());
            let query = RunPollQuery { id, status, after, room: Some(room.to_string()) };
            let Ok(Some(poll)) = poll_run(query).await else {
                return;
            };
            skew.set_value(poll.as_of - client_now_ms());
            if !poll.records.is_empty() {
                records.update(|rs| rs.extend(poll.records));
            }
            if run.with_untracked(|r| *r != poll.run) {
                run.set(poll.run);
            }
        }
    });

    let first = detail.run.clone();
    let description = first.description();
    view! {
        <Notes notes=detail.notes.clone()/>
        <section class="card run-summary" data-run-id=first.id.to_string()>
            <header class="run-summary__header">
                <div>
                    <h2 class="card__title">{description}</h2>
                    <p class="run-summary__meta">
                        <span class="chip">{first.object_type.label()}</span>
                        <span>{first.direction.arrow_label()}</span>
                        <span>{first.trigger.label()}</span>
                    </p>
                </div>
                <StatusBadge status=Signal::derive(move || run.with(|r| r.status))/>
            </header>
            <dl class="facts">
                <div><dt>"Started"</dt><dd><LocalTime ms=first.started_at/></dd></div>
                <div>
                    <dt>"Duration"</dt>
                    <dd>
                        <RunDuration
                            started_at=first.started_at
                            finished_at=Signal::derive(move || run.with(|r| r.finished_at))
                            now
                        />
                    </dd>
                </div>
                <div><dt>"Records"</dt><dd class="num" data-testid="processed">{move || progress_text(&run.get())}</dd></div>
                <div><dt>"Run ID"</dt><dd><code class="run-id">{first.id.to_string()}</code></dd></div>
                {first.retry_of.map(|of| view! {
                    <div data-testid="retry-of"><dt>"Retry of"</dt><dd><a href=href_with(&run_path(of), &[])><code class="run-id">{of.to_string()}</code></a></dd></div>
                })}
            </dl>
            <Show when=move || run.with(|r| r.status == RunStatus::InProgress && r.expected_total.is_some())>
                <div class="progress" role="progressbar" aria-label="Records processed"
                    aria-valuemin="0"
                    aria-valuemax=move || run.with(|r| r.expected_total.unwrap_or(0))
                    aria-valuenow=move || run.with(|r| r.counts.processed())>
                    <div class="progress__bar" style=move || run.with(|r| {
                        let total = r.expected_total.unwrap_or(1).max(1);
                        format!("width: {:.1}%", (r.counts.processed() as f64 / total as f64 * 100.0).min(100.0))
                    })></div>
                </div>
            </Show>
            <CountBreakdown counts=Signal::derive(move || run.with(|r| r.counts))/>
            {move || run.with(|r| r.failure.clone()).map(|f| view! { <RunFailureCallout message=f.message detail=f.detail/> })}
        </section>

        <section class="card records" aria-labelledby="records-title">
            <header class="card__header">
                <div>
                    <h2 id="records-title" class="card__title">"Records"</h2>
                    <p class="card__subtitle">"Each record this batch touched. Skipped and failed records carry a message explaining why."</p>
                </div>
                {(detail.can_retry && first.counts.failed > 0).then(|| view! {
                    <form method="post" action=at(&format!("/api/runs/{}/retry", first.id)) class="inline-form">
                        <button class="btn btn--secondary btn--sm" type="submit" data-testid="retry-all">"Retry all failed"</button>
                    </form>
                })}
                <a class="btn btn--secondary btn--sm" href=export_href(&first, query.status.as_deref()) download
                    data-testid="export-csv">
                    {match query.status.as_deref().filter(|s| *s != "all") {
                        Some(s) => format!("Download {s} as CSV"),
                        None => "Download as CSV".to_string(),
                    }}
                </a>
            </header>
            <StatusFilter run_id=first.id.to_string() current=status_filter run/>
            <div role="tabpanel" id="records-panel">
                <RecordTable records run salesforce_base=detail.salesforce_base.clone() can_retry=detail.can_retry/>
            </div>
            <nav class="pager" aria-label="Record pages">
                {earlier.map(|seq| {
                    let href = records_href(&first, query.status.as_deref(), None, Some(seq));
                    view! { <a class="btn btn--secondary" href=href rel="prev">"← Previous"</a> }
                })}
                {later.map(|seq| {
                    let href = records_href(&first, query.status.as_deref(), Some(seq), None);
                    view! { <a class="btn btn--secondary" href=href rel="next">"Next →"</a> }
                })}
            </nav>
        </section>
    }
}

fn progress_text(r: &SyncRun) -> String {
    let done = format_count(r.counts.processed());
    match (r.status, r.expected_total) {
        (RunStatus::InProgress, Some(total)) => {
            format!("{done} of {} processed", format_count(total))
        }
        (RunStatus::InProgress, None) => format!("{done} processed so far"),
        _ => format!("{done} processed"),
    }
}

fn records_href(
    run: &SyncRun,
    status: Option<&str>,
    after: Option<i64>,
    before: Option<i64>,
) -> String {
    let after = after.map(|s| s.to_string());
    let before = before.map(|s| s.to_string());
    href_with(
        &run_path(run.id),
        &[
            ("status", status.filter(|s| *s != "all")),
            ("after", after.as_deref()),
            ("before", before.as_deref()),
        ],
    )
}

/// The run's records as CSV, with the status filter shown (`GET /api/runs/{id}/records.csv`).
fn export_href(run: &SyncRun, status: Option<&str>) -> String {
    let path = at(&format!("/api/runs/{}/records.csv", run.id));
    match status.filter(|s| *s != "all") {
        Some(s) => format!("{path}?status={}", crate::domain::href::encode_query_value(s)),
        None => path,
    }
}

/// The article's explanation of a whole-run failure, with what to do about it.
#[component]
fn RunFailureCallout(message: RunMessage, detail: String) -> impl IntoView {
    let action = match message {
        RunMessage::AuthenticationFailure => Some(("/settings/crm", "Reconnect Salesforce")),
        RunMessage::ApiLimitExceeded => Some(("/settings/crm#rate-limits", "Review rate limits")),
        _ => None,
    };
    view! {
        <div class="callout callout--danger" role="alert" data-testid="run-failure" data-message=message.code()>
            <h3 class="callout__title">{message.title()}</h3>
            <p>{message.meaning()}</p>
            <p class="callout__todo"><strong>"What to do: "</strong>{message.what_to_do()}</p>
            {action.map(|(href, label)| view! { <a class="btn btn--primary btn--sm" href=at(href)>{label}</a> })}
            {(!detail.is_empty()).then(|| view! {
                <details class="callout__detail">
                    <summary>"Technical details"</summary>
                    <pre>{detail}</pre>
                </details>
            })}
        </div>
    }
}

/// All / Success / Skipped / Failed, with the run's counts beside each.
#[component]
fn StatusFilter(
    run_id: String,
    current: Option<RecordStatus>,
    run: RwSignal<SyncRun>,
) -> impl IntoView {
    let options: [(Option<RecordStatus>, &'static str); 4] = [
        (None, "All"),
        (Some(RecordStatus::Success), "Success"),
        (Some(RecordStatus::Skipped), "Skipped"),
        (Some(RecordStatus::Failed), "Failed"),
    ];
    view! {
        <div class="tabs tabs--compact" role="tablist" aria-label="Record status"
            on:keydown=crate::components::tabs::move_between_tabs>
            {options
                .into_iter()
                .map(|(status, label)| {
                    let href = href_with(
                        &at(&format!("/settings/crm/sync-activity/runs/{run_id}")),
                        &[("status", status.map(|s| s.as_str()))],
                    );
                    let count = move || run.with(|r| match status {
                        None => r.counts.processed(),
                        Some(RecordStatus::Success) => r.counts.synced(),
                        Some(RecordStatus::Skipped) => r.counts.skipped,
                        Some(RecordStatus::Failed) => r.counts.failed,
                    });
                    let selected = status == current;
                    view! {
                        <a class="tabs__tab" role="tab" href=href aria-selected=if selected { "true" } else { "false" }
                            aria-controls="records-panel" tabindex=if selected { "0" } else { "-1" } data-status=status.map(|s| s.as_str()).unwrap_or("all")>
                            {label}
                            <span class="tabs__count num">{move || format_count(count())}</span>
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[component]
fn RecordTable(
    records: RwSignal<Vec<RunRecord>>,
    run: RwSignal<SyncRun>,
    salesforce_base: Option<String>,
    can_retry: bool,
) -> impl IntoView {
    let object = run.with_untracked(|r| r.object_type);
    let run_id = run.with_untracked(|r| r.id);
    let salesforce_base = StoredValue::new(salesforce_base);
    let empty = move || {
        run.with(|r| match (r.status, r.counts.processed()) {
            (RunStatus::Failed, 0) => ("No records were processed", "The whole batch failed before any record was read. Its records are synced again on a later run."),
            (RunStatus::InProgress, 0) => ("No records yet", "Records appear here as the batch is processed."),
            _ => ("No records here", "No record of this run matches this status."),
        })
    };
    view! {
        <Show
            when=move || records.with(|r| !r.is_empty())
            fallback=move || view! {
                <div class="empty-state empty-state--small" data-testid="no-records">
                    <h3>{move || empty().0}</h3>
                    <p>{move || empty().1}</p>
                </div>
            }
        >
            // Focusable so a keyboard can scroll it when a narrow window makes it scroll sideways.
            <div class="table-wrap" tabindex="0" role="region" aria-label="Records table">
                <table class="records-table">
                    <thead>
                        <tr>
                            <th scope="col">"Record"</th>
                            <th scope="col">"Salesforce ID"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Message"</th>
                            <th scope="col">"Created (Salesforce)"</th>
                            <th scope="col">"Updated (Salesforce)"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || records.get() key=|r| r.seq children=move |r| view! { <RecordRow record=r object run_id can_retry salesforce_base=salesforce_base.get_value()/> }/>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}

#[component]
fn RecordRow(
    record: RunRecord,
    object: ObjectType,
    run_id: RunId,
    can_retry: bool,
    salesforce_base: Option<String>,
) -> impl IntoView {
    let RunRecord {
        seq,
        status,
        action,
        message,
        detail,
        salesforce_id,
        conversion_id,
        label,
        external_created_at,
        external_updated_at,
    } = record;
    // "Ava Müller <ava.muller@vandelay.example>": the name, and the address on a line of its
    // own, so a narrow column breaks neither in the middle of a word.
    let label = label.unwrap_or_else(|| "Unnamed record".to_string());
    let (name, email) = match label.strip_suffix('>').and_then(|l| l.split_once(" <")) {
        Some((name, email)) => (name.to_string(), Some(email.to_string())),
        None => (label, None),
    };
    // The name opens the record's story; the Salesforce ID opens the record in Salesforce.
    let story = RecordKey::of(salesforce_id.as_deref(), conversion_id.as_deref())
        .map(|k| href_with(&at(&k.path()), &[]));
    let in_salesforce = match (&salesforce_base, &salesforce_id) {
        (Some(base), Some(id)) if !id.trim().is_empty() => {
            Some(salesforce_record_url(base, object, id))
        }
        _ => None,
    };
    let time = |ms: Option<i64>| match ms {
        Some(ms) => Either::Left(view! { <LocalTime ms/> }),
        None => Either::Right(view! { <span class="muted">"—"</span> }),
    };
    view! {
        <tr class="record-row" data-seq=seq data-status=status.as_str()>
            <td data-label="Record">
                // One box for the name and the Conversion id, so a narrow screen wraps the id
                // beside the cell's label instead of widening the page.
                <div class="record-row__who">
                    {match story {
                        Some(href) => Either::Left(view! { <a class="record-row__label" href=href data-testid="record-link">{name}</a> }),
                        None => Either::Right(view! { <div class="record-row__label">{name}</div> }),
                    }}
                    {email.map(|e| {
                        // A narrow column breaks the address before its domain, not inside a word.
                        let (user, domain) = match e.split_once('@') {
                            Some((user, domain)) => (user.to_string(), format!("@{domain}")),
                            None => (e, String::new()),
                        };
                        view! { <div class="record-row__email">{user}<wbr/>{domain}</div> }
                    })}
                    {conversion_id.map(|c| view! { <div class="record-row__id muted small">{c}</div> })}
                </div>
            </td>
            <td data-label="Salesforce ID">
                {match (salesforce_id, in_salesforce) {
                    (Some(id), Some(url)) => EitherOf3::A(view! {
                        <a href=url target="_blank" rel="noopener noreferrer" class="external" data-testid="salesforce-link"
                            aria-label=format!("{id} (opens Salesforce in a new tab)")>
                            <code>{id.clone()}</code>
                        </a>
                    }),
                    (Some(id), None) => EitherOf3::B(view! { <code>{id}</code> }),
                    (None, _) => EitherOf3::C(view! { <span class="muted">"—"</span> }),
                }}
            </td>
            <td data-label="Action">{action.label()}</td>
            <td data-label="Status">
                <RecordStatusBadge status/>
                {(can_retry && status == RecordStatus::Failed).then(|| view! {
                    <form method="post" action=at(&format!("/api/runs/{run_id}/retry?seq={seq}")) class="inline-form">
                        <button class="btn btn--ghost btn--sm retry-one" type="submit" data-testid="retry">"Retry"</button>
                    </form>
                })}
            </td>
            <td data-label="Message" class="record-row__message">
                {match message {
                    Some(m) => Either::Left(view! {
                        <div class="message" data-message=m.code()>
                            <div class="message__title">{m.title()}</div>
                            <div class="message__meaning">{m.meaning()}</div>
                            {detail.map(|d| view! { <div class="message__detail"><code>{d}</code></div> })}
                        </div>
                    }),
                    None => Either::Right(view! { <span class="muted">"—"</span> }),
                }}
            </td>
            <td data-label="Created in Salesforce">{time(external_created_at)}</td>
            <td data-label="Updated in Salesforce">{time(external_updated_at)}</td>
        </tr>
    }
}
