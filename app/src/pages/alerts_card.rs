//! The Overview's Alerts card: the workspace's webhook (read only for members; admins save it and
//! send a test alert) and its latest delivery attempts, each with its result and run.

use crate::api::alerts::{SaveAlerts, SendTestAlert};
use crate::components::time::LocalTimeIsland;
use crate::domain::alerts::{AlertAttempt, AlertsView, DeliveryState};
use crate::domain::format_count;
use crate::domain::href::run_path;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

#[component]
pub fn AlertsCard(alerts: AlertsView) -> impl IntoView {
    let AlertsView { webhook, attempts, can_change } = alerts;
    let has_webhook = webhook.is_some();
    let settings = if can_change {
        let (url, threshold, enabled) = webhook
            .as_ref()
            .map_or((String::new(), 0, true), |w| (w.url.clone(), w.failed_threshold, w.enabled));
        Either::Left(view! {
            <AlertsForm>
                <label class="field">
                    <span class="field__label">"Webhook address"</span>
                    <input class="input" type="url" name="url" required maxlength="2000" value=url
                        placeholder="https://hooks.example.com/sync-alerts" data-testid="alerts-url"/>
                </label>
                <label class="field field--inline">
                    <span class="field__label">"Alert when a run has at least"</span>
                    <input class="input input--narrow" type="number" name="failed_threshold" min="0" max="1000000"
                        value=threshold.to_string() data-testid="alerts-threshold"/>
                    <span>"failed records (0: only when a whole run fails)"</span>
                </label>
                <label class="setting setting--inline">
                    <input type="checkbox" name="enabled" value="on" checked=enabled/>
                    <span>"Send alerts"</span>
                </label>
                {has_webhook.then(|| view! {
                    <label class="setting setting--inline">
                        <input type="checkbox" name="rotate_secret" value="on"/>
                        <span>"Make a new signing secret (the current one stops verifying at once)"</span>
                    </label>
                })}
            </AlertsForm>
            {has_webhook.then(|| view! { <TestAlertButton/> })}
        })
    } else {
        Either::Right(view! {
            <dl class="facts">
                <div><dt>"Webhook"</dt><dd>{webhook.as_ref().map_or_else(|| "None".to_string(), |w| w.url.clone())}</dd></div>
                <div><dt>"Failed records threshold"</dt><dd>{webhook.as_ref().map_or_else(|| "\u{2014}".to_string(), |w| match w.failed_threshold {
                    0 => "Whole-run failures only".to_string(),
                    n => format_count(n),
                })}</dd></div>
                <div><dt>"Alerts"</dt><dd>{if webhook.as_ref().is_some_and(|w| w.enabled) { "On" } else { "Off" }}</dd></div>
            </dl>
            <p class="admins-only" data-testid="admins-only">"Only workspace admins can change the alert webhook."</p>
        })
    };
    let empty = attempts.is_empty();
    view! {
        <section class="card alerts" id="alerts" aria-labelledby="alerts-title" data-testid="alerts-card">
            <header class="card__header">
                <div>
                    <h2 id="alerts-title" class="card__title">"Alerts"</h2>
                    <p class="card__subtitle">"A webhook Conversion calls when a run fails as a whole, or leaves at least the threshold of failed records: a signed JSON summary, at most one per message an hour."</p>
                </div>
            </header>
            {settings}
            <h3 class="alerts__heading">"Latest deliveries"</h3>
            {empty.then(|| view! { <p class="muted">"No alert has been sent yet."</p> })}
            <ol class="alerts__attempts" data-testid="alert-attempts">
                {attempts.into_iter().map(attempt_row).collect_view()}
            </ol>
        </section>
    }
}

/// One attempt: when, its result, what it was about, and how its delivery stands now.
fn attempt_row(a: AlertAttempt) -> impl IntoView {
    let ok = a.succeeded();
    let badge = if ok { "completed" } else { "failed" };
    let what = match a.run_id {
        Some(id) => Either::Left(view! { <a href=run_path(id)>{a.reason.label()}</a> }),
        None => Either::Right(view! { <span>{a.reason.label()}</span> }),
    };
    let state = match (a.state, a.next_attempt_at) {
        (DeliveryState::Pending, Some(ms)) => {
            EitherOf3::A(view! { <span>"Next try "<LocalTimeIsland ms/></span> })
        }
        (DeliveryState::GaveUp, _) => EitherOf3::B(view! { <span>"Given up"</span> }),
        (DeliveryState::Cancelled, _) => EitherOf3::B(view! { <span>"Cancelled"</span> }),
        _ => EitherOf3::C(()),
    };
    view! {
        <li class="alerts__attempt" data-delivery=a.delivery_id data-status=a.status_code.unwrap_or(0)>
            <span class="alerts__when"><LocalTimeIsland ms=a.at/></span>
            <span class=format!("badge badge--{badge}")><span class="badge__icon" aria-hidden="true"></span>{a.result()}</span>
            <span class="alerts__what">{what}" \u{b7} attempt "{a.attempt}</span>
            <span class="alerts__state small muted">{state}</span>
        </li>
    }
}

/// Saves the fields it is given (server HTML) and shows the answer in place: what to fix, or
/// the new signing secret, once.
#[island]
fn AlertsForm(children: Children) -> impl IntoView {
    let save = ServerAction::<SaveAlerts>::new();
    let result = move || {
        save.value().get().map(|r| match r {
            Ok(Ok(saved)) => EitherOf3::A(view! {
                <div class="form-status form-status--ok" role="status">
                    <p>"Saved."</p>
                    {saved.secret.map(|secret| view! {
                        <p>"Copy the signing secret now: it is not shown again. Receivers check "<code>"X-Sync-Signature"</code>" with it."</p>
                        <p><code class="token" data-testid="alerts-secret">{secret}</code></p>
                    })}
                </div>
            }),
            Ok(Err(refused)) => EitherOf3::B(view! { <p class="form-status form-status--error" role="alert">{refused}</p> }),
            Err(_) => EitherOf3::C(view! { <p class="form-status form-status--error" role="alert">"The alert webhook could not be saved. Try again in a moment."</p> }),
        })
    };
    view! {
        <ActionForm action=save attr:class="settings-form alerts__form">
            {children()}
            <div class="actions">
                <button class="btn btn--primary" type="submit">"Save alerts"</button>
                {result}
            </div>
        </ActionForm>
    }
}

/// Queues a test alert; the attempt shows in the list at the next visit.
#[island]
fn TestAlertButton() -> impl IntoView {
    let send = ServerAction::<SendTestAlert>::new();
    let result = move || {
        send.value().get().map(|r| match r {
            Ok(Ok(_)) => EitherOf3::A(view! { <p class="form-status form-status--ok" role="status">"Test alert queued: it goes out within seconds. Reload to see the attempt."</p> }),
            Ok(Err(refused)) => EitherOf3::B(view! { <p class="form-status form-status--error" role="alert">{refused}</p> }),
            Err(_) => EitherOf3::C(view! { <p class="form-status form-status--error" role="alert">"The test alert could not be queued. Try again in a moment."</p> }),
        })
    };
    view! {
        <ActionForm action=send attr:class="actions alerts__test">
            <button class="btn btn--secondary" type="submit" data-testid="alerts-test">"Send a test alert"</button>
            {result}
        </ActionForm>
    }
}
