//! "Next sync in 14 s", live, above the activity list; "Sync now" for admins; and, while syncing
//! is paused, why and where to fix it.

use crate::api::schedule::{get_schedule, ScheduleView};
use crate::components::live::use_interval_while;
use crate::components::time::client_now_ms;
use crate::domain::href::at;
use leptos::either::EitherOf3;
use leptos::prelude::*;

/// How often the schedule is asked again (a sync that ends moves the next one).
const SCHEDULE_POLL_MS: u32 = 5_000;

/// The countdown as people say it: "14 s", "4 min 10 s", "1 h 5 min".
pub fn countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// What the line says at `now` (server time).
pub fn next_sync_text(view: &ScheduleView, now: i64) -> String {
    if view.running {
        return "Syncing from Salesforce now…".to_string();
    }
    match view.next_due_at {
        None => "No object syncs from Salesforce (see Sync settings).".to_string(),
        Some(due) if due <= now => "Next sync from Salesforce any moment now.".to_string(),
        Some(due) => format!("Next sync from Salesforce in {}", countdown(due - now)),
    }
}

#[island]
pub fn NextSync(view: ScheduleView) -> impl IntoView {
    let schedule = RwSignal::new(view.clone());
    let now = RwSignal::new(view.as_of);
    let skew = StoredValue::new(0i64);
    let as_of = view.as_of;
    Effect::new(move |_| skew.set_value(as_of - client_now_ms()));
    let always = Memo::new(|_| true);
    use_interval_while(always, 1_000, move || async move {
        now.set(client_now_ms() + skew.get_value())
    });
    use_interval_while(always, SCHEDULE_POLL_MS, move || async move {
        if let Ok(fresh) = get_schedule().await {
            skew.set_value(fresh.as_of - client_now_ms());
            schedule.set(fresh);
        }
    });
    let sync_now = at("/api/sync/now");
    view! {
        <div class="next-sync" data-testid="next-sync">
            {move || match schedule.get().paused {
                Some(p) => EitherOf3::A(view! {
                    <p class="next-sync__paused" role="status" data-testid="sync-paused">
                        <span>{p.why}</span>" "
                        <a href=at(&p.fix_path)>{p.fix_label}</a>
                    </p>
                }),
                None if schedule.with(|s| s.running) => EitherOf3::B(view! {
                    <p class="next-sync__text" data-state="running">{move || next_sync_text(&schedule.get(), now.get())}</p>
                }),
                None => EitherOf3::C(view! {
                    <p class="next-sync__text" data-state="waiting" data-testid="next-sync-text">
                        {move || next_sync_text(&schedule.get(), now.get())}
                    </p>
                }),
            }}
            {view.can_sync_now.then(|| view! {
                <form method="post" action=sync_now class="inline-form">
                    <button class="btn btn--secondary btn--sm" type="submit" data-testid="sync-now">"Sync now"</button>
                </form>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_reads_naturally() {
        assert_eq!(countdown(14_000), "14 s");
        assert_eq!(countdown(13_200), "14 s");
        assert_eq!(countdown(250_000), "4 min 10 s");
        assert_eq!(countdown(3_900_000), "1 h 5 min");
        let view = ScheduleView {
            next_due_at: Some(10_000),
            running: false,
            paused: None,
            can_sync_now: false,
            as_of: 0,
        };
        assert_eq!(next_sync_text(&view, 0), "Next sync from Salesforce in 10 s");
        assert_eq!(next_sync_text(&view, 10_000), "Next sync from Salesforce any moment now.");
        assert_eq!(
            next_sync_text(&ScheduleView { running: true, ..view }, 0),
            "Syncing from Salesforce now…"
        );
    }
}
