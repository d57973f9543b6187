//! Salesforce's wire format for dateTime fields: `2013-05-20T20:49:32.000+0000`, always UTC with
//! milliseconds and a colon-less offset. SOQL literals use ISO 8601 (`2013-05-20T20:49:32Z`).
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm>

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

/// Why a string is not a Salesforce datetime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Salesforce datetime: {0:?}")]
pub struct DateTimeError(pub String);

/// Formats as `YYYY-MM-DDTHH:MM:SS.mmm+0000`. Written by hand because the local org formats
/// several of these per record on every page, and chrono's format machinery is the slow path.
pub fn format(dt: DateTime<Utc>) -> String {
    let mut buf = [0u8; 28];
    buf[..23].copy_from_slice(&to_millis_digits(dt));
    buf[23..28].copy_from_slice(b"+0000");
    // Every byte written is an ASCII digit or punctuation.
    String::from_utf8_lossy(&buf).into_owned()
}

/// Formats milliseconds since the Unix epoch as Bulk API 2.0 writes datetimes in its CSV:
/// `YYYY-MM-DDTHH:MM:SS.mmmZ`; out-of-range values format as the epoch.
pub fn format_millis_z(ms: i64) -> String {
    let mut buf = [0u8; 24];
    buf[..23].copy_from_slice(&to_millis_digits(
        DateTime::from_timestamp_millis(ms).unwrap_or_default(),
    ));
    buf[23] = b'Z';
    String::from_utf8_lossy(&buf).into_owned()
}

/// `YYYY-MM-DDTHH:MM:SS.mmm`.
fn to_millis_digits(dt: DateTime<Utc>) -> [u8; 23] {
    let mut buf = [0u8; 23];
    write_digits(&mut buf[0..4], dt.year().clamp(0, 9999) as u32);
    buf[4] = b'-';
    write_digits(&mut buf[5..7], dt.month());
    buf[7] = b'-';
    write_digits(&mut buf[8..10], dt.day());
    buf[10] = b'T';
    write_digits(&mut buf[11..13], dt.hour());
    buf[13] = b':';
    write_digits(&mut buf[14..16], dt.minute());
    buf[16] = b':';
    write_digits(&mut buf[17..19], dt.second());
    buf[19] = b'.';
    write_digits(&mut buf[20..23], dt.timestamp_subsec_millis().min(999));
    buf
}

/// Formats milliseconds since the Unix epoch; out-of-range values format as the epoch.
pub fn format_millis(ms: i64) -> String {
    format(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

fn write_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The exact wire forms `YYYY-MM-DDTHH:MM:SS.mmm+0000` (REST) and `YYYY-MM-DDTHH:MM:SS.mmmZ`
/// (Bulk API 2.0's CSV), read by hand: every record carries two of these and chrono's
/// format-string parser was a visible share of a backfill's time. Anything else (or an impossible
/// date) is left to the general parser.
fn parse_wire(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let utc = match b.len() {
        28 => &b[23..] == b"+0000",
        24 => b[23] == b'Z',
        _ => false,
    };
    if !utc
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter()
            .try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_milli_opt(num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?)?;
    Some(Utc.from_utc_datetime(&time))
}

/// Parses what Salesforce sends (`+0000` offsets, with or without milliseconds) and what SOQL
/// accepts (`Z`, `+hh:mm`). Returns UTC.
pub fn parse(s: &str) -> Result<DateTime<Utc>, DateTimeError> {
    if let Some(dt) = parse_wire(s) {
        return Ok(dt);
    }
    let err = || DateTimeError(s.to_string());
    // `%z` accepts both +0000 and +00:00; `%.f` accepts any (or no) fraction.
    if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Some(naive) = s.strip_suffix('Z') {
        let dt = chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
            .map_err(|_| err())?;
        return Ok(Utc.from_utc_datetime(&dt));
    }
    Err(err())
}

/// Parses a SOQL date literal (`2013-05-20`) as midnight UTC.
pub fn parse_date(s: &str) -> Result<DateTime<Utc>, DateTimeError> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| DateTimeError(s.to_string()))?;
    Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).ok_or_else(|| DateTimeError(s.to_string()))?))
}

/// Serde adapter for `Option<DateTime<Utc>>` fields in Salesforce's format.
pub mod serde_opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(dt) => s.serialize_str(&format(*dt)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.map(|s| parse(&s).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_documented_example() {
        let dt = Utc.with_ymd_and_hms(2013, 5, 20, 20, 49, 32).unwrap();
        assert_eq!(format(dt), "2013-05-20T20:49:32.000+0000");
        let with_ms = dt + chrono::Duration::milliseconds(7);
        assert_eq!(format(with_ms), "2013-05-20T20:49:32.007+0000");
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000+0000");
    }

    #[test]
    fn parses_wire_and_soql_forms() {
        let expected = Utc.with_ymd_and_hms(2013, 5, 20, 20, 49, 32).unwrap();
        assert_eq!(parse("2013-05-20T20:49:32.000+0000").unwrap(), expected);
        assert_eq!(parse("2013-05-20T20:49:32Z").unwrap(), expected);
        assert_eq!(parse("2013-05-20T21:49:32+01:00").unwrap(), expected);
        assert_eq!(parse("2013-05-20T13:49:32.000-0700").unwrap(), expected);
        assert_eq!(
            parse_date("2013-05-20").unwrap(),
            Utc.with_ymd_and_hms(2013, 5, 20, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn rejects_unreadable_values() {
        for bad in ["", "yesterday", "2013-13-20T20:49:32Z", "2013-05-20", "2013-05-20T20:49:32"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn wire_fast_path_agrees_with_the_general_parser() {
        for s in [
            "2013-05-20T20:49:32.000+0000",
            "1970-01-01T00:00:00.001+0000",
            "2024-02-29T23:59:59.999+0000",
            "2024-02-29T23:59:59.999Z",
        ] {
            // chrono's `%z` takes `+0000`, not `Z`: the `Z` form is read as `+00:00`.
            let offset = s.replacen('Z', "+00:00", 1);
            let general =
                DateTime::<FixedOffset>::parse_from_str(&offset, "%Y-%m-%dT%H:%M:%S%.f%z")
                    .unwrap()
                    .with_timezone(&Utc);
            assert_eq!(parse_wire(s), Some(general), "{s}");
        }
        for s in [
            "2023-02-29T00:00:00.000+0000",
            "2013-05-20T24:49:32.000+0000",
            "2013-05-20T20:49:32.000+0100",
            "2013-05-2xT20:49:32.000+0000",
            "2013-05-20T20:49:32.000X",
        ] {
            assert_eq!(parse_wire(s), None, "{s}");
        }
        assert!(parse("2023-02-29T00:00:00.000+0000").is_err());
    }

    #[test]
    fn round_trips() {
        let dt = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(parse(&format(dt)).unwrap(), dt);
        assert_eq!(format_millis_z(dt.timestamp_millis()), "1999-12-31T23:59:59.999Z");
        assert_eq!(parse(&format_millis_z(dt.timestamp_millis())).unwrap(), dt);
    }
}
