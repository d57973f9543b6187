//! Sync settings the engine reads on every run, edited on the Overview tab.

use super::ObjectType;
use serde::{Deserialize, Serialize};

/// The Conversion contact fields the field mapping can push to Salesforce, with the Salesforce
/// field each one is written to.
pub const CONTACT_FIELDS: [(&str, &str, &str); 4] = [
    ("email", "Email", "Email"),
    ("first_name", "First name", "FirstName"),
    ("last_name", "Last name", "LastName"),
    ("title", "Job title", "Title"),
];

/// The inbound schedules a person can pick, in seconds.
pub const INTERVAL_CHOICES: [(u64, &str); 6] = [
    (20, "Every 20 seconds"),
    (60, "Every minute"),
    (300, "Every 5 minutes"),
    (900, "Every 15 minutes"),
    (3_600, "Every hour"),
    (86_400, "Once a day"),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// "Write changes to Salesforce leads and contacts".
    pub write_contacts: bool,
    /// "Write changes to Salesforce accounts" (companies).
    pub write_companies: bool,
    pub write_events: bool,
    /// Inbound creates nothing, only updates records Conversion already has.
    pub update_only: bool,
    /// Sync rule: contacts whose email is at one of these domains are not synced ("Do not sync").
    pub excluded_domains: Vec<String>,
    /// Field mapping: Conversion contact fields pushed to Salesforce.
    pub contact_fields: Vec<String>,
    /// Object types that sync inbound (codes of [`ObjectType`]).
    pub inbound_objects: Vec<String>,
    /// Seconds between scheduled inbound syncs; `None`: the server's default.
    pub interval_secs: Option<u64>,
}

impl SyncSettings {
    /// Whether scheduled inbound syncs include this object type.
    pub fn syncs_inbound(&self, object: ObjectType) -> bool {
        self.inbound_objects.iter().any(|o| o == object.as_str())
    }
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            write_contacts: true,
            write_companies: true,
            write_events: true,
            update_only: false,
            excluded_domains: Vec::new(),
            contact_fields: CONTACT_FIELDS.iter().map(|f| f.0.to_string()).collect(),
            inbound_objects: ObjectType::ALL.iter().map(|o| o.as_str().to_string()).collect(),
            interval_secs: None,
        }
    }
}

/// Reads a list of email domains typed by a person ("example.com, test.org" or one a line).
/// Refuses, with a message, anything that is not a domain.
pub fn parse_domains(input: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for raw in input.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let valid = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(format!("\u{201c}{raw}\u{201d} is not an email domain (for example: example.com)."));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_bad_ones_refused() {
        assert_eq!(parse_domains(" Example.com, @test.org\nexample.com ").unwrap(), vec!["example.com", "test.org"]);
        assert_eq!(parse_domains("").unwrap(), Vec::<String>::new());
        assert!(parse_domains("not a domain!").is_err());
        assert!(parse_domains("localhost").is_err());
        assert!(parse_domains("-bad.com").is_err());
    }
}
