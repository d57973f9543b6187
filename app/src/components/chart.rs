//! Records synced per hour, drawn as inline SVG by our own code (no chart library). The chart
//! reads without colour: synced is solid, skipped dotted, failed hatched and marked with a
//! triangle, and a white gap separates the parts of a bar. A hidden table gives screen readers
//! the same numbers, failed runs included.

use crate::domain::format_count;
use crate::domain::health::HourBucket;
use leptos::prelude::*;

const W: f64 = 720.0;
const H: f64 = 150.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 20.0;
const LEFT: f64 = 44.0;

/// A round axis maximum at or above `v`: 1, 2 or 5 times a power of ten.
pub fn nice_max(v: i64) -> i64 {
    if v <= 0 {
        return 10;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step * m >= v {
                return step * m;
            }
        }
        step *= 10;
    }
}

#[component]
pub fn HourlyChart(hours: Vec<HourBucket>) -> impl IntoView {
    let n = hours.len().max(1) as f64;
    let max = nice_max(hours.iter().map(|h| h.synced + h.skipped + h.failed).max().unwrap_or(0));
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / n;
    let bar_w = (slot * 0.7).max(2.0);
    let y = move |v: i64| TOP + plot_h - (v as f64 / max as f64) * plot_h;
    let bars = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let x = LEFT + i as f64 * slot + (slot - bar_w) / 2.0;
            let ago = hours.len() - 1 - i;
            let label = format!(
                "{}: {} synced, {} skipped, {} failed{}",
                if ago == 0 { "This hour".to_string() } else { format!("{ago} h ago") },
                format_count(h.synced),
                format_count(h.skipped),
                format_count(h.failed),
                if h.failed_runs > 0 { format!(", {} failed run(s)", h.failed_runs) } else { String::new() }
            );
            let (s_top, k_top, f_top) = (y(h.synced), y(h.synced + h.skipped), y(h.synced + h.skipped + h.failed));
            let marked = h.failed > 0 || h.failed_runs > 0;
            view! {
                <g class="chart__bar" data-hour=h.hour_ms>
                    <title>{label}</title>
                    <rect class="chart__synced" x=x y=s_top width=bar_w height=(TOP + plot_h - s_top).max(0.0)/>
                    <rect class="chart__skipped" x=x y=k_top width=bar_w height=(s_top - k_top).max(0.0) fill="url(#dots)"/>
                    <rect class="chart__failed" x=x y=f_top width=bar_w height=(k_top - f_top).max(0.0) fill="url(#hatch)"/>
                    {marked.then(|| {
                        let cx = x + bar_w / 2.0;
                        let ty = (f_top - 3.0).max(8.0);
                        view! { <path class="chart__marker" d=format!("M{:.1} {:.1} l-4 -7 h8 z", cx, ty)/> }
                    })}
                </g>
            }
        })
        .collect_view();
    let rows = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let ago = hours.len() - 1 - i;
            view! {
                <tr>
                    <th scope="row">{if ago == 0 { "This hour".to_string() } else { format!("{ago} h ago") }}</th>
                    <td>{format_count(h.synced)}</td>
                    <td>{format_count(h.skipped)}</td>
                    <td>{format_count(h.failed)}</td>
                    <td>{format_count(h.failed_runs)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="hourly-chart">
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label="Records synced per hour over the last 24 hours">
                <defs>
                    <pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect class="chart__hatch-bg" width="4" height="4"/>
                        <line class="chart__hatch" x1="0" y1="0" x2="0" y2="4"/>
                    </pattern>
                    <pattern id="dots" width="4" height="4" patternUnits="userSpaceOnUse">
                        <rect class="chart__dots-bg" width="4" height="4"/>
                        <circle class="chart__dot" cx="2" cy="2" r="1"/>
                    </pattern>
                </defs>
                <line class="chart__axis" x1=LEFT y1=TOP + plot_h x2=W y2=TOP + plot_h/>
                <line class="chart__grid" x1=LEFT y1=TOP x2=W y2=TOP/>
                <text class="chart__tick" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{format_count(max)}</text>
                <text class="chart__tick" x=LEFT - 6.0 y=TOP + plot_h + 4.0 text-anchor="end">"0"</text>
                <text class="chart__tick" x=LEFT y=H - 4.0>"24 h ago"</text>
                <text class="chart__tick" x=LEFT + (W - LEFT) / 2.0 y=H - 4.0 text-anchor="middle">"12 h ago"</text>
                <text class="chart__tick" x=W y=H - 4.0 text-anchor="end">"Now"</text>
                {bars}
            </svg>
            <figcaption class="chart__legend">
                <span><i class="swatch swatch--synced"></i>"Synced"</span>
                <span><i class="swatch swatch--skipped"></i>"Skipped (dotted)"</span>
                <span><i class="swatch swatch--failed"></i>"Failed (hatched; ▼ marks an hour with failures)"</span>
            </figcaption>
            <table class="visually-hidden">
                <caption>"Records per hour, last 24 hours"</caption>
                <thead><tr><th scope="col">"Hour"</th><th scope="col">"Synced"</th><th scope="col">"Skipped"</th><th scope="col">"Failed"</th><th scope="col">"Failed runs"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::nice_max;

    #[test]
    fn axis_maximum_is_round_and_covers_the_data() {
        assert_eq!(nice_max(0), 10);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(101), 200);
        assert_eq!(nice_max(4_999), 5_000);
        assert_eq!(nice_max(5_001), 10_000);
    }
}
