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

/// The Conversion company fields the field mapping can push to Salesforce accounts, with the
/// Account field each one is written to.
pub const COMPANY_FIELDS: [(&str, &str, &str); 3] = [
    ("name", "Name", "Name"),
    ("website", "Website", "Website"),
    ("industry", "Industry", "Industry"),
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

/// An inbound schedule in words, lower-case to follow "Server default:": "every 5 minutes".
pub fn describe_interval(secs: u64) -> String {
    let unit = |n: u64, one: &str| {
        if n == 1 {
            format!("every {one}")
        } else {
            format!("every {n} {one}s")
        }
    };
    match secs {
        86_400 => "once a day".into(),
        s if s % 3_600 == 0 => unit(s / 3_600, "hour"),
        s if s % 60 == 0 => unit(s / 60, "minute"),
        s => unit(s, "second"),
    }
}

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
    /// Field mapping: Conversion contact fields pushed to Salesforce (codes of [`CONTACT_FIELDS`]).
    pub contact_fields: Vec<String>,
    /// Field mapping: Conversion company fields pushed to Salesforce accounts ([`COMPANY_FIELDS`]).
    pub company_fields: Vec<String>,
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

    /// The one check of a whole settings value, for the Overview's form and `PUT
    /// /api/sync/settings` alike: a schedule that is offered, known object types and mapped fields,
    /// real email domains. The message says what is wrong in words a person can act on.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(secs) = self.interval_secs {
            if !INTERVAL_CHOICES.iter().any(|(s, _)| *s == secs) {
                let offered: Vec<String> =
                    INTERVAL_CHOICES.iter().map(|(s, _)| s.to_string()).collect();
                return Err(format!("An inbound schedule of {secs} seconds is not offered: choose one of {} seconds, or the server default.", offered.join(", ")));
            }
        }
        if let Some(bad) = self.inbound_objects.iter().find(|o| ObjectType::parse(o).is_none()) {
            let known: Vec<&str> = ObjectType::ALL.iter().map(|o| o.as_str()).collect();
            return Err(format!(
                "\u{201c}{bad}\u{201d} is not an object type that syncs: use {}.",
                known.join(", ")
            ));
        }
        for (list, known, what) in [
            (&self.contact_fields, &CONTACT_FIELDS[..], "contact"),
            (&self.company_fields, &COMPANY_FIELDS[..], "company"),
        ] {
            if let Some(bad) = list.iter().find(|f| !known.iter().any(|k| k.0 == f.as_str())) {
                let names: Vec<&str> = known.iter().map(|k| k.0).collect();
                return Err(format!(
                    "\u{201c}{bad}\u{201d} is not a {what} field the mapping can write: use {}.",
                    names.join(", ")
                ));
            }
        }
        for d in &self.excluded_domains {
            if parse_domains(d)?.as_slice() != [d.as_str()] {
                return Err(format!(
                    "\u{201c}{d}\u{201d} is not an email domain (for example: example.com)."
                ));
            }
        }
        Ok(())
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
            company_fields: COMPANY_FIELDS.iter().map(|f| f.0.to_string()).collect(),
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
            return Err(format!(
                "\u{201c}{raw}\u{201d} is not an email domain (for example: example.com)."
            ));
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
        assert_eq!(
            parse_domains(" Example.com, @test.org\nexample.com ").unwrap(),
            vec!["example.com", "test.org"]
        );
        assert_eq!(parse_domains("").unwrap(), Vec::<String>::new());
        assert!(parse_domains("not a domain!").is_err());
        assert!(parse_domains("localhost").is_err());
        assert!(parse_domains("-bad.com").is_err());
    }

    #[test]
    fn intervals_read_as_words() {
        assert_eq!(describe_interval(20), "every 20 seconds");
        assert_eq!(describe_interval(60), "every minute");
        assert_eq!(describe_interval(300), "every 5 minutes");
        assert_eq!(describe_interval(3_600), "every hour");
        assert_eq!(describe_interval(7_200), "every 2 hours");
        assert_eq!(describe_interval(86_400), "once a day");
    }

    #[test]
    fn validate_refuses_what_the_engine_cannot_honour() {
        assert_eq!(SyncSettings::default().validate(), Ok(()));
        let ok = SyncSettings {
            interval_secs: Some(300),
            excluded_domains: vec!["example.com".into()],
            ..SyncSettings::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        let refused = |s: SyncSettings| s.validate().expect_err("refused");
        assert!(refused(SyncSettings { interval_secs: Some(0), ..SyncSettings::default() })
            .contains("0 seconds is not offered"));
        assert!(refused(SyncSettings {
            inbound_objects: vec!["invoice".into()],
            ..SyncSettings::default()
        })
        .contains("\u{201c}invoice\u{201d} is not an object type"));
        assert!(refused(SyncSettings {
            contact_fields: vec!["phone".into()],
            ..SyncSettings::default()
        })
        .contains("not a contact field"));
        assert!(refused(SyncSettings {
            company_fields: vec!["revenue".into()],
            ..SyncSettings::default()
        })
        .contains("not a company field"));
        assert!(refused(SyncSettings {
            excluded_domains: vec!["Example.com".into()],
            ..SyncSettings::default()
        })
        .contains("not an email domain"));
        assert!(refused(SyncSettings {
            excluded_domains: vec!["a.com b.com".into()],
            ..SyncSettings::default()
        })
        .contains("not an email domain"));
    }
}

/// The Overview's settings form as posted (`POST /api/settings/save`): a checkbox that is absent
/// is off, every value is text as the browser sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsForm {
    pub write_contacts: Option<String>,
    pub write_companies: Option<String>,
    pub write_events: Option<String>,
    pub write_mode: Option<String>,
    pub excluded_domains: Option<String>,
    pub field_email: Option<String>,
    pub field_first_name: Option<String>,
    pub field_last_name: Option<String>,
    pub field_title: Option<String>,
    pub company_field_name: Option<String>,
    pub company_field_website: Option<String>,
    pub company_field_industry: Option<String>,
    pub interval_secs: Option<String>,
    pub inbound_contact: Option<String>,
    pub inbound_lead: Option<String>,
    pub inbound_company: Option<String>,
    pub inbound_opportunity: Option<String>,
    pub inbound_opportunity_contact_role: Option<String>,
    pub inbound_event: Option<String>,
}

impl SettingsForm {
    /// The settings the form asks for, or what is wrong with them in words (checked as the JSON
    /// API checks them, [`SyncSettings::validate`]).
    pub fn read(&self) -> Result<SyncSettings, String> {
        let update_only = match self.write_mode.as_deref().unwrap_or("upsert") {
            "upsert" => false,
            "update_only" => true,
            other => return Err(format!("\u{201c}{other}\u{201d} is not a write mode: choose create and update, or update only.")),
        };
        let excluded_domains = parse_domains(self.excluded_domains.as_deref().unwrap_or(""))?;
        let on = |v: &Option<String>| {
            v.as_deref().is_some_and(|v| !v.is_empty() && v != "false" && v != "off")
        };
        let checked = |boxes: &[(&str, &Option<String>)]| -> Vec<String> {
            boxes.iter().filter(|(_, v)| on(v)).map(|(name, _)| name.to_string()).collect()
        };
        let contact_fields = checked(&[
            ("email", &self.field_email),
            ("first_name", &self.field_first_name),
            ("last_name", &self.field_last_name),
            ("title", &self.field_title),
        ]);
        let company_fields = checked(&[
            ("name", &self.company_field_name),
            ("website", &self.company_field_website),
            ("industry", &self.company_field_industry),
        ]);
        let interval_secs =
            match self.interval_secs.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None | Some("default") => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| {
                    format!("\u{201c}{v}\u{201d} is not one of the schedules offered.")
                })?),
            };
        let inbound_objects = checked(&[
            ("company", &self.inbound_company),
            ("contact", &self.inbound_contact),
            ("lead", &self.inbound_lead),
            ("opportunity", &self.inbound_opportunity),
            ("opportunity_contact_role", &self.inbound_opportunity_contact_role),
            ("event", &self.inbound_event),
        ]);
        let settings = SyncSettings {
            inbound_objects,
            interval_secs,
            write_contacts: on(&self.write_contacts),
            write_companies: on(&self.write_companies),
            write_events: on(&self.write_events),
            update_only,
            excluded_domains,
            contact_fields,
            company_fields,
        };
        settings.validate()?;
        Ok(settings)
    }
}
