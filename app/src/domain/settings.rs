//! Sync settings the engine reads on every run, edited on the Overview tab.

use super::{CompanyField, ContactField, ObjectType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// The workspace's sync rules, typed: what a value of [`SettingsInput`] becomes once read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SettingsInput")]
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
    pub contact_fields: Vec<ContactField>,
    /// Field mapping: Conversion company fields pushed to Salesforce accounts.
    pub company_fields: Vec<CompanyField>,
    /// Object types that sync inbound.
    pub inbound_objects: Vec<ObjectType>,
    /// Seconds between scheduled inbound syncs; `None`: the server's default.
    pub interval_secs: Option<u64>,
}

impl SyncSettings {
    /// The settings that differ from `before`, by the names the Overview gives them (the audit
    /// trail's detail of a save).
    pub fn changes_from(&self, before: &SyncSettings) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut differs = |differ: bool, name: &'static str| {
            if differ {
                changed.push(name);
            }
        };
        differs(self.inbound_objects != before.inbound_objects, "Syncing from Salesforce");
        differs(self.interval_secs != before.interval_secs, "Inbound schedule");
        differs(
            self.write_contacts != before.write_contacts,
            "Write changes to Salesforce leads and contacts",
        );
        differs(
            self.write_companies != before.write_companies,
            "Write changes to Salesforce accounts",
        );
        differs(self.write_events != before.write_events, "Write custom events to Salesforce");
        differs(
            self.contact_fields != before.contact_fields
                || self.company_fields != before.company_fields,
            "Field mapping",
        );
        differs(self.update_only != before.update_only, "Inbound write mode");
        differs(self.excluded_domains != before.excluded_domains, "Excluded email domains");
        changed
    }

    /// Whether scheduled inbound syncs include this object type.
    pub fn syncs_inbound(&self, object: ObjectType) -> bool {
        self.inbound_objects.contains(&object)
    }

    /// The one check of a whole settings value, for the Overview's form and `PUT
    /// /api/sync/settings` alike: a schedule that is offered and real email domains (object types
    /// and fields are checked when [`SettingsInput`] is read). The message says what is wrong in
    /// words a person can act on.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(secs) = self.interval_secs {
            if !INTERVAL_CHOICES.iter().any(|(s, _)| *s == secs) {
                let offered: Vec<String> =
                    INTERVAL_CHOICES.iter().map(|(s, _)| s.to_string()).collect();
                return Err(format!("An inbound schedule of {secs} seconds is not offered: choose one of {} seconds, or the server default.", offered.join(", ")));
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
            contact_fields: ContactField::all(),
            company_fields: CompanyField::all(),
            inbound_objects: ObjectType::ALL.to_vec(),
            interval_secs: None,
        }
    }
}

/// The sync rules as JSON writes them (`PUT /api/sync/settings`, the database): object types and
/// fields by their codes, anything left out at its default. Reading it into [`SyncSettings`]
/// refuses an unknown code with a sentence that names it and lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub write_contacts: bool,
    pub write_companies: bool,
    pub write_events: bool,
    pub update_only: bool,
    pub excluded_domains: Vec<String>,
    pub contact_fields: Vec<String>,
    pub company_fields: Vec<String>,
    pub inbound_objects: Vec<String>,
    pub interval_secs: Option<u64>,
}

impl Default for SettingsInput {
    fn default() -> Self {
        SyncSettings::default().into()
    }
}

impl From<SyncSettings> for SettingsInput {
    fn from(s: SyncSettings) -> Self {
        fn codes<T: std::fmt::Display>(v: &[T]) -> Vec<String> {
            v.iter().map(T::to_string).collect()
        }
        SettingsInput {
            write_contacts: s.write_contacts,
            write_companies: s.write_companies,
            write_events: s.write_events,
            update_only: s.update_only,
            contact_fields: codes(&s.contact_fields),
            company_fields: codes(&s.company_fields),
            inbound_objects: codes(&s.inbound_objects),
            excluded_domains: s.excluded_domains,
            interval_secs: s.interval_secs,
        }
    }
}

/// Each code of `list` read by `parse`, or a sentence naming the first unknown one.
fn read_codes<T: Copy + std::fmt::Display>(
    list: &[String],
    parse: fn(&str) -> Option<T>,
    known: &[T],
    unknown: &str,
) -> Result<Vec<T>, String> {
    list.iter()
        .map(|code| {
            parse(code).ok_or_else(|| {
                let names: Vec<String> = known.iter().map(T::to_string).collect();
                format!("\u{201c}{code}\u{201d} {unknown}: use {}.", names.join(", "))
            })
        })
        .collect()
}

impl TryFrom<SettingsInput> for SyncSettings {
    type Error = String;

    fn try_from(i: SettingsInput) -> Result<Self, String> {
        Ok(SyncSettings {
            inbound_objects: read_codes(
                &i.inbound_objects,
                ObjectType::parse,
                ObjectType::ALL,
                "is not an object type that syncs",
            )?,
            contact_fields: read_codes(
                &i.contact_fields,
                ContactField::parse,
                &ContactField::all(),
                "is not a contact field the mapping can write",
            )?,
            company_fields: read_codes(
                &i.company_fields,
                CompanyField::parse,
                &CompanyField::all(),
                "is not a company field the mapping can write",
            )?,
            write_contacts: i.write_contacts,
            write_companies: i.write_companies,
            write_events: i.write_events,
            update_only: i.update_only,
            excluded_domains: i.excluded_domains,
            interval_secs: i.interval_secs,
        })
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
    fn a_save_names_the_settings_it_changed() {
        let before = SyncSettings::default();
        assert!(before.changes_from(&before).is_empty());
        let after = SyncSettings {
            interval_secs: Some(300),
            write_companies: !before.write_companies,
            excluded_domains: vec!["example.com".into()],
            ..before.clone()
        };
        assert_eq!(
            after.changes_from(&before),
            ["Inbound schedule", "Write changes to Salesforce accounts", "Excluded email domains"]
        );
    }

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
        // Object types and fields are read from their codes; an unknown code is refused there.
        let unreadable = |i: SettingsInput| SyncSettings::try_from(i).expect_err("refused");
        assert!(unreadable(SettingsInput {
            inbound_objects: vec!["invoice".into()],
            ..SettingsInput::default()
        })
        .contains("\u{201c}invoice\u{201d} is not an object type"));
        assert!(unreadable(SettingsInput {
            contact_fields: vec!["fax_number".into()],
            ..SettingsInput::default()
        })
        .contains("not a contact field"));
        assert!(unreadable(SettingsInput {
            company_fields: vec!["revenue".into()],
            ..SettingsInput::default()
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
    pub interval_secs: Option<String>,
    pub inbound_contact: Option<String>,
    pub inbound_lead: Option<String>,
    pub inbound_company: Option<String>,
    pub inbound_opportunity: Option<String>,
    pub inbound_opportunity_contact_role: Option<String>,
    pub inbound_event: Option<String>,
    /// The field mapping's checkboxes, named by the field's code: `field_{code}` for a contact
    /// field, `company_field_{code}` for a company field (the objects' tables list them).
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
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
        fn checked<T: Copy>(
            boxes: &[(T, &Option<String>)],
            on: impl Fn(&Option<String>) -> bool,
        ) -> Vec<T> {
            boxes.iter().filter(|(_, v)| on(v)).map(|(value, _)| *value).collect()
        }
        let mapped =
            |prefix: &str, code: &str| on(&self.fields.get(&format!("{prefix}{code}")).cloned());
        let contact_fields =
            ContactField::all().into_iter().filter(|f| mapped("field_", f.as_str())).collect();
        let company_fields = CompanyField::all()
            .into_iter()
            .filter(|f| mapped("company_field_", f.as_str()))
            .collect();
        let interval_secs =
            match self.interval_secs.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None | Some("default") => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| {
                    format!("\u{201c}{v}\u{201d} is not one of the schedules offered.")
                })?),
            };
        let inbound_objects = checked(
            &[
                (ObjectType::Company, &self.inbound_company),
                (ObjectType::Contact, &self.inbound_contact),
                (ObjectType::Lead, &self.inbound_lead),
                (ObjectType::Opportunity, &self.inbound_opportunity),
                (ObjectType::OpportunityContactRole, &self.inbound_opportunity_contact_role),
                (ObjectType::Event, &self.inbound_event),
            ],
            on,
        );
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
