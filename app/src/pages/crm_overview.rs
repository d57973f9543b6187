//! Settings → CRM & Syncing → Overview, with the Recent sync health card and its View logs link.

use crate::api::connection::get_connection;
use crate::api::health::{get_health_card, get_sync_health};
use crate::pages::crm_connection::{ConnectionCard, RateLimitsCard, SettingsCard};
use crate::components::badges::StatusBadge;
use crate::components::layout::{CrmTab, SettingsLayout};
use crate::components::chart::HourlyChart;
use crate::components::live::{use_interval_while, POLL_MS};
use crate::components::time::{browser_offset_minutes, display_in_offset, iso_utc, LocalTime};
use crate::domain::health::{ConnectionPulse, FailureGroup, StorageFailure, SyncHealth};
use wasm_bindgen::JsCast;
use crate::domain::{Direction, ObjectType};
use crate::domain::{format_count, SyncRun};
use crate::pages::sync_activity::run_href;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CrmOverviewPage() -> impl IntoView {
    let health = Resource::new(|| (), |_| get_sync_health());
    let connection = Resource::new(|| (), |_| get_connection());
    view! {
        <Title text="CRM & Syncing"/>
        <SettingsLayout active=CrmTab::Overview>
            <div class="overview-grid">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match connection.await {
                            Ok(data) => Either::Left(view! { <ConnectionCard c=data.connection/> }),
                            Err(_) => Either::Right(view! { <p class="card" role="alert">"The Salesforce connection could not be loaded. Try again in a moment."</p> }),
                        }
                    })}
                </Transition>
                <section class="card health" aria-labelledby="health-title" data-testid="health-card">
                    <header class="card__header">
                        <div>
                            <h2 id="health-title" class="card__title">"Recent sync health"</h2>
                            <p class="card__subtitle">"The last 24 hours of syncing with Salesforce."</p>
                        </div>
                        <a class="btn btn--primary" href="/settings/crm/sync-activity">"View logs"</a>
                    </header>
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match health.await {
                                Ok(h) => {
                                    let in_progress = h.health.runs_in_progress > 0;
                                    Either::Left(view! {
                                        <HealthSummary in_progress pulse=h.pulse>
                                            {health_view(&h.health, h.as_of)}
                                        </HealthSummary>
                                    })
                                }
                                Err(_) => Either::Right(view! { <p role="alert">"Sync health could not be loaded. Try again in a moment."</p> }),
                            }
                        })}
                    </Transition>
                </section>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        connection.await.ok().map(|data| view! {
                            <RateLimitsCard c=data.connection as_of=data.as_of/>
                            <SettingsCard settings=data.settings default_interval_secs=data.default_interval_secs/>
                        })
                    })}
                </Transition>
            </div>
        </SettingsLayout>
    }
}

/// How often the card asks while nothing is in progress: only to notice a change of the
/// connection (a revoked token, an exceeded limit) during a visit.
const IDLE_POLL_MS: u32 = 15_000;

/// The card's body, kept live: every few seconds while a run of the window is in progress (every
/// fifteen otherwise) the server renders it again and the browser swaps it in. The body is server
/// HTML from the start, so none of its drawing (numbers, chart, groups) weighs on the Wasm: the
/// island is the poll, the swap and the local times.
#[island]
fn HealthSummary(in_progress: bool, pulse: ConnectionPulse, children: Children) -> impl IntoView {
    let body = NodeRef::<leptos::html::Div>::new();
    let running = RwSignal::new(in_progress);
    let live = Memo::new(move |_| running.get());
    let idle = Memo::new(move |_| !running.get());
    let shown = StoredValue::new(String::new());
    Effect::new(move |_| {
        if let Some(el) = body.get() {
            localize_times(&el);
        }
    });
    let refresh = move || async move {
        let Ok(fresh) = get_health_card().await else { return };
        if fresh.pulse != pulse {
            connection_changed();
        }
        if let Some(el) = body.get_untracked() {
            if shown.with_value(|s| *s != fresh.html) {
                swap_keeping_open_details(&el, &fresh.html);
                localize_times(&el);
                shown.set_value(fresh.html);
            }
        }
        running.set(fresh.in_progress);
    };
    use_interval_while(live, POLL_MS, refresh);
    use_interval_while(idle, IDLE_POLL_MS, refresh);
    view! { <div class="health__body" node_ref=body>{children()}</div> }
}

/// Replaces the card's body, with the folded lists the reader opened still open.
fn swap_keeping_open_details(el: &web_sys::HtmlDivElement, html: &str) {
    let open: Vec<String> = el
        .query_selector_all("details[open]")
        .map(|list| (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<web_sys::Element>().ok()).map(|e| e.class_name()).collect())
        .unwrap_or_default();
    el.set_inner_html(html);
    for class in open {
        if let Ok(Some(d)) = el.query_selector(&format!("details.{}", class.split_whitespace().next().unwrap_or_default())) {
            let _ = d.set_attribute("open", "");
        }
    }
}

/// The server writes times in UTC; the reader's zone is only known here.
fn localize_times(el: &web_sys::HtmlDivElement) {
    let Ok(list) = el.query_selector_all("time.local-time[data-ms]") else { return };
    for t in (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<web_sys::Element>().ok()) {
        if let Some(ms) = t.get_attribute("data-ms").and_then(|v| v.parse::<i64>().ok()) {
            t.set_text_content(Some(&display_in_offset(ms, browser_offset_minutes(ms))));
        }
    }
}

/// The connection or the limit changed since the page was rendered: the connection and Rate
/// limits cards are server HTML, so the page is loaded again. Not while the settings form has
/// unsaved edits: those are not thrown away, and the cards catch up at the next visit.
fn connection_changed() {
    #[cfg(feature = "hydrate")]
    {
        let editing = document().query_selector("[data-testid=unsaved]").ok().flatten().is_some();
        if !editing {
            let _ = window().location().reload();
        }
    }
}

/// The card's body as HTML (server only): what the page renders, for `/api/health/card`.
#[cfg(feature = "ssr")]
pub fn health_html(h: &SyncHealth, as_of: i64) -> String {
    use leptos::tachys::view::RenderHtml;
    health_view(h, as_of).into_view().to_html()
}

/// Failed-record groups listed before the rest fold away: the card stays a summary.
const SHOWN_FAILURES: usize = 6;

/// `as_of`: when these numbers were read (the window is `since_ms..as_of`), for the browser test
/// that compares them with the activity.
fn health_view(h: &SyncHealth, as_of: i64) -> impl IntoView + use<> {
    let stat = |label: &'static str, value: i64, tone: &'static str| {
        view! {
            <div class=format!("stat stat--{tone}") data-stat=label.to_lowercase().replace(' ', "-")>
                <dt>{label}</dt>
                <dd class="num">{format_count(value)}</dd>
            </div>
        }
    };
    let (failed, skipped) = h.record_groups();
    let attention = failed.len() + h.run_failures.len();
    let since = h.since_ms;
    let plural = |n: i64, one: &str| format!("{} {one}{}", format_count(n), if n == 1 { "" } else { "s" });
    let group_item = move |g: &FailureGroup, status: &'static str, tone: &'static str| {
        // Where the records came from, when from one place: it also tells apart the inbound and
        // outbound "Unknown error".
        let scope = match (g.direction, g.object) {
            (Some(d), Some(o)) => format!("{} \u{b7} {}", d.short_label(), o.label()),
            (Some(d), None) => d.short_label().to_string(),
            (None, Some(o)) => o.label().to_string(),
            (None, None) => String::new(),
        };
        view! {
            <li class=format!("attention__item attention__item--{tone}") data-message=g.message.code()>
                <span class="attention__title">{g.message.title()}</span>
                {(!scope.is_empty()).then(|| view! { <span class="attention__scope">{scope}</span> })}
                <span class="muted">{format!("{} {status} in {}", plural(g.records, "record"), plural(g.runs, "run"))}</span>
                <a href=activity_href(g.message.code(), false, g.direction, g.object, since)>"See runs"</a>
            </li>
        }
    };
    let skipped_total: i64 = skipped.iter().map(|g| g.records).sum();
    view! {
        // Before any number: while the database cannot be written, nothing below moves.
        {h.storage.clone().map(|p| view! {
            <div class="callout callout--danger" role="alert" data-testid="storage-problem">
                <h3 class="callout__title">{if p.failure == StorageFailure::Damaged { "Conversion's database is damaged" } else { "Conversion's database cannot be written" }}</h3>
                <p>{p.message()}</p>
                <p class="small">"Since "<LocalTime ms=p.since_ms/></p>
            </div>
        })}
        <dl class="stats" data-testid="health-stats" data-since=h.since_ms data-as-of=as_of>
            {stat("Runs completed", h.runs_completed, "neutral")}
            {stat("Runs failed", h.runs_failed, if h.runs_failed > 0 { "danger" } else { "neutral" })}
            {stat("Records synced", h.records_synced, "neutral")}
            {stat("Records skipped", h.records_skipped, "neutral")}
            {stat("Records failed", h.records_failed, if h.records_failed > 0 { "danger" } else { "neutral" })}
        </dl>
        <HourlyChart hours=h.hourly.clone()/>
        <div class="last-runs">
            <LastRun label="Last inbound run" run=h.last_inbound.clone()/>
            <LastRun label="Last outbound run" run=h.last_outbound.clone()/>
        </div>
        <div class="attention" data-testid="attention">
            <h3 class="section-title">
                {if attention == 0 { "Nothing needs attention" } else { "Needs attention" }}
            </h3>
            // Whole-run failures, then failed records: what a person has to act on comes first.
            <ul class="attention__list" data-testid="attention-failed">
                {h.run_failures.iter().map(|(m, runs)| view! {
                    <li class="attention__item attention__item--danger" data-message=m.code()>
                        <span class="attention__title">{m.title()}</span>
                        <span class="attention__scope">"Whole run"</span>
                        <span class="muted">{format!("{} failed as a whole", plural(*runs, "run"))}</span>
                        <a href=activity_href(m.code(), true, None, None, since)>"See runs"</a>
                    </li>
                }).collect_view()}
                {failed.iter().take(SHOWN_FAILURES).map(|g| group_item(g, "failed", "danger")).collect_view()}
            </ul>
            {(failed.len() > SHOWN_FAILURES).then(|| view! {
                <details class="attention__more">
                    <summary>{format!("{} more kinds of failed record", failed.len() - SHOWN_FAILURES)}</summary>
                    <ul class="attention__list">
                        {failed.iter().skip(SHOWN_FAILURES).map(|g| group_item(g, "failed", "danger")).collect_view()}
                    </ul>
                </details>
            })}
            {(!skipped.is_empty()).then(|| view! {
                // Skips are usually expected (a record with no email): listed, but folded away.
                <details class="attention__skipped" data-testid="attention-skipped">
                    <summary>
                        "Skipped (expected)"
                        <span class="muted">{format!(" \u{b7} {} in {} kind{}", plural(skipped_total, "record"), skipped.len(), if skipped.len() == 1 { "" } else { "s" })}</span>
                    </summary>
                    <ul class="attention__list">
                        {skipped.iter().map(|g| group_item(g, "skipped", "skipped")).collect_view()}
                    </ul>
                </details>
            })}
        </div>
    }
}

/// The Sync activity view narrowed to runs with `message` (a record message code or, with
/// `failed_runs`, a whole-run message code) since `since_ms`, and to one direction and object
/// type when given: the "See runs" link of a Needs attention group.
pub fn activity_href(message: &str, failed_runs: bool, direction: Option<Direction>, object: Option<ObjectType>, since_ms: i64) -> String {
    let mut href = String::from("/settings/crm/sync-activity?");
    if failed_runs {
        href.push_str("status=failed&");
    }
    // Codes are lower-case ASCII and underscores: nothing to encode. The instant's colons are.
    href.push_str(&format!("message={message}&from={}", iso_utc(since_ms).replace(':', "%3A")));
    if let Some(d) = direction {
        href.push_str(&format!("&direction={}", d.as_str()));
    }
    if let Some(o) = object {
        href.push_str(&format!("&object={}", o.as_str()));
    }
    href
}

#[component]
fn LastRun(label: &'static str, run: Option<SyncRun>) -> impl IntoView {
    view! {
        <div class="last-run">
            <p class="last-run__label">{label}</p>
            {match run {
                Some(r) => Either::Left(view! {
                    <a class="last-run__link" href=run_href(r.id)>{r.description()}</a>
                    <div class="last-run__meta">
                        <StatusBadge status=r.status/>
                        <LocalTime ms=r.started_at/>
                    </div>
                }),
                None => Either::Right(view! { <p class="muted">"No runs yet"</p> }),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_links_filter_the_activity_by_message_window_and_scope() {
        let since = 1_764_526_778_123; // 2025-11-30T18:19:38.123Z
        assert_eq!(
            activity_href("duplicate_record", false, Some(Direction::Outbound), Some(ObjectType::Contact), since),
            "/settings/crm/sync-activity?message=duplicate_record&from=2025-11-30T18%3A19%3A38.123Z&direction=outbound&object=contact"
        );
        assert_eq!(
            activity_href("missing_email", false, None, None, since),
            "/settings/crm/sync-activity?message=missing_email&from=2025-11-30T18%3A19%3A38.123Z"
        );
        assert_eq!(
            activity_href("authentication_failure", true, None, None, since),
            "/settings/crm/sync-activity?status=failed&message=authentication_failure&from=2025-11-30T18%3A19%3A38.123Z"
        );
    }
}
