//! The Overview tab's Salesforce cards: the connection, Rate limits and Sync settings.

use crate::api::connection::SaveSyncSettings;
use crate::components::time::LocalTimeIsland;
use crate::domain::access::{ApiTokenView, AuditEvent, TokenAccess};
use crate::domain::connection::{ConnectionState, ConnectionView};
use crate::domain::format_count;
use crate::domain::href::at;
use crate::domain::settings::{describe_interval, SyncSettings, INTERVAL_CHOICES};
use crate::domain::RunMessage;
use crate::domain::{CompanyField, ContactField, ObjectType};
use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;

#[component]
pub fn ConnectionCard(c: ConnectionView, can_change: bool) -> impl IntoView {
    let state = c.state;
    let (badge, action) = match state {
        ConnectionState::Connected => ("completed", "Reconnect Salesforce"),
        ConnectionState::ReconnectNeeded => ("failed", "Reconnect Salesforce"),
        ConnectionState::Disconnected => ("neutral", "Connect Salesforce"),
    };
    view! {
        <section class="card connection" aria-labelledby="connection-title" data-testid="connection-card" data-state=format!("{state:?}")>
            <header class="card__header">
                <div>
                    <h2 id="connection-title" class="card__title">"Salesforce connection"</h2>
                    <p class="card__subtitle">"The org Conversion syncs with, and the integration user it signs in as."</p>
                </div>
                <span class=format!("badge badge--{badge}")><span class="badge__icon" aria-hidden="true"></span>{state.label()}</span>
            </header>
            {(state == ConnectionState::ReconnectNeeded).then(|| view! {
                <div class="callout callout--danger" role="alert" data-testid="reconnect-prompt">
                    <h3 class="callout__title">{RunMessage::AuthenticationFailure.title()}</h3>
                    <p>{RunMessage::AuthenticationFailure.meaning()}" Syncing is paused until you reconnect."</p>
                    {c.detail.clone().map(|d| view! { <p class="small"><code>{d}</code></p> })}
                </div>
            })}
            <dl class="facts">
                <div><dt>"Org"</dt><dd>{c.instance_url.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Integration user"</dt><dd>{c.username.clone().unwrap_or_else(|| "—".into())}</dd></div>
                <div><dt>"Connected since"</dt><dd>{match c.connected_since {
                    Some(ms) if state != ConnectionState::Disconnected => Either::Left(view! { <LocalTimeIsland ms/> }),
                    _ => Either::Right(view! { <span>"—"</span> }),
                }}</dd></div>
            </dl>
            {if can_change {
                Either::Left(view! {
                    <div class="actions">
                        // A full page load: the server starts the OAuth flow and Salesforce's consent page follows.
                        <a class="btn btn--primary" href=at("/settings/crm/salesforce/connect") rel="external" data-testid="connect">{action}</a>
                        // Asks before it acts, with no script: the button opens the question in place.
                        {(state != ConnectionState::Disconnected).then(|| {
                            let org = c.instance_url.clone().unwrap_or_else(|| "this org".into());
                            view! {
                                <details class="confirm" data-testid="disconnect">
                                    <summary class="btn btn--secondary">"Disconnect"</summary>
                                    <div class="confirm__panel" role="group" aria-label="Disconnect Salesforce?">
                                        <p class="confirm__title">"Disconnect Salesforce?"</p>
                                        <p class="confirm__body">"Syncing with "<strong>{org}</strong>" stops in both directions, and the access Conversion holds is revoked at Salesforce. Changes made in Conversion wait until you connect again."</p>
                                        <form method="post" action=at("/settings/crm/salesforce/disconnect")>
                                            <button class="btn btn--danger" type="submit">"Disconnect Salesforce"</button>
                                        </form>
                                    </div>
                                </details>
                            }
                        })}
                    </div>
                })
            } else {
                Either::Right(view! {
                    <p class="admins-only" data-testid="admins-only">"Only workspace admins can connect, reconnect or disconnect Salesforce."</p>
                })
            }}
        </section>
    }
}

/// API tokens for scripts, for admins: make one (shown once, on the page that follows), see when
/// each was last used, revoke it.
#[component]
pub fn ApiTokensCard(tokens: Vec<ApiTokenView>) -> impl IntoView {
    let empty = tokens.is_empty();
    view! {
        <section class="card tokens" id="api-tokens" aria-labelledby="tokens-title" data-testid="api-tokens">
            <header class="card__header">
                <div>
                    <h2 id="tokens-title" class="card__title">"API tokens"</h2>
                    <p class="card__subtitle">"For scripts that read the sync activity or change settings through the JSON API ("<code>"Authorization: Bearer …"</code>"). Admins only."</p>
                </div>
            </header>
            <form class="tokens__new" method="post" action=at("/settings/crm/api-tokens")>
                <label class="field">
                    <span class="field__label">"Token name"</span>
                    <input class="input" type="text" name="name" required maxlength="80" placeholder="Nightly export"/>
                </label>
                <label class="field">
                    <span class="field__label">"Access"</span>
                    <select class="input input--narrow" name="access">
                        {TokenAccess::ALL.iter().map(|a| view! { <option value=a.as_str()>{a.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button class="btn btn--secondary" type="submit">"Create token"</button>
            </form>
            {empty.then(|| view! { <p class="muted">"No tokens yet."</p> })}
            <ul class="tokens__list">
                {tokens.into_iter().map(|t| {
                    let live = t.revoked_at.is_none();
                    let used = match t.last_used_at {
                        Some(ms) => Either::Left(view! { <span>"Last used "<LocalTimeIsland ms/></span> }),
                        None => Either::Right(view! { <span>"Never used"</span> }),
                    };
                    let by = t.created_by.clone().map(|e| format!(" by {e}")).unwrap_or_default();
                    view! {
                        <li class="tokens__token" class:is-revoked=!live data-token-id=t.id>
                            <div class="tokens__what">
                                <strong>{t.name.clone()}</strong>
                                <code class="small">{format!("{}\u{2026}", t.prefix)}</code>
                                <span class="badge badge--neutral">{t.access.label()}</span>
                            </div>
                            <div class="tokens__when small muted">
                                <span>"Created "<LocalTimeIsland ms=t.created_at/>{by}</span>
                                " \u{b7} "
                                {if live { Either::Left(used) } else { Either::Right(view! { <span>"Revoked"</span> }) }}
                            </div>
                            {live.then(|| view! {
                                <form method="post" action=at(&format!("/settings/crm/api-tokens/{}/revoke", t.id))>
                                    <button class="btn btn--ghost btn--sm" type="submit" aria-label=format!("Revoke {}", t.name)>"Revoke"</button>
                                </form>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// The workspace's audit trail, for admins: who changed the connection, the settings or the
/// members, and when.
#[component]
pub fn AuditCard(events: Vec<AuditEvent>) -> impl IntoView {
    let empty = events.is_empty();
    view! {
        <section class="card audit" aria-labelledby="audit-title" data-testid="audit-trail">
            <header class="card__header">
                <div>
                    <h2 id="audit-title" class="card__title">"Audit trail"</h2>
                    <p class="card__subtitle">"Who connected, disconnected or changed the sync settings of this workspace, and when. Admins only."</p>
                </div>
            </header>
            {empty.then(|| view! { <p class="muted">"Nothing has been changed yet."</p> })}
            <ol class="audit__list">
                {events.into_iter().map(|e| {
                    let detail = (!e.detail.is_empty()).then(|| view! { <span class="audit__detail">{e.detail.clone()}</span> });
                    view! {
                        <li class="audit__event" data-action=e.action.as_str()>
                            <span class="audit__when"><LocalTimeIsland ms=e.at/></span>
                            <span class="audit__what"><strong>{e.actor.clone()}</strong>" "{e.action.describe()}</span>
                            {detail}
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

#[component]
pub fn RateLimitsCard(c: ConnectionView, as_of: i64) -> impl IntoView {
    let paused = c.limit_paused_until.filter(|t| *t > as_of);
    let exceeded = paused.is_some() || c.api.is_some_and(|a| a.exceeded());
    view! {
        <section class="card" id="rate-limits" aria-labelledby="limits-title" data-testid="rate-limits">
            <header class="card__header">
                <div>
                    <h2 id="limits-title" class="card__title">"Rate limits"</h2>
                    <p class="card__subtitle">"Salesforce API requests used in the last 24 hours against your org\u{2019}s daily limit."</p>
                </div>
            </header>
            {match c.api {
                Some(api) => Either::Left(view! {
                    <div class="meter" role="meter" aria-label="API requests used" aria-valuemin="0"
                        aria-valuemax=api.max aria-valuenow=api.used>
                        <div class="meter__bar" class:is-over=exceeded class:is-empty=api.used == 0 style=format!("width: {:.1}%", api.percent())></div>
                    </div>
                    <p class="meter__numbers">
                        <strong class="num" data-testid="api-used">{format_count(api.used)}</strong>
                        " of "<span class="num">{format_count(api.max)}</span>" requests ("{format!("{:.0}%", api.percent())}")"
                        <span class="muted">" · measured "<LocalTimeIsland ms=api.measured_at/></span>
                    </p>
                }),
                None => Either::Right(view! { <p class="muted">"Not measured yet: usage appears after the first sync."</p> }),
            }}
            {exceeded.then(|| view! {
                <div class="callout callout--danger" role="alert" data-testid="limit-exceeded">
                    <h3 class="callout__title">{RunMessage::ApiLimitExceeded.title()}</h3>
                    <p>{RunMessage::ApiLimitExceeded.meaning()}</p>
                    <p class="callout__todo"><strong>"What to do: "</strong>{RunMessage::ApiLimitExceeded.what_to_do()}</p>
                    {paused.map(|ms| view! { <p>"Syncing resumes as soon as Salesforce allows requests again, and tries again at "<LocalTimeIsland ms/>" at the latest."</p> })}
                </div>
            })}
        </section>
    }
}

/// The settings card. Its fields are server HTML; the form around them is an island.
#[component]
pub fn SettingsCard(
    settings: SyncSettings,
    default_interval_secs: u64,
    can_change: bool,
) -> impl IntoView {
    let s = settings;
    let check = |name: &'static str, label: &'static str, help: &'static str, on: bool| {
        view! {
            <label class="setting">
                <input type="checkbox" name=name value="on" checked=on/>
                <span><span class="setting__label">{label}</span><span class="setting__help">{help}</span></span>
            </label>
        }
    };
    // One checkbox per mappable field: "Job title → Title".
    // `fields`: (code, label, Salesforce field, mapped now).
    let mapping = |fields: Vec<(&'static str, &'static str, &'static str, bool)>,
                   prefix: &'static str| {
        fields
            .into_iter()
            .map(|(code, label, sf, checked)| {
                view! {
                    <label class="setting setting--inline">
                        <input type="checkbox" name=format!("{prefix}{code}") value="on" checked=checked/>
                        <span>{label}" \u{2192} "<code>{sf}</code></span>
                    </label>
                }
            })
            .collect_view()
    };
    let fields = view! {
                <fieldset class="settings-group">
                    <legend>"Syncing from Salesforce"</legend>
                    <p class="setting__help">"Object types brought into Conversion on the inbound schedule. A type that is off is not read at all."</p>
                    {ObjectType::ALL.iter().map(|o| {
                        let on = s.syncs_inbound(*o);
                        view! {
                            <label class="setting setting--inline">
                                <input type="checkbox" name=format!("inbound_{}", o.as_str()) value="on" checked=on/>
                                <span>{o.label()}</span>
                            </label>
                        }
                    }).collect_view()}
                    <label class="field field--inline">
                        <span class="field__label">"Inbound schedule"</span>
                        <select class="input" name="interval_secs" data-testid="interval">
                            <option value="default" selected=s.interval_secs.is_none()>{format!("Server default ({})", describe_interval(default_interval_secs))}</option>
                            {INTERVAL_CHOICES.iter().map(|(secs, label)| view! {
                                <option value=secs.to_string() selected=s.interval_secs == Some(*secs)>{*label}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </fieldset>
                <fieldset class="settings-group">
                    <legend>"Writing to Salesforce"</legend>
                    {check("write_contacts", "Write changes to Salesforce leads and contacts", "Off: contact changes in Conversion are skipped with \u{201c}Object write disabled\u{201d}.", s.write_contacts)}
                    {check("write_companies", "Write changes to Salesforce accounts", "Off: company changes are skipped with \u{201c}Object write disabled\u{201d}.", s.write_companies)}
                    {check("write_events", "Write custom events to Salesforce", "Off: custom events recorded in Conversion are skipped with \u{201c}Object write disabled\u{201d}.", s.write_events)}
                </fieldset>
                <fieldset class="settings-group">
                    <legend>"Field mapping (Conversion \u{2192} Salesforce)"</legend>
                    <p class="setting__help">"Only these fields are pushed. A change to none of them is skipped with \u{201c}No fields to update\u{201d}."</p>
                    <div class="mapping">
                        <p class="mapping__object">"Contacts and leads"</p>
                        {mapping(ContactField::all().into_iter().map(|f| (f.as_str(), f.label(), f.salesforce(), s.contact_fields.contains(&f))).collect(), "field_")}
                        <p class="mapping__object">"Companies \u{2192} accounts"</p>
                        {mapping(CompanyField::all().into_iter().map(|f| (f.as_str(), f.label(), f.salesforce(), s.company_fields.contains(&f))).collect(), "company_field_")}
                    </div>
                </fieldset>
                <fieldset class="settings-group">
                    <legend>"Inbound write mode"</legend>
                    <label class="setting setting--inline">
                        <input type="radio" name="write_mode" value="upsert" checked=!s.update_only/>
                        <span>"Create and update"</span>
                    </label>
                    <label class="setting setting--inline">
                        <input type="radio" name="write_mode" value="update_only" checked=s.update_only/>
                        <span>"Update only"</span>
                    </label>
                    <p class="setting__help">"Update only: a Salesforce record with no matching Conversion record is skipped with \u{201c}Write mode mismatch\u{201d}."</p>
                </fieldset>
                <fieldset class="settings-group">
                    <legend>"Sync rules"</legend>
                    <label class="field">
                        <span class="field__label">"Do not sync contacts at these email domains"</span>
                        <input class="input" type="text" name="excluded_domains" placeholder="example.com, test.org"
                            value=s.excluded_domains.join(", ") data-testid="excluded-domains"/>
                    </label>
                    <p class="setting__help">"Matching Salesforce records are skipped with \u{201c}Do not sync\u{201d}, as are records flagged do-not-sync in Salesforce."</p>
                </fieldset>
    };
    view! {
        <section class="card" aria-labelledby="settings-title" data-testid="sync-settings">
            <header class="card__header">
                <div>
                    <h2 id="settings-title" class="card__title">"Sync settings"</h2>
                    <p class="card__subtitle">"Read by the sync at every run; a change applies from the next one."</p>
                </div>
            </header>
            {if can_change {
                Either::Left(view! { <SettingsForm>{fields}</SettingsForm> })
            } else {
                // A member reads the settings as they are; the controls do nothing for them.
                Either::Right(view! {
                    <div class="settings-form settings-form--readonly">
                        <fieldset class="settings-readonly" disabled>{fields}</fieldset>
                        <p class="admins-only" data-testid="admins-only">"Only workspace admins can change the sync settings."</p>
                    </div>
                })
            }}
        </section>
    }
}

/// Saves the fields it is given (server HTML, not part of the Wasm) through a server function and
/// shows the answer without a reload. An edit since the last answer shows "Unsaved changes" in the
/// save bar, which stays in view (sticky) while the long form scrolls.
#[island]
fn SettingsForm(children: Children) -> impl IntoView {
    let save = ServerAction::<SaveSyncSettings>::new();
    let dirty = RwSignal::new(false);
    // Any answer settles the edits: saved, or refused with its message in place of the hint.
    Effect::new(move |_| {
        if save.value().with(Option::is_some) {
            dirty.set(false);
        }
    });
    let result = move || {
        if dirty.get() {
            return Some(EitherOf4::D(
                view! { <p class="form-status form-status--dirty" data-testid="unsaved">"Unsaved changes"</p> },
            ));
        }
        save.value().get().map(|r| match r {
            Ok(Ok(_)) => EitherOf4::A(view! { <p class="form-status form-status--ok" role="status">"Saved. The next run uses these settings."</p> }),
            Ok(Err(refused)) => EitherOf4::B(view! { <p class="form-status form-status--error" role="alert">{refused}</p> }),
            Err(_) => EitherOf4::C(view! { <p class="form-status form-status--error" role="alert">"The settings could not be saved. Try again in a moment."</p> }),
        })
    };
    view! {
        <ActionForm action=save attr:class="settings-form" on:input=move |_| dirty.set(true)>
            {children()}
            <div class="actions settings-form__bar">
                <button class="btn btn--primary" type="submit">"Save settings"</button>
                {result}
            </div>
        </ActionForm>
    }
}
