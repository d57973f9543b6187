//! Users & permissions: who is in the workspace and with which role; admins invite people (a
//! link to copy, single use, expiring) and remove members.

use crate::api::members::get_members;
use crate::components::layout::{Section, SectionHeading, SettingsFrame};
use crate::components::time::LocalTimeIsland;
use crate::domain::access::{InvitationView, Member, Role, INVITATION_DAYS};
use crate::domain::href::at;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_members());
    view! {
        <Title text="Users & permissions"/>
        <SettingsFrame section=Section::Users>
            <SectionHeading
                title="Users & permissions"
                href=at("/settings/users")
                subtitle="Admins connect Salesforce, change the sync settings and manage people. Members see everything: the Overview, the activity, runs and records."
            />
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(d) => {
                            let invite = d.can_change.then(|| view! { <InviteCard invitations=d.invitations.clone().unwrap_or_default()/> });
                            view! {
                                <MembersCard members=d.members can_change=d.can_change me=d.me/>
                                {invite}
                            }.into_any()
                        }
                        Err(_) => view! { <p class="card" role="alert">"The members could not be loaded. Try again in a moment."</p> }.into_any(),
                    }
                })}
            </Suspense>
        </SettingsFrame>
    }
}

#[component]
fn MembersCard(members: Vec<Member>, can_change: bool, me: i64) -> impl IntoView {
    let count = members.len();
    view! {
        <section class="card" aria-labelledby="members-title" data-testid="members">
            <header class="card__header">
                <div>
                    <h2 id="members-title" class="card__title">"Members"</h2>
                    <p class="card__subtitle">{format!("{count} {} in this workspace.", if count == 1 { "person" } else { "people" })}</p>
                </div>
            </header>
            <ul class="people">
                {members.into_iter().map(|m| {
                    let remove = (can_change && m.user_id != me).then(|| view! {
                        <form method="post" action=at(&format!("/settings/users/members/{}/remove", m.user_id))>
                            <button class="btn btn--ghost btn--sm" type="submit" aria-label=format!("Remove {}", m.email)>"Remove"</button>
                        </form>
                    });
                    let badge = if m.role == Role::Admin { "badge badge--info" } else { "badge badge--neutral" };
                    view! {
                        <li class="people__person" data-email=m.email.clone()>
                            <div class="people__who">
                                <strong>{m.name.clone()}</strong>
                                <span class="small muted">{m.email.clone()}</span>
                            </div>
                            <span class=badge>{m.role.label()}</span>
                            <span class="small muted people__since">"Since "<LocalTimeIsland ms=m.since/></span>
                            {remove}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!can_change).then(|| view! { <p class="admins-only">"Only workspace admins can invite or remove people."</p> })}
        </section>
    }
}

#[component]
fn InviteCard(invitations: Vec<InvitationView>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="invite-title" data-testid="invitations">
            <header class="card__header">
                <div>
                    <h2 id="invite-title" class="card__title">"Invite someone"</h2>
                    <p class="card__subtitle">{format!("You get a link to send them. It works once, for {INVITATION_DAYS} days, and creates their account or adds the one they have.")}</p>
                </div>
            </header>
            <form class="tokens__new" method="post" action=at("/settings/users/invitations")>
                <label class="field">
                    <span class="field__label">"Their email"</span>
                    <input class="input" type="email" name="email" required placeholder="jane@acme.com"/>
                </label>
                <label class="field">
                    <span class="field__label">"Role"</span>
                    <select class="input input--narrow" name="role">
                        <option value="member" selected>"Member"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </label>
                <button class="btn btn--secondary" type="submit">"Create invitation"</button>
            </form>
            {(!invitations.is_empty()).then(|| view! { <h3 class="section-title">"Waiting to be used"</h3> })}
            <ul class="people">
                {invitations.into_iter().map(|i| {
                    let by = i.invited_by.clone().map(|e| format!(" by {e}")).unwrap_or_default();
                    view! {
                        <li class="people__person" data-invitation=i.email.clone()>
                            <div class="people__who">
                                <strong>{i.email.clone()}</strong>
                                <span class="small muted">"Invited "<LocalTimeIsland ms=i.created_at/>{by}" \u{b7} expires "<LocalTimeIsland ms=i.expires_at/></span>
                            </div>
                            <span class="badge badge--neutral">{i.role.label()}</span>
                            <span></span>
                            <form method="post" action=at(&format!("/settings/users/invitations/{}/revoke", i.id))>
                                <button class="btn btn--ghost btn--sm" type="submit" aria-label=format!("Withdraw the invitation of {}", i.email)>"Withdraw"</button>
                            </form>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
