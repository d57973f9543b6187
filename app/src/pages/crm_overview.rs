//! Settings → CRM & Syncing → Overview, with the Recent sync health card and its View logs link.

use crate::api::alerts::get_alerts;
use crate::api::connection::get_connection;
use crate::api::health::{get_health_card, get_sync_health};
use crate::api::history::get_history;
use crate::components::health_card::health_view;
use crate::components::layout::{CrmTab, SettingsLayout};
use crate::components::live::{use_interval_while, POLL_MS};
use crate::components::time::{browser_offset_minutes, display_in_offset};
use crate::domain::health::ConnectionPulse;
use crate::domain::href::at;
use crate::pages::alerts_card::AlertsCard;
use crate::pages::crm_connection::{
    ApiTokensCard, AuditCard, ConnectionCard, RateLimitsCard, SettingsCard,
};
use crate::pages::history_card::HistoryCard;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use wasm_bindgen::JsCast;

#[component]
pub fn CrmOverviewPage() -> impl IntoView {
    let health = Resource::new(|| (), |_| get_sync_health());
    let connection = Resource::new(|| (), |_| get_connection());
    let alerts = Resource::new(|| (), |_| get_alerts());
    let history = Resource::new(|| (), |_| get_history());
    view! {
        <Title text="CRM & Syncing"/>
        <SettingsLayout active=CrmTab::Overview>
            <div class="overview-grid">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match connection.await {
                            Ok(data) => Either::Left(view! { <ConnectionCard c=data.connection can_change=data.can_change/> }),
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
                        <a class="btn btn--primary" href=at("/settings/crm/sync-activity")>"View logs"</a>
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
                            <SettingsCard settings=data.settings default_interval_secs=data.default_interval_secs can_change=data.can_change/>
                            {data.tokens.map(|tokens| view! { <ApiTokensCard tokens/> })}
                            {data.audit.map(|events| view! { <AuditCard events/> })}
                        })
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { alerts.await.ok().map(|alerts| view! { <AlertsCard alerts/> }) })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { history.await.ok().map(|history| view! { <HistoryCard history/> }) })}
                </Transition>
            </div>
        </SettingsLayout>
    }
}

/// How often the card asks while nothing is in progress: only to notice a change of the
/// connection (a revoked token, an exceeded limit) during a visit.
const CARD_IDLE_POLL_MS: u32 = 15_000;

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
    use_interval_while(idle, CARD_IDLE_POLL_MS, refresh);
    view! { <div class="health__body" node_ref=body>{children()}</div> }
}

/// Replaces the card's body, with the folded lists the reader opened still open.
fn swap_keeping_open_details(el: &web_sys::HtmlDivElement, html: &str) {
    let open: Vec<String> = el
        .query_selector_all("details[open]")
        .map(|list| {
            (0..list.length())
                .filter_map(|i| list.item(i))
                .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
                .map(|e| e.class_name())
                .collect()
        })
        .unwrap_or_default();
    el.set_inner_html(html);
    for class in open {
        if let Ok(Some(d)) = el.query_selector(&format!(
            "details.{}",
            class.split_whitespace().next().unwrap_or_default()
        )) {
            let _ = d.set_attribute("open", "");
        }
    }
}

/// The server writes times in UTC; the reader's zone is only known here.
fn localize_times(el: &web_sys::HtmlDivElement) {
    let Ok(list) = el.query_selector_all("time.local-time[data-ms]") else { return };
    for t in (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::Element>().ok())
    {
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
