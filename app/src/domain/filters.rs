//! Filters as they travel in URLs: lenient parsing of raw query values into typed filters.
//!
//! A link can be pasted from anywhere, so nothing here fails: a value that cannot be understood is
//! dropped and a note saying so is returned for the page (and the API) to show.

use super::{Direction, Message, ObjectType, RecordStatus, RunId, RunStatus};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};

pub use super::href::{encode_query_value, href_with};

/// The run list's query parameters exactly as they appear in the URL and the API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunsQuery {
    pub direction: Option<String>,
    pub object: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    /// Run status: in_progress, completed or failed.
    pub status: Option<String>,
    /// A message code of the catalog: runs with a record carrying it, or failed with it.
    pub message: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The run list's filters, understood.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFilters {
    pub direction: Option<Direction>,
    pub object_type: Option<ObjectType>,
    /// Inclusive lower bound of the start time, Unix ms.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound of the start time, Unix ms.
    pub to_ms: Option<i64>,
    pub status: Option<RunStatus>,
    pub message: Option<Message>,
    /// Older than this run (the next page).
    pub before: Option<RunId>,
    /// Newer than this run (the previous page).
    pub after: Option<RunId>,
}

pub(super) fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses "+05:30", "-0500", "Z" or "UTC" into an offset.
pub fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Formats an offset the way `parse_offset` reads it back ("+05:30").
pub fn format_offset(offset_minutes: i32) -> String {
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// "2026-11-30" (a year of four digits, month and day of one or two) as a calendar date. By hand
/// rather than with chrono's format parser, which would weigh on the Wasm.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    if parts.next().is_some() || !digits(y, 4..=4) || !digits(m, 1..=2) || !digits(d, 1..=2) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// The first year the date filter reads. A year typed half way into a date input ("0002",
/// "0202") falls before it, so it is never taken for the year meant.
pub const EARLIEST_YEAR: i32 = 2000;

/// The last year the date filter reads: the year after the one `now_ms` falls in (UTC).
pub fn latest_year(now_ms: i64) -> i32 {
    DateTime::from_timestamp_millis(now_ms).map_or(EARLIEST_YEAR, |t| t.year()) + 1
}

/// A date the filter applies: a calendar date ("2026-11-30") whose year lies from
/// [`EARLIEST_YEAR`] to `latest_year`.
pub fn filter_date(s: &str, latest_year: i32) -> Option<NaiveDate> {
    parse_date(s).filter(|d| (EARLIEST_YEAR..=latest_year).contains(&d.year()))
}

/// The zone dates are read in: a fixed offset ("+05:30"), or on the server a zone by its IANA
/// name ("Europe/Berlin"), whose offset is the one each date had (a range across a
/// daylight-saving change is read right at both ends).
#[derive(Clone, Copy, Debug)]
pub enum Zone {
    Fixed(FixedOffset),
    #[cfg(feature = "ssr")]
    Named(chrono_tz::Tz),
}

impl Zone {
    fn utc() -> Self {
        Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// An offset, or (on the server) an IANA zone name.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(offset) = parse_offset(s) {
            return Some(Zone::Fixed(offset));
        }
        #[cfg(feature = "ssr")]
        if let Ok(tz) = s.trim().parse::<chrono_tz::Tz>() {
            return Some(Zone::Named(tz));
        }
        None
    }

    /// The instant a local time names, Unix ms. A time that a clock change skipped (a gap) is
    /// read an hour later, the first instant after the gap that the wall clock shows.
    fn local_ms(&self, t: chrono::NaiveDateTime) -> Option<i64> {
        match self {
            Zone::Fixed(o) => o.from_local_datetime(&t).single().map(|d| d.timestamp_millis()),
            #[cfg(feature = "ssr")]
            Zone::Named(tz) => tz
                .from_local_datetime(&t)
                .earliest()
                .or_else(|| tz.from_local_datetime(&(t + Duration::hours(1))).earliest())
                .map(|d| d.timestamp_millis()),
        }
    }
}

/// What a `from` or `to` value says.
enum Bound {
    /// Unix ms.
    At(i64),
    /// A date or instant whose year the filter does not read.
    YearOutOfRange,
    Unreadable,
}

/// A date ("2026-11-30", the whole day in `tz`) or an instant (RFC 3339), in a year from
/// [`EARLIEST_YEAR`] to `latest_year`. `end` picks the end of a date instead of its start.
fn parse_bound(s: &str, tz: Zone, end: bool, latest_year: i32) -> Bound {
    let years = EARLIEST_YEAR..=latest_year;
    if let Some(date) = parse_date(s) {
        if !years.contains(&date.year()) {
            return Bound::YearOutOfRange;
        }
        let day = if end { date.checked_add_signed(Duration::days(1)) } else { Some(date) };
        return match day.and_then(|d| tz.local_ms(d.and_hms_opt(0, 0, 0)?)) {
            Some(ms) => Bound::At(ms),
            None => Bound::Unreadable,
        };
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(d) if !years.contains(&d.year()) => Bound::YearOutOfRange,
        Ok(d) => Bound::At(d.timestamp_millis()),
        Err(_) => Bound::Unreadable,
    }
}

impl RunsQuery {
    /// Understands what it can, and says what it ignored. `now_ms` places "next year", the
    /// last year a date may name.
    pub fn parse(&self, now_ms: i64) -> (RunFilters, Vec<String>) {
        let mut notes = Vec::new();
        let mut f = RunFilters::default();
        if let Some(d) = present(&self.direction) {
            match d {
                "all" => {}
                _ => match Direction::parse(d) {
                    Some(d) => f.direction = Some(d),
                    None => notes.push(format!(
                        "Ignored direction \u{201c}{d}\u{201d}: use all, inbound or outbound."
                    )),
                },
            }
        }
        if let Some(o) = present(&self.object) {
            match o {
                "all" => {}
                _ => match ObjectType::parse(o) {
                    Some(o) => f.object_type = Some(o),
                    None => notes.push(format!(
                        "Ignored object type \u{201c}{o}\u{201d}: it is not one Conversion syncs."
                    )),
                },
            }
        }
        if let Some(st) = present(&self.status) {
            match st {
                "all" => {}
                _ => match RunStatus::parse(st) {
                    Some(st) => f.status = Some(st),
                    None => notes.push(format!(
                        "Ignored status \u{201c}{st}\u{201d}: use in_progress, completed or failed."
                    )),
                },
            }
        }
        if let Some(m) = present(&self.message) {
            match Message::from_code(m) {
                Some(m) => f.message = Some(m),
                None => notes.push(format!(
                    "Ignored message \u{201c}{m}\u{201d}: it is not one of the help article\u{2019}s messages."
                )),
            }
        }
        let tz = match present(&self.tz) {
            None => Zone::utc(),
            Some(t) => Zone::parse(t).unwrap_or_else(|| {
                notes
                    .push(format!("Ignored time zone \u{201c}{t}\u{201d}: dates are read as UTC."));
                Zone::utc()
            }),
        };
        let latest = latest_year(now_ms);
        for (value, slot, end, name) in
            [(&self.from, &mut f.from_ms, false, "start"), (&self.to, &mut f.to_ms, true, "end")]
        {
            let Some(s) = present(value) else { continue };
            match parse_bound(s, tz, end, latest) {
                Bound::At(ms) => *slot = Some(ms),
                Bound::YearOutOfRange => notes.push(format!(
                    "Ignored {name} date \u{201c}{s}\u{201d}: use a date from {EARLIEST_YEAR} to {latest}."
                )),
                Bound::Unreadable => notes.push(format!(
                    "Ignored {name} date \u{201c}{s}\u{201d}: use a date like 2026-11-30."
                )),
            }
        }
        if let (Some(from), Some(to)) = (f.from_ms, f.to_ms) {
            if from >= to {
                notes.push("Ignored the end date: it is before the start date.".to_string());
                f.to_ms = None;
            }
        }
        for (value, slot, name) in
            [(&self.before, &mut f.before, "before"), (&self.after, &mut f.after, "after")]
        {
            if let Some(s) = present(value) {
                match RunId::parse(s) {
                    Some(id) => *slot = Some(id),
                    None => notes.push(format!(
                        "Ignored page position \u{201c}{name}={s}\u{201d}: showing the newest runs."
                    )),
                }
            }
        }
        if f.before.is_some() && f.after.is_some() {
            notes.push(
                "Ignored \u{201c}after\u{201d}: a page is either before or after a run.".into(),
            );
            f.after = None;
        }
        (f, notes)
    }
}

/// The run page's query parameters as they appear in the URL and the API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsQuery {
    pub status: Option<String>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// The run page's record filter, understood.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFilter {
    pub status: Option<RecordStatus>,
    /// Records after this position (the next page).
    pub after: Option<i64>,
    /// Records before this position (the previous page).
    pub before: Option<i64>,
}

impl RecordsQuery {
    pub fn parse(&self) -> (RecordFilter, Vec<String>) {
        let mut notes = Vec::new();
        let mut f = RecordFilter::default();
        if let Some(s) = present(&self.status) {
            match s {
                "all" => {}
                _ => match RecordStatus::parse(s) {
                    Some(st) => f.status = Some(st),
                    None => notes.push(format!(
                        "Ignored status \u{201c}{s}\u{201d}: use all, success, skipped or failed."
                    )),
                },
            }
        }
        for (value, slot, name) in
            [(&self.after, &mut f.after, "after"), (&self.before, &mut f.before, "before")]
        {
            if let Some(s) = present(value) {
                match s.parse::<i64>() {
                    Ok(n) if n >= 0 => *slot = Some(n),
                    _ => notes.push(format!(
                        "Ignored page position \u{201c}{name}={s}\u{201d}: showing the first records."
                    )),
                }
            }
        }
        if f.before.is_some() && f.after.is_some() {
            notes.push(
                "Ignored \u{201c}before\u{201d}: a page is either before or after a record.".into(),
            );
            f.before = None;
        }
        (f, notes)
    }
}

#[cfg(test)]
mod tests;
