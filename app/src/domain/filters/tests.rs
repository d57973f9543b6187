//! The run list's and a run's query parameters, read as a person typed them.

use super::*;

/// 2026-12-01T00:00:00Z: "next year" is 2027.
const NOW: i64 = 1_796_083_200_000;

fn q(pairs: &[(&str, &str)]) -> RunsQuery {
    let mut q = RunsQuery::default();
    for (k, v) in pairs {
        let v = Some(v.to_string());
        match *k {
            "direction" => q.direction = v,
            "object" => q.object = v,
            "from" => q.from = v,
            "to" => q.to = v,
            "tz" => q.tz = v,
            "status" => q.status = v,
            "message" => q.message = v,
            "before" => q.before = v,
            "after" => q.after = v,
            _ => unreachable!(),
        }
    }
    q
}

#[test]
fn good_values_are_understood_without_notes() {
    let (f, notes) = q(&[
        ("direction", "inbound"),
        ("object", "company"),
        ("from", "2026-11-01"),
        ("to", "2026-11-01"),
        ("tz", "+05:30"),
    ])
    .parse(NOW);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(f.direction, Some(Direction::Inbound));
    assert_eq!(f.object_type, Some(ObjectType::Company));
    let start =
        DateTime::parse_from_rfc3339("2026-11-01T00:00:00+05:30").unwrap().timestamp_millis();
    assert_eq!(f.from_ms, Some(start));
    assert_eq!(f.to_ms, Some(start + 86_400_000));
}

#[test]
fn bad_values_are_dropped_with_a_note_each() {
    let (f, notes) = q(&[
        ("direction", "sideways"),
        ("object", "unicorns"),
        ("from", "yesterday"),
        ("to", "2026-13-45"),
        ("tz", "Mars"),
        ("status", "exploded"),
        ("message", "no_such_message"),
        ("before", "123"),
    ])
    .parse(NOW);
    assert_eq!(f, RunFilters::default());
    assert_eq!(notes.len(), 8, "{notes:?}");
    let (f, notes) = q(&[("after", "not-a-run")]).parse(NOW);
    assert_eq!((f, notes.len()), (RunFilters::default(), 1));
}

#[test]
fn status_and_message_name_the_catalog() {
    let (f, notes) = q(&[("status", "failed"), ("message", "invalid_email")]).parse(NOW);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(f.status, Some(RunStatus::Failed));
    assert_eq!(f.message, Some(Message::Record(crate::domain::RecordMessage::InvalidEmail)));
    let (f, _) = q(&[("status", "all"), ("message", "api_limit_exceeded")]).parse(NOW);
    assert_eq!(f.status, None);
    assert_eq!(f.message, Some(Message::Run(crate::domain::RunMessage::ApiLimitExceeded)));
}

#[test]
fn a_named_zone_reads_each_date_in_the_offset_it_had() {
    // Berlin moved from +01:00 to +02:00 on 2026-03-29: a range across it is read right at both ends.
    let (f, notes) =
        q(&[("from", "2026-03-28"), ("to", "2026-03-29"), ("tz", "Europe/Berlin")]).parse(NOW);
    assert!(notes.is_empty(), "{notes:?}");
    let ms = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
    assert_eq!(f.from_ms, Some(ms("2026-03-28T00:00:00+01:00")));
    assert_eq!(f.to_ms, Some(ms("2026-03-30T00:00:00+02:00")));
    // The offsets of links made before zone names still work; an unknown name is a note.
    let (f, _) = q(&[("from", "2026-07-01"), ("tz", "+02:00")]).parse(NOW);
    assert_eq!(f.from_ms, Some(ms("2026-07-01T00:00:00+02:00")));
    let (f, notes) = q(&[("from", "2026-07-01"), ("tz", "Mars/Olympus_Mons")]).parse(NOW);
    assert_eq!((f.from_ms, notes.len()), (Some(ms("2026-07-01T00:00:00Z")), 1));
}

#[test]
fn a_year_before_2000_or_after_next_year_is_ignored_with_a_note() {
    // "0002-11-27" is what a date input holds while its year is half typed.
    for (from, to) in [
        ("0002-11-27", "1999-12-31"),
        ("0202-11-27", "2028-01-01"),
        ("1999-12-31T23:00:00Z", "2028-01-01T00:00:00+01:00"),
    ] {
        let (f, notes) = q(&[("from", from), ("to", to)]).parse(NOW);
        assert_eq!((f.from_ms, f.to_ms), (None, None), "{from} {to}");
        assert_eq!(
            notes,
            [
                format!("Ignored start date \u{201c}{from}\u{201d}: use a date from 2000 to 2027."),
                format!("Ignored end date \u{201c}{to}\u{201d}: use a date from 2000 to 2027."),
            ]
        );
    }
    // The ends of the range are read; the year is the instant's own, in its own offset.
    let (f, notes) = q(&[("from", "2000-01-01"), ("to", "2027-12-31T23:59:59-10:00")]).parse(NOW);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(f.from_ms.is_some() && f.to_ms.is_some());
    assert_eq!(latest_year(NOW), 2027);
    assert_eq!(filter_date("2027-12-31", 2027), NaiveDate::from_ymd_opt(2027, 12, 31));
    assert_eq!(filter_date("0002-11-27", 2027), None);
    assert_eq!(filter_date("2028-01-01", 2027), None);
}

#[test]
fn inverted_range_drops_the_end() {
    let (f, notes) = q(&[("from", "2026-11-05"), ("to", "2026-11-01")]).parse(NOW);
    assert!(f.from_ms.is_some() && f.to_ms.is_none());
    assert_eq!(notes.len(), 1);
}

#[test]
fn offsets_round_trip() {
    for m in [-720, -300, 0, 330, 345, 840] {
        assert_eq!(parse_offset(&format_offset(m)).unwrap().local_minus_utc(), m * 60);
    }
    assert!(parse_offset("+25:00").is_none());
}

#[test]
fn record_query_parses_status_and_cursor() {
    let (f, notes) =
        RecordsQuery { status: Some("failed".into()), after: Some("40".into()), before: None }
            .parse();
    assert!(notes.is_empty());
    assert_eq!(f.status, Some(RecordStatus::Failed));
    assert_eq!(f.after, Some(40));
    let (f, notes) = RecordsQuery {
        status: Some("weird".into()),
        after: Some("-3".into()),
        before: Some("x".into()),
    }
    .parse();
    assert_eq!(f, RecordFilter::default());
    assert_eq!(notes.len(), 3);
}
