//! The settings frame: product bar, settings navigation, and the CRM & Syncing tabs.

use crate::domain::href::at;
use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CrmTab {
    Overview,
    SyncActivity,
}

/// The settings sections the navigation links to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Users,
    Crm,
}

/// The CRM & Syncing section: its title and its two tabs around a page.
#[component]
pub fn SettingsLayout(active: CrmTab, children: Children) -> impl IntoView {
    let tab = move |this: CrmTab, href: &'static str, label: &'static str| {
        let current = this == active;
        let href = at(href);
        view! {
            <a class="page-tabs__tab" class:is-active=current href=href aria-current=current.then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <SettingsFrame section=Section::Crm>
            <SectionHeading
                title="CRM & Syncing"
                href=at("/settings/crm")
                subtitle="Salesforce sync for contacts, companies, opportunities and events."
            />
            <nav class="page-tabs" aria-label="CRM & Syncing">
                {tab(CrmTab::Overview, "/settings/crm", "Overview")}
                {tab(CrmTab::SyncActivity, "/settings/crm/sync-activity", "Sync activity")}
            </nav>
            {children()}
        </SettingsFrame>
    }
}

/// A settings section's breadcrumb, title and one line on what it is for.
#[component]
pub fn SectionHeading(
    title: &'static str,
    #[prop(into)] href: String,
    subtitle: &'static str,
) -> impl IntoView {
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb">
            <span>"Settings"</span>
            <span class="breadcrumb__sep" aria-hidden="true">"/"</span>
            <a href=href>{title}</a>
        </nav>
        <h1 class="page-title">{title}</h1>
        <p class="page-subtitle">{subtitle}</p>
    }
}

/// The frame of every settings page: product bar (the workspace, who is signed in, Sign out) and
/// the settings navigation. Rendered on the server only (it is not an island), where the
/// signed-in person is known.
#[component]
pub fn SettingsFrame(section: Section, children: Children) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (viewer, mine) = (crate::api::viewer(), crate::api::workspaces());
    #[cfg(not(feature = "ssr"))]
    let (viewer, mine): (
        Option<crate::domain::access::Viewer>,
        Vec<crate::domain::access::Viewer>,
    ) = (None, Vec::new());
    let section_path = match section {
        Section::Users => "/settings/users",
        Section::Crm => "/settings/crm",
    };
    let switcher = workspace_switcher(viewer.as_ref(), mine, section_path);
    let person = viewer.map(|v| {
        let role = format!("{} \u{b7} {}", v.email, v.role.label());
        view! {
            <div class="topbar__person">
                <span class="topbar__who" data-testid="signed-in-as">
                    <span class="topbar__name">{v.name}</span>
                    <span class="topbar__role">{role}</span>
                </span>
                <form method="post" action="/sign-out">
                    <button class="btn btn--ghost btn--sm" type="submit">"Sign out"</button>
                </form>
            </div>
        }
    });
    let item = move |this: Section, href: &'static str, label: &'static str| {
        let current = this == section;
        let href = at(href);
        view! {
            <li>
                <a class="sidenav__item" class:is-active=current href=href aria-current=current.then_some("page")>{label}</a>
            </li>
        }
    };
    view! {
        <div class="app">
            <header class="topbar">
                <a class="topbar__brand" href=at("/settings/crm")>
                    <span class="topbar__logo" aria-hidden="true">"C"</span>
                    "Conversion"
                </a>
                <div class="topbar__end">
                    {switcher}
                    {person}
                </div>
            </header>
            <div class="frame">
                <nav class="sidenav" aria-label="Settings">
                    <p class="sidenav__title">"Settings"</p>
                    <ul>
                        <li><span class="sidenav__item is-disabled">"Workspace"</span></li>
                        {item(Section::Users, "/settings/users", "Users & permissions")}
                        {item(Section::Crm, "/settings/crm", "CRM & Syncing")}
                        <li><span class="sidenav__item is-disabled">"Email sending"</span></li>
                        <li><span class="sidenav__item is-disabled">"Billing"</span></li>
                    </ul>
                </nav>
                <main class="content" id="main">
                    {children()}
                </main>
            </div>
            <HydrationMarker/>
        </div>
    }
}

/// The workspace's name in the product bar; for a person in several workspaces, a menu of them
/// (each link opens the same settings section there). Plain HTML (`<details>`): it works before
/// and without the Wasm.
fn workspace_switcher(
    viewer: Option<&crate::domain::access::Viewer>,
    mine: Vec<crate::domain::access::Viewer>,
    section_path: &'static str,
) -> impl IntoView {
    let name = viewer.map(|v| v.workspace_name.clone()).unwrap_or_default();
    let current = viewer.map(|v| v.workspace.clone()).unwrap_or_default();
    if mine.len() < 2 {
        return view! { <span class="topbar__workspace" data-testid="workspace-name">{name}</span> }
            .into_any();
    }
    let items = mine
        .into_iter()
        .map(|v| {
            let here = v.workspace == current;
            let href = v.href(section_path);
            view! {
                <li>
                    <a class="switcher__item" class:is-active=here href=href
                        aria-current=here.then_some("page") data-workspace=v.workspace.clone()>
                        <span class="switcher__name">{v.workspace_name}</span>
                        <span class="switcher__role">{v.role.label()}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! {
        <details class="switcher" data-testid="workspace-switcher">
            <summary class="topbar__workspace switcher__toggle" title="Switch workspace">
                <span data-testid="workspace-name">{name}</span>
                <span class="visually-hidden">" (switch workspace)"</span>
                <span class="switcher__caret" aria-hidden="true">"▾"</span>
            </summary>
            <div class="switcher__menu">
                <p class="switcher__title">"Your workspaces"</p>
                <ul>{items}</ul>
            </div>
        </details>
    }
    .into_any()
}

/// Marks the page interactive once the islands before it have hydrated (islands hydrate in
/// document order; this one comes last). Browser tests wait for the marker before they interact.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
