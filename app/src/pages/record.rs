//! One record's story: who it is, how Conversion holds it now, and every run that touched it,
//! newest first, in both directions. Reached from the search of the Sync activity view and from a
//! run's record rows; its address can be pasted like any other.

use crate::api::record::{get_record, ConversionRecord, RecordDetail, RecordQuery};
use crate::components::badges::RecordStatusBadge;
use crate::components::detail::{ActivityDetail, LoadFailed, NotThere};
use crate::components::time::LocalTimeIsland;
use crate::domain::filters::href_with;
use crate::domain::href::{at, run_path};
use crate::domain::records::{decode_segment, RecordTouch};
use crate::domain::Direction;
use crate::pages::sync_activity::Notes;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn RecordPage() -> impl IntoView {
    let params = use_params_map();
    let query_map = use_query_map();
    let query = Memo::new(move |_| RecordQuery {
        key: params.with(|p| decode_segment(&p.get("key").unwrap_or_default())),
        before: query_map.with(|q| q.get("before")),
    });
    let detail = Resource::new(move || query.get(), get_record);
    view! {
        <ActivityDetail>
            <Transition fallback=|| view! { <p class="loading">"Loading record…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(Some(d)) => EitherOf3::A(view! {
                            <Title text=d.record.label.clone().unwrap_or_else(|| "Record".into())/>
                            <RecordView detail=d/>
                        }),
                        Ok(None) => EitherOf3::B(view! {
                            <NotThere title="Record not found".to_string() testid="record-not-found">
                                <p>"No sync run of this workspace touched a record with this ID. Search by email, name or ID from Sync activity."</p>
                            </NotThere>
                        }),
                        Err(_) => EitherOf3::C(view! { <LoadFailed what="record"/> }),
                    }
                })}
            </Transition>
        </ActivityDetail>
    }
}

#[component]
fn RecordView(detail: RecordDetail) -> impl IntoView {
    let RecordDetail { record, conversion, salesforce_url, timeline, older, paged, notes, .. } =
        detail;
    let title = record.label.clone().unwrap_or_else(|| "Unnamed record".into());
    let object = record.object_type;
    let here = at(&record.key.path());
    let older_href = older.map(|c| href_with(&here, &[("before", Some(c.as_str()))]));
    let newest_href = paged.then(|| href_with(&here, &[]));
    view! {
        <Notes notes/>
        <section class="card record-summary" data-testid="record-summary" data-key=record.key.to_string()>
            <header class="card__header">
                <div>
                    <h2 class="card__title record-summary__title">{title}</h2>
                    <p class="run-summary__meta">
                        <span class="chip">{object.label()}</span>
                        <span>"Latest: "</span>
                        <RecordStatusBadge status=record.last_status/>
                        {record.last_message.map(|m| view! { <span class="muted">{m.title()}</span> })}
                    </p>
                </div>
            </header>
            <dl class="facts">
                <div>
                    <dt>"Salesforce object"</dt>
                    <dd>{object.sobject()}</dd>
                </div>
                <div>
                    <dt>"Salesforce ID"</dt>
                    <dd data-testid="record-salesforce-id">
                        {match (record.salesforce_id.clone(), salesforce_url) {
                            (Some(id), Some(url)) => Either::Left(view! {
                                <a href=url target="_blank" rel="noopener noreferrer" class="external" data-testid="salesforce-link"
                                    aria-label=format!("{id} (opens Salesforce in a new tab)")>
                                    <code>{id.clone()}</code><span aria-hidden="true">" ↗"</span>
                                </a>
                            }.into_any()),
                            (Some(id), None) => Either::Left(view! { <code>{id}</code> }.into_any()),
                            (None, _) => Either::Right(view! { <span class="muted">"Not in Salesforce yet"</span> }),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>"Conversion id"</dt>
                    <dd>
                        {match record.conversion_id.clone() {
                            Some(id) => Either::Left(view! { <code>{id}</code> }),
                            None => Either::Right(view! { <span class="muted">"—"</span> }),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>"Last synced"</dt>
                    <dd><LocalTimeIsland ms=record.last_at/></dd>
                </div>
            </dl>
        </section>
        <ConversionCard conversion/>
        <section class="card timeline" aria-labelledby="timeline-title" data-testid="timeline">
            <header class="card__header">
                <div>
                    <h2 id="timeline-title" class="card__title">"Timeline"</h2>
                    <p class="card__subtitle">"Every sync run that touched this record, newest first, in both directions."</p>
                </div>
            </header>
            {if timeline.is_empty() {
                Either::Left(view! {
                    <p class="empty-state">"No runs within the history this workspace keeps touched this record."</p>
                })
            } else {
                Either::Right(view! {
                    <div class="table-wrap" tabindex="0" role="region" aria-label="Timeline">
                        <table class="records-table timeline-table">
                            <thead>
                                <tr>
                                    <th scope="col">"When"</th>
                                    <th scope="col">"Run"</th>
                                    <th scope="col">"Action"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Message"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {timeline.into_iter().map(|t| view! { <TouchRow touch=t/> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                })
            }}
            <nav class="pager" aria-label="Timeline pages">
                {newest_href.map(|h| view! { <a class="btn" href=h data-testid="timeline-newest">"← Newest"</a> })}
                {older_href.map(|h| view! { <a class="btn" href=h data-testid="timeline-older">"Older →"</a> })}
            </nav>
        </section>
    }
}

#[component]
fn ConversionCard(conversion: Option<ConversionRecord>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="conversion-title" data-testid="record-conversion">
            <header class="card__header">
                <div>
                    <h2 id="conversion-title" class="card__title">"In Conversion now"</h2>
                </div>
            </header>
            {match conversion {
                Some(c) => Either::Left(view! {
                    <dl class="facts">
                        {c.fields.into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()}
                        <div>
                            <dt>"Changed in Conversion"</dt>
                            <dd><LocalTimeIsland ms=c.updated_at/></dd>
                        </div>
                    </dl>
                }),
                None => Either::Right(view! {
                    <p class="muted">"Conversion holds no record for it: it was skipped or failed every time, or it was deleted."</p>
                }),
            }}
        </section>
    }
}

#[component]
fn TouchRow(touch: RecordTouch) -> impl IntoView {
    let RecordTouch {
        run_id,
        seq,
        direction,
        object_type,
        trigger,
        started_at,
        action,
        status,
        message,
        detail,
        ..
    } = touch;
    // The run page opened at this record: its records after the one before it.
    let after = (seq > 0).then(|| (seq - 1).to_string());
    let run_href = href_with(&run_path(run_id), &[("after", after.as_deref())]);
    let description = match direction {
        Direction::Inbound => format!("{} from Salesforce", object_type.label()),
        Direction::Outbound => format!("{} pushed to Salesforce", object_type.label()),
    };
    view! {
        <tr class="record-row" data-run=run_id.to_string() data-direction=direction.as_str() data-status=status.as_str()>
            <td data-label="When"><LocalTimeIsland ms=started_at/></td>
            <td data-label="Run">
                <a href=run_href class="timeline__run">{description}</a>
                <div class="muted small">{direction.arrow_label()}" · "{trigger.label()}</div>
            </td>
            <td data-label="Action">{action.label()}</td>
            <td data-label="Status"><RecordStatusBadge status/></td>
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
        </tr>
    }
}
