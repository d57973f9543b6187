//! How long a workspace keeps its sync history, and what a link past it says.

/// The choices a workspace has, in days.
pub const RETENTION_CHOICES: [i64; 4] = [7, 30, 90, 365];
/// What a workspace keeps until an admin chooses otherwise.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

/// One of [`RETENTION_CHOICES`], read from a form or the API; anything else is refused.
pub fn parse_days(s: &str) -> Option<i64> {
    let n: i64 = s.trim().parse().ok()?;
    RETENTION_CHOICES.contains(&n).then_some(n)
}

/// Runs that started before this instant (Unix ms) are past the history kept.
pub fn cutoff_ms(now_ms: i64, days: i64) -> i64 {
    now_ms - days * DAY_MS
}

/// What a link to a run deleted with the history says.
pub fn expired_message(days: i64) -> String {
    format!("This run is older than your {days}-day history")
}

/// "7 days", "1 year".
pub fn label(days: i64) -> String {
    match days {
        365 => "1 year".to_string(),
        d => format!("{d} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_choices_are_taken() {
        assert_eq!(parse_days(" 30 "), Some(30));
        assert_eq!(parse_days("365"), Some(365));
        assert_eq!(parse_days("31"), None);
        assert_eq!(parse_days("ninety"), None);
        assert_eq!(cutoff_ms(10 * DAY_MS, 7), 3 * DAY_MS);
        assert_eq!(expired_message(90), "This run is older than your 90-day history");
        assert_eq!(label(365), "1 year");
    }
}
