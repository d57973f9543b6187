//! Times and durations. The browser's time zone is only known in the browser, so the server (and
//! the first, hydrating render) shows UTC; once mounted, each time switches to local time. The
//! exact UTC instant stays available on hover.

use crate::domain::format_duration;
use crate::domain::href::{current_with_times, times_in_utc};
use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Timelike, Utc};
use leptos::prelude::*;

// Written out by hand rather than with chrono's format strings: these run in the browser too, and
// chrono's strftime machinery weighs more in the Wasm than all of this.
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// "2026-11-30 13:12:03.120 UTC": the exact instant, for tooltips.
pub fn exact_utc(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// The machine-readable instant for `<time datetime>`.
pub fn iso_utc(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// "Nov 30, 2026, 1:12:03 PM".
fn display<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    let (pm, hour) = t.hour12();
    let month = MONTHS[t.month0() as usize];
    format!(
        "{month} {}, {}, {hour}:{:02}:{:02} {}",
        t.day(),
        t.year(),
        t.minute(),
        t.second(),
        if pm { "PM" } else { "AM" }
    )
}

/// "Nov 30, 2026, 1:12:03 PM UTC": what the server can say without knowing the reader's zone.
pub fn display_utc(ms: i64) -> String {
    format!("{} UTC", display(&utc(ms)))
}

/// The reader's UTC offset at that instant, in minutes east of UTC (browser only).
#[cfg(feature = "hydrate")]
pub fn browser_offset_minutes(ms: i64) -> i32 {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    -(d.get_timezone_offset() as i32)
}

#[cfg(not(feature = "hydrate"))]
pub fn browser_offset_minutes(_ms: i64) -> i32 {
    0
}

/// The reader's time zone by its IANA name ("Europe/Berlin"), when the browser says it.
#[cfg(feature = "hydrate")]
pub fn browser_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &wasm_bindgen::JsValue::from_str("timeZone"))
        .ok()?
        .as_string()
        .filter(|z| !z.is_empty())
}

#[cfg(not(feature = "hydrate"))]
pub fn browser_zone() -> Option<String> {
    None
}

/// "Nov 30, 2026, 8:12:03 AM" in the given offset.
pub fn display_in_offset(ms: i64, offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"));
    display(&utc(ms).with_timezone(&offset))
}

/// The reader's clock, Unix ms (browser only; the server's clock elsewhere).
pub fn client_now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A signal that is false while the server renders and hydrates, and true once mounted.
pub fn use_mounted() -> ReadSignal<bool> {
    let (mounted, set_mounted) = signal(false);
    Effect::new(move |_| set_mounted.set(true));
    mounted
}

/// An instant shown in the reader's local time zone, or in UTC when the address asks for it
/// (`?times=utc`, [`times_in_utc`]).
#[component]
pub fn LocalTime(ms: i64) -> impl IntoView {
    let mounted = use_mounted();
    let utc = times_in_utc();
    view! {
        <time class="local-time" datetime=iso_utc(ms) title=exact_utc(ms) data-ms=ms>
            {move || {
                if mounted.get() && !utc {
                    display_in_offset(ms, browser_offset_minutes(ms))
                } else {
                    display_utc(ms)
                }
            }}
        </time>
    }
}

/// The zone the page's times are in, named ("Times in Europe/Berlin"), and the switch to the
/// other: UTC, kept in the address as `times=utc` so a pasted link shows the same times, or back
/// to the reader's zone. Before the browser has said its zone, "your time zone".
#[island]
pub fn TimesIn() -> impl IntoView {
    let mounted = use_mounted();
    let utc = times_in_utc();
    let zone = move || {
        if utc {
            "UTC".to_string()
        } else if mounted.get() {
            browser_zone().unwrap_or_else(|| {
                let offset = browser_offset_minutes(client_now_ms());
                format!("UTC{}", crate::domain::filters::format_offset(offset))
            })
        } else {
            "your time zone".to_string()
        }
    };
    let (switch, label) = if utc {
        (current_with_times(false), "Show in local time")
    } else {
        (current_with_times(true), "Show in UTC")
    };
    view! {
        <p class="times-in" data-times=if utc { "utc" } else { "local" }>
            "Times in "<strong class="times-in__zone">{zone}</strong>
            <span aria-hidden="true">" · "</span>
            <a class="times-in__switch" href=switch>{label}</a>
        </p>
    }
}

/// [`LocalTime`] inside a view that stays server HTML: an island of its own, so the browser can
/// show the instant in the reader's zone.
#[island]
pub fn LocalTimeIsland(ms: i64) -> impl IntoView {
    view! { <LocalTime ms/> }
}

/// Start to finish, ticking against `now` while unfinished.
#[component]
pub fn RunDuration(
    #[prop(into)] started_at: Signal<i64>,
    #[prop(into)] finished_at: Signal<Option<i64>>,
    #[prop(into)] now: Signal<i64>,
) -> impl IntoView {
    view! {
        <span class="duration num">
            {move || {
                let end = finished_at.get().unwrap_or_else(|| now.get());
                format_duration(end - started_at.get())
            }}
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_offsets() {
        let ms = DateTime::parse_from_rfc3339("2026-11-30T13:12:03Z").unwrap().timestamp_millis();
        assert_eq!(display_utc(ms), "Nov 30, 2026, 1:12:03 PM UTC");
        assert_eq!(display_in_offset(ms, -300), "Nov 30, 2026, 8:12:03 AM");
        assert_eq!(display_in_offset(ms, 330), "Nov 30, 2026, 6:42:03 PM");
        assert_eq!(exact_utc(ms), "2026-11-30 13:12:03.000 UTC");
        assert_eq!(iso_utc(ms + 120), "2026-11-30T13:12:03.120Z");
        assert_eq!(display_utc(ms - 13 * 3_600_000), "Nov 30, 2026, 12:12:03 AM UTC");
        assert_eq!(display_utc(ms - 1_000 * 3_600_000), "Oct 19, 2026, 9:12:03 PM UTC");
    }
}
