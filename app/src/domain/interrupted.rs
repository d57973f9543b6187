//! What a run left in progress by a server that stopped says about itself once the next start
//! fails it. Each batch commits as it goes (inbound: every page with its records and the cursor;
//! outbound: every Salesforce answer with its records), so what it saved before the stop stays
//! saved and counted, and only the rest is done again by the next run.

use super::{format_count, Direction};

/// The failure detail of a run that was in progress when the server stopped, having saved `saved`
/// of its records (of `expected`, when the batch's size was known).
///
/// ```
/// # use app::domain::{interrupted::interrupted_detail, Direction};
/// assert_eq!(
///     interrupted_detail(Direction::Inbound, 46_000, None),
///     "The server stopped while this batch was running, after 46,000 of its records had been saved. \
///      They stay saved; the rest are synced on the next run."
/// );
/// ```
pub fn interrupted_detail(direction: Direction, saved: i64, expected: Option<i64>) -> String {
    interrupted_on(direction, saved, expected, None)
}

/// [`interrupted_detail`], naming the server that stopped (`--instance-name`), when another took
/// its work over: with several servers, which one stopped is what an operator looks for.
///
/// ```
/// # use app::domain::{interrupted::interrupted_on, Direction};
/// assert_eq!(
///     interrupted_on(Direction::Outbound, 0, Some(3), Some("web-2")),
///     "The server web-2 stopped while this batch was running, before the result of any of its \
///      changes had been saved. They are pushed on the next run."
/// );
/// ```
pub fn interrupted_on(
    direction: Direction,
    saved: i64,
    expected: Option<i64>,
    server: Option<&str>,
) -> String {
    let head = match server {
        Some(name) => format!("The server {name} stopped while this batch was running"),
        None => "The server stopped while this batch was running".to_string(),
    };
    let saved = saved.max(0);
    let (things, again) = match direction {
        Direction::Inbound => ("records", "synced"),
        // An outbound record is saved once Salesforce's answer for it is; a change whose answer
        // never arrived stays queued, and pushing it again cannot make a second copy (upsert by
        // Conversion's id).
        Direction::Outbound => ("changes", "pushed"),
    };
    let was_saved = match direction {
        Direction::Inbound => "had been saved",
        Direction::Outbound => "had their result saved",
    };
    let stay = if saved == 1 { "It stays saved" } else { "They stay saved" };
    match expected.filter(|t| *t > 0) {
        _ if saved == 0 => match direction {
            Direction::Inbound => format!("{head}, before any of its records had been saved. They are synced on the next run."),
            Direction::Outbound => format!("{head}, before the result of any of its changes had been saved. They are pushed on the next run."),
        },
        Some(total) if saved >= total => {
            format!("{head}, after all {} of its {things} {was_saved}. Only its end was not recorded.", format_count(saved))
        }
        Some(total) => format!(
            "{head}, after {} of its {} {things} {was_saved}. {stay}; the rest are {again} on the next run.",
            format_count(saved),
            format_count(total)
        ),
        None => format!(
            "{head}, after {} of its {things} {was_saved}. {stay}; the rest are {again} on the next run.",
            format_count(saved)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_was_saved_in_every_case() {
        assert_eq!(
            interrupted_detail(Direction::Inbound, 0, Some(50_000)),
            "The server stopped while this batch was running, before any of its records had been saved. They are synced on the next run."
        );
        assert_eq!(
            interrupted_detail(Direction::Inbound, 46_000, Some(50_000)),
            "The server stopped while this batch was running, after 46,000 of its 50,000 records had been saved. \
             They stay saved; the rest are synced on the next run."
        );
        assert_eq!(
            interrupted_detail(Direction::Inbound, 1_800, Some(1_800)),
            "The server stopped while this batch was running, after all 1,800 of its records had been saved. Only its end was not recorded."
        );
        assert_eq!(
            interrupted_detail(Direction::Outbound, 0, Some(200)),
            "The server stopped while this batch was running, before the result of any of its changes had been saved. They are pushed on the next run."
        );
        assert_eq!(
            interrupted_detail(Direction::Outbound, 120, Some(200)),
            "The server stopped while this batch was running, after 120 of its 200 changes had their result saved. \
             They stay saved; the rest are pushed on the next run."
        );
        // Nothing known about the batch's size, or a count that cannot be right: still a true sentence.
        assert!(
            interrupted_detail(Direction::Inbound, -3, None).contains("before any of its records")
        );
        assert!(interrupted_detail(Direction::Inbound, 5, Some(0))
            .contains("after 5 of its records had been saved"));
        assert!(interrupted_detail(Direction::Inbound, 1, Some(3))
            .contains("after 1 of its 3 records had been saved. It stays saved;"));
    }
}
