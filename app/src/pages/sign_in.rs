//! The sign-in page: email and password, posted to the server's `POST /sign-in`, which lands on
//! the page that was asked for (`next`). A plain form: it works before (and without) the Wasm.

use crate::components::layout::HydrationMarker;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// What the server's answer to a refused sign-in means, in words.
fn refusal(code: &str) -> &'static str {
    match code {
        "missing" => "Enter your email and your password.",
        "not_member" => {
            "This account is not a member of this workspace. Ask one of its admins to invite you."
        }
        "throttled" => "Too many failed sign-ins for this email. Wait 15 minutes, then try again.",
        _ => "That email and password do not match an account. Check them and try again.",
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let (next, error, signed_out) =
        query.with_untracked(|q| (q.get("next"), q.get("error"), q.get("signed_out").is_some()));
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        // Never kept by a cache: after sign-out, Back must not show a page from before.
        resp.insert_header(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    let notice = match (&error, signed_out) {
        (Some(code), _) => Some(view! {
            <p class="notice notice--error" role="alert" data-testid="sign-in-error">{refusal(code)}</p>
        }.into_any()),
        (None, true) => Some(view! {
            <p class="notice notice--info" role="status">"You are signed out."</p>
        }.into_any()),
        (None, false) => None,
    };
    let asked_for = next.as_ref().map(|_| {
        view! {
            <p class="signin__hint">"Sign in to open the page you were sent."</p>
        }
    });
    view! {
        <Title text="Sign in"/>
        <main class="signin">
            <div class="signin__card">
                <p class="signin__brand">
                    <span class="topbar__logo" aria-hidden="true">"C"</span>
                    "Conversion"
                </p>
                <h1 class="signin__title">"Sign in"</h1>
                {asked_for}
                {notice}
                <form class="signin__form" method="post" action="/sign-in">
                    <label class="field">
                        <span class="field__label">"Email"</span>
                        <input class="input" type="email" name="email" autocomplete="username" required autofocus/>
                    </label>
                    <label class="field">
                        <span class="field__label">"Password"</span>
                        <input class="input" type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    {next.map(|n| view! { <input type="hidden" name="next" value=n/> })}
                    <button class="btn btn--primary signin__submit" type="submit">"Sign in"</button>
                </form>
                <p class="signin__footnote">"No account yet? Ask an admin of your workspace to invite you."</p>
            </div>
        </main>
        <HydrationMarker/>
    }
}
