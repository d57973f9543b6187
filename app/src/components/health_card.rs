//! The Overview's Recent sync health card: runs, records and what needs attention in the last
//! hours. Rendered in the page, and as HTML for `/api/health/card`, which the page's island swaps
//! in while runs are in progress.

use crate::components::badges::StatusBadge;
use crate::components::chart::HourlyChart;
use crate::components::time::{iso_utc, LocalTime};
use crate::domain::health::{FailureGroup, StorageFailure, SyncHealth};
use crate::domain::href::at;
use crate::domain::href::run_href;
use crate::domain::{format_count, Direction, ObjectType, SyncRun};
use leptos::either::Either;
use leptos::prelude::*;

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
pub fn health_view(h: &SyncHealth, as_of: i64) -> impl IntoView + use<> {
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
    let plural =
        |n: i64, one: &str| format!("{} {one}{}", format_count(n), if n == 1 { "" } else { "s" });
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
pub fn activity_href(
    message: &str,
    failed_runs: bool,
    direction: Option<Direction>,
    object: Option<ObjectType>,
    since_ms: i64,
) -> String {
    let mut href = at("/settings/crm/sync-activity?");
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
