//! Live pages: a small polling loop that runs only in the browser, only while its page has
//! something to watch, and only while the tab is visible.

use leptos::prelude::*;
use std::future::Future;

/// How often a live page asks the server what changed.
pub const POLL_MS: u32 = 2_000;
/// How often the first page of the list looks for new runs while nothing shown is in progress.
pub const IDLE_POLL_MS: u32 = 10_000;

/// Calls `tick` about every `period_ms` while `active` is true. Pauses while the tab is hidden and
/// stops for good when the calling component goes away. Does nothing on the server.
pub fn use_interval_while<F, Fut>(active: Memo<bool>, period_ms: u32, tick: F)
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    #[cfg(feature = "hydrate")]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        Effect::new(move |_| {
            if !active.get() {
                return;
            }
            let alive = Arc::new(AtomicBool::new(true));
            let on_stop = alive.clone();
            on_cleanup(move || on_stop.store(false, Ordering::Relaxed));
            let tick = tick.clone();
            leptos::task::spawn_local(async move {
                loop {
                    gloo_timers::future::TimeoutFuture::new(period_ms).await;
                    if !alive.load(Ordering::Relaxed) {
                        break;
                    }
                    if tab_hidden() {
                        continue;
                    }
                    tick().await;
                }
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (active, period_ms, tick);
    }
}

#[cfg(feature = "hydrate")]
fn tab_hidden() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Hidden
}
