//! A record's story across runs: how a record is named in links (its key), what a search finds,
//! and the entries of its timeline.

use super::salesforce_id::SalesforceId;
use super::{Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunId, Trigger};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How the product names one record across runs: by its Salesforce ID once it has one, otherwise
/// (a contact made in Conversion that has not reached Salesforce yet) by its Conversion id. In an
/// address it reads `sf:003…` or `cv:…`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordKey {
    Salesforce(String),
    Conversion(String),
}

impl RecordKey {
    /// The key a run record is filed under: its Salesforce ID when it has one.
    pub fn of(salesforce_id: Option<&str>, conversion_id: Option<&str>) -> Option<RecordKey> {
        let present =
            |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        present(salesforce_id)
            .map(RecordKey::Salesforce)
            .or_else(|| present(conversion_id).map(RecordKey::Conversion))
    }

    /// Reads a key from an address. A Salesforce ID may be pasted in its 15-character form or its
    /// 18-character form in any case: it is filed under the 18-character form.
    pub fn parse(s: &str) -> Option<RecordKey> {
        let (kind, id) = s.trim().split_once(':')?;
        let id = id.trim();
        if id.is_empty() || id.len() > 200 {
            return None;
        }
        match kind {
            "sf" => Some(RecordKey::Salesforce(
                SalesforceId::parse_any_case(id)
                    .map(|i| i.as_str().to_string())
                    .unwrap_or_else(|_| id.to_string()),
            )),
            "cv" => Some(RecordKey::Conversion(id.to_string())),
            _ => None,
        }
    }

    /// A key as the store keeps it, exactly (no change of the ID's form).
    pub fn from_stored(s: &str) -> Option<RecordKey> {
        match s.split_once(':')? {
            ("sf", id) if !id.is_empty() => Some(RecordKey::Salesforce(id.to_string())),
            ("cv", id) if !id.is_empty() => Some(RecordKey::Conversion(id.to_string())),
            _ => None,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            RecordKey::Salesforce(id) | RecordKey::Conversion(id) => id,
        }
    }

    /// The record page's address within the workspace.
    pub fn path(&self) -> String {
        let key = super::href::encode_query_value(&self.to_string()).replace("%3A", ":");
        format!("/settings/crm/sync-activity/records/{key}")
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKey::Salesforce(id) => write!(f, "sf:{id}"),
            RecordKey::Conversion(id) => write!(f, "cv:{id}"),
        }
    }
}

/// A record's label split into what the search matches: the name, and the email address when the
/// label carries one ("jane@acme.com", or "Jane Doe <jane@acme.com>"). Both lower-cased.
pub fn search_terms(label: &str) -> (String, Option<String>) {
    let label = label.trim();
    if let Some((name, email)) = label.strip_suffix('>').and_then(|l| l.rsplit_once(" <")) {
        return (name.trim().to_lowercase(), Some(email.trim().to_lowercase()));
    }
    if label.contains('@') && !label.contains(' ') {
        let email = label.to_lowercase();
        return (email.clone(), Some(email));
    }
    (label.to_lowercase(), None)
}

/// What the search box was given, understood: the IDs it can be, and the prefix names and emails
/// are matched by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSearch {
    /// The 18-character Salesforce ID the text is, if it is one.
    pub salesforce_id: Option<String>,
    /// The text as a Conversion id (matched exactly).
    pub conversion_id: String,
    /// The text lower-cased, matched as the start of a name or an email.
    pub prefix: String,
}

/// Longest search text taken (longer text cannot be any record's name, email or ID).
pub const MAX_SEARCH_LEN: usize = 200;

impl RecordSearch {
    /// `None` for text with nothing to search by (empty, or only spaces).
    pub fn parse(text: &str) -> Option<RecordSearch> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let text: String = text.chars().take(MAX_SEARCH_LEN).collect();
        Some(RecordSearch {
            // A well-formed ID, its case restored; or the text as it is when it has an ID's shape
            // but not its checksum (looked up exactly: it finds what was filed under it).
            salesforce_id: SalesforceId::parse_any_case(&text)
                .ok()
                .map(|id| id.as_str().to_string())
                .or_else(|| {
                    let shaped = matches!(text.len(), 15 | 18)
                        && text.bytes().all(|b| b.is_ascii_alphanumeric());
                    shaped.then(|| text.clone())
                }),
            conversion_id: text.clone(),
            prefix: text.to_lowercase(),
        })
    }
}

/// The exclusive upper bound of the strings that start with `prefix` (in byte order): the prefix
/// with its last character raised by one. `None` when no such bound exists.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        // Skip the surrogate range, which no `char` can hold.
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A record as the search lists it: who it is, and how its latest run left it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    pub key: RecordKey,
    pub object_type: ObjectType,
    pub label: Option<String>,
    pub salesforce_id: Option<String>,
    pub conversion_id: Option<String>,
    /// The latest run that touched it, and what that run did with it.
    pub last_run: RunId,
    pub last_seq: i64,
    pub last_status: RecordStatus,
    pub last_message: Option<RecordMessage>,
    pub last_at: i64,
}

/// One entry of a record's timeline: a run that touched it, and what it did with the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTouch {
    pub run_id: RunId,
    pub seq: i64,
    pub direction: Direction,
    pub object_type: ObjectType,
    pub trigger: Trigger,
    pub started_at: i64,
    pub action: RecordAction,
    pub status: RecordStatus,
    pub message: Option<RecordMessage>,
    pub detail: Option<String>,
    pub label: Option<String>,
    pub salesforce_id: Option<String>,
    pub conversion_id: Option<String>,
}

/// A timeline position: entries older than this one (`run id`, `seq`) come next. In an address it
/// reads `<run id>.<seq>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TouchCursor {
    pub run_id: RunId,
    pub seq: i64,
}

impl TouchCursor {
    pub fn parse(s: &str) -> Option<TouchCursor> {
        let (run, seq) = s.trim().split_once('.')?;
        Some(TouchCursor {
            run_id: RunId::parse(run)?,
            seq: seq.parse().ok().filter(|n: &i64| *n >= 0)?,
        })
    }
}

impl fmt::Display for TouchCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.run_id, self.seq)
    }
}

/// The record in Salesforce's Lightning Experience, `{instance_url}/lightning/r/{Object}/{Id}/view`.
pub fn salesforce_record_url(instance_url: &str, object: ObjectType, id: &str) -> String {
    format!(
        "{}/lightning/r/{}/{}/view",
        instance_url.trim_end_matches('/'),
        object.sobject(),
        super::href::encode_query_value(id)
    )
}

/// A path segment as the address carries it, percent-decoded (`sf%3A003…` is `sf:003…`). Invalid
/// escapes are kept as they are.
pub fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Entries per page of a record's timeline.
pub const TIMELINE_PAGE_SIZE: i64 = 25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_and_salesforce_ids_are_filed_under_their_18_character_form() {
        let k = RecordKey::parse("sf:001d000000irfmaiah").unwrap();
        assert_eq!(k, RecordKey::Salesforce("001D000000IRFmaIAH".into()));
        assert_eq!(RecordKey::parse(&k.to_string()), Some(k));
        assert_eq!(RecordKey::parse("sf:001D000000IRFma").unwrap().id(), "001D000000IRFmaIAH");
        assert_eq!(RecordKey::parse("cv:ct_42"), Some(RecordKey::Conversion("ct_42".into())));
        assert_eq!(RecordKey::parse("xx:1"), None);
        assert_eq!(RecordKey::parse("sf:"), None);
        assert_eq!(RecordKey::parse("nonsense"), None);
        assert_eq!(RecordKey::of(None, Some("ct_1")), Some(RecordKey::Conversion("ct_1".into())));
        assert_eq!(
            RecordKey::of(Some("003"), Some("ct_1")),
            Some(RecordKey::Salesforce("003".into()))
        );
        assert_eq!(RecordKey::of(Some(" "), None), None);
    }

    #[test]
    fn labels_are_searched_by_name_and_by_email() {
        assert_eq!(
            search_terms("Jane@Acme.com"),
            ("jane@acme.com".into(), Some("jane@acme.com".into()))
        );
        assert_eq!(
            search_terms("Ava Müller <Ava.Muller@vandelay.example>"),
            ("ava müller".into(), Some("ava.muller@vandelay.example".into()))
        );
        assert_eq!(search_terms("Acme Corp"), ("acme corp".into(), None));
    }

    #[test]
    fn a_search_is_an_id_when_it_can_be_and_always_a_prefix() {
        let s = RecordSearch::parse(" 003D000000IRFMAIAH ").unwrap();
        assert_eq!(s.salesforce_id.as_deref(), Some("003D000000IRFmaIAH"));
        assert_eq!(s.prefix, "003d000000irfmaiah");
        let s = RecordSearch::parse("Jane@").unwrap();
        assert_eq!((s.salesforce_id, s.prefix.as_str()), (None, "jane@"));
        assert_eq!(RecordSearch::parse("   "), None);
    }

    #[test]
    fn prefix_bounds_bracket_exactly_the_strings_that_start_with_it() {
        assert_eq!(prefix_end("jane").as_deref(), Some("janf"));
        let end = prefix_end("ja").unwrap();
        for s in ["ja", "jane", "ja\u{10FFFF}"] {
            assert!(s >= "ja" && s < end.as_str(), "{s}");
        }
        assert!("jb" >= end.as_str());
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
    }

    #[test]
    fn addresses_carry_keys_and_salesforce_links() {
        let k = RecordKey::Salesforce("003D000000IRFmaIAH".into());
        assert_eq!(k.path(), "/settings/crm/sync-activity/records/sf:003D000000IRFmaIAH");
        assert_eq!(decode_segment("sf%3A003D000000IRFmaIAH"), "sf:003D000000IRFmaIAH");
        assert_eq!(decode_segment("100%"), "100%");
        assert_eq!(decode_segment("%zz%4"), "%zz%4");
        assert_eq!(
            salesforce_record_url(
                "https://acme.my.salesforce.com/",
                ObjectType::Company,
                "001D000000IRFmaIAH"
            ),
            "https://acme.my.salesforce.com/lightning/r/Account/001D000000IRFmaIAH/view"
        );
    }

    #[test]
    fn cursors_read_back() {
        let c = TouchCursor { run_id: RunId::new_at(1_700_000_000_000), seq: 7 };
        assert_eq!(TouchCursor::parse(&c.to_string()), Some(c));
        assert_eq!(TouchCursor::parse("x.1"), None);
        assert_eq!(TouchCursor::parse(&format!("{}.-1", c.run_id)), None);
    }
}
