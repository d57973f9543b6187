//! Fills an org with N records that look like a real sales org, including the dirty share that
//! makes every data-driven inbound skip and failure of the help article happen. Seeded: the same
//! seed and N give the same org. The mapping from dirty rows to messages is in docs/SALESFORCE.md.

use super::schema::{self, EVENT_OBJECT};
use super::store::{Row, Store, Table, Value};
use crate::salesforce::datetime;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const FIRST: &[&str] = &[
    "Ann", "Bob", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kofi", "Lena",
    "Mia", "Noor", "Omar", "Pia",
];
const LAST: &[&str] = &[
    "Lee", "Smith", "Garcia", "Okafor", "Novak", "Tanaka", "Silva", "Berg", "Khan", "Rossi",
    "Dubois", "Young",
];
const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
];
const TITLES: &[&str] =
    &["CEO", "CTO", "VP Marketing", "Growth Lead", "Engineer", "Analyst", "Product Manager"];
const EVENTS: &[&str] = &[
    "Signed up",
    "Started trial",
    "Upgraded plan",
    "Invited teammate",
    "Viewed pricing",
    "Churned",
];
const BAD_EMAILS: &[&str] =
    &["ann lee@acme.com", "bob@", "carol@@globex.com", "dave.example.com", "eve@acme,com"];
const BAD_TIMES: &[&str] = &["yesterday", "2024-13-45T99:00:00Z", "31/02/2024", "not a date", ""];

/// How many records of each object `generate` made, dirty ones included.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Generated {
    pub accounts: usize,
    pub contacts: usize,
    pub leads: usize,
    pub opportunities: usize,
    pub roles: usize,
    pub events: usize,
}

impl Generated {
    pub fn total(&self) -> usize {
        self.accounts + self.contacts + self.leads + self.opportunities + self.roles + self.events
    }
}

fn index(table: &Table, name: &str) -> usize {
    // The generator only names fields of the fixed schema; a miss is a bug in this file.
    table.def.field_index(name).unwrap_or_else(|| panic!("{} has no field {name}", table.def.name))
}

struct Gen {
    rng: StdRng,
    now: i64,
    serial: u64,
}

impl Gen {
    /// Created up to a year ago, modified between then and now.
    fn times(&mut self) -> (i64, i64) {
        let year = 365 * 24 * 3_600_000i64;
        let created = self.now - self.rng.gen_range(60_000..year);
        let modified = self.rng.gen_range(created..=self.now);
        (created, modified)
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list.choose(&mut self.rng).copied().unwrap_or("")
    }

    fn person(&mut self) -> (String, String, String) {
        self.serial += 1;
        let first = self.pick(FIRST).to_string();
        let last = self.pick(LAST).to_string();
        let domain = self.pick(COMPANIES).to_lowercase();
        let email = format!(
            "{}.{}.{}@{domain}.example.com",
            first.to_lowercase(),
            last.to_lowercase(),
            self.serial
        );
        (first, last, email)
    }

    fn row(&mut self, table: &Table) -> Row {
        let (created, modified) = self.times();
        let mut row = Row::blank(&table.def, created);
        row.modified = modified;
        row
    }

    fn roll(&mut self) -> u32 {
        self.rng.gen_range(0..100)
    }
}

/// Adds `n` records to `store`. The mix: 10% accounts, 30% contacts, 30% leads, 8%
/// opportunities, 7% contact roles, 15% events; roughly one record in six is dirty.
pub fn generate(store: &mut Store, n: usize, seed: u64, now: i64) -> Generated {
    let mut g = Gen { rng: StdRng::seed_from_u64(seed), now, serial: 0 };
    let share = |pct: usize| (n * pct / 100).max(usize::from(n >= 6));
    let mut counts = Generated {
        accounts: share(10),
        contacts: share(30),
        opportunities: share(8),
        roles: share(7),
        events: share(15),
        leads: 0,
    };
    counts.leads = n.saturating_sub(
        counts.accounts + counts.contacts + counts.opportunities + counts.roles + counts.events,
    );

    let t_account = store.table_index("Account").unwrap_or(0);
    let t_contact = store.table_index("Contact").unwrap_or(0);
    let t_lead = store.table_index("Lead").unwrap_or(0);
    let t_opp = store.table_index("Opportunity").unwrap_or(0);
    let t_role = store.table_index("OpportunityContactRole").unwrap_or(0);
    let t_event = store.table_index(EVENT_OBJECT).unwrap_or(0);

    // Accounts: a few flagged do-not-sync, a few in the recycle bin (for dangling references).
    let mut accounts = Vec::new();
    {
        let t = &mut store.tables[t_account];
        let (name, site, industry, dns, ext) = (
            index(t, "Name"),
            index(t, "Website"),
            index(t, "Industry"),
            index(t, "Conversion_Do_Not_Sync__c"),
            index(t, "Conversion_Id__c"),
        );
        for i in 0..counts.accounts {
            let mut row = g.row(t);
            let company = format!("{} {}", g.pick(COMPANIES), i + 1);
            row.set(
                site,
                Value::text(format!(
                    "https://{}.example.com",
                    company.to_lowercase().replace(' ', "-")
                )),
            );
            row.set(name, Value::text(company));
            row.set(industry, Value::text(g.pick(schema::INDUSTRIES)));
            if g.rng.gen_bool(0.5) {
                row.set(ext, Value::text(format!("acct-{seed}-{i}")));
            }
            let roll = g.roll();
            if roll < 3 {
                row.set(dns, Value::Bool(true));
            }
            row.deleted = (3..6).contains(&roll);
            let r = t.insert(row);
            accounts.push((t.id_of(r), (3..6).contains(&roll)));
        }
    }
    let live_accounts: Vec<String> =
        accounts.iter().filter(|a| !a.1).map(|a| a.0.clone()).collect();
    let dead_accounts: Vec<String> = accounts.iter().filter(|a| a.1).map(|a| a.0.clone()).collect();

    // Contacts: no email, invalid email, do-not-sync, no account, deleted account.
    let mut contacts: Vec<(String, Option<String>, bool)> = Vec::new();
    {
        let t = &mut store.tables[t_contact];
        let f = |n| index(t, n);
        let (first, last, email, title, account, dns, ext) = (
            f("FirstName"),
            f("LastName"),
            f("Email"),
            f("Title"),
            f("AccountId"),
            f("Conversion_Do_Not_Sync__c"),
            f("Conversion_Id__c"),
        );
        for i in 0..counts.contacts {
            let mut row = g.row(t);
            let (fnm, lnm, mail) = g.person();
            row.set(first, Value::text(fnm));
            row.set(last, Value::text(lnm));
            row.set(title, Value::text(g.pick(TITLES)));
            let roll = g.roll();
            let mail = match roll {
                0..=3 => None,
                4..=6 => Some(g.pick(BAD_EMAILS).to_string()),
                _ => Some(mail),
            };
            row.set(email, mail.clone().map(Value::text).unwrap_or(Value::Null));
            if (7..=8).contains(&roll) {
                row.set(dns, Value::Bool(true));
            }
            let acct = match roll {
                9..=12 => None,
                13..=14 => dead_accounts.choose(&mut g.rng).cloned(),
                _ => live_accounts.choose(&mut g.rng).cloned(),
            };
            row.set(account, acct.map(Value::text).unwrap_or(Value::Null));
            if g.rng.gen_bool(0.5) {
                row.set(ext, Value::text(format!("user-{seed}-{i}")));
            }
            // A few contacts sit in the recycle bin so that roles and events can point at them.
            row.deleted = roll == 99 || roll == 98;
            let r = t.insert(row);
            contacts.push((
                t.id_of(r),
                mail.filter(|m| super::writes::is_valid_email(m)),
                row_deleted(t, r),
            ));
        }
    }
    let live_contacts: Vec<&(String, Option<String>, bool)> =
        contacts.iter().filter(|c| !c.2).collect();
    let dead_contacts: Vec<String> = contacts.iter().filter(|c| c.2).map(|c| c.0.clone()).collect();

    // Leads: no email, invalid email, converted, do-not-sync, and a few sharing a contact's email.
    {
        let t = &mut store.tables[t_lead];
        let f = |n| index(t, n);
        let (first, last, company, email, status, source, converted, conv_contact, dns) = (
            f("FirstName"),
            f("LastName"),
            f("Company"),
            f("Email"),
            f("Status"),
            f("LeadSource"),
            f("IsConverted"),
            f("ConvertedContactId"),
            f("Conversion_Do_Not_Sync__c"),
        );
        for _ in 0..counts.leads {
            let mut row = g.row(t);
            let (fnm, lnm, mail) = g.person();
            row.set(first, Value::text(fnm));
            row.set(last, Value::text(lnm));
            row.set(company, Value::text(g.pick(COMPANIES)));
            row.set(source, Value::text(g.pick(schema::LEAD_SOURCE)));
            let roll = g.roll();
            let mail = match roll {
                0..=3 => Value::Null,
                4..=6 => Value::text(g.pick(BAD_EMAILS)),
                _ => Value::text(mail),
            };
            row.set(email, mail);
            row.set(status, Value::text(g.pick(&schema::LEAD_STATUS[..2])));
            if (7..=11).contains(&roll) {
                row.set(converted, Value::Bool(true));
                row.set(status, Value::text("Closed - Converted"));
                if let Some(c) = live_contacts.choose(&mut g.rng) {
                    row.set(conv_contact, Value::text(c.0.clone()));
                }
            }
            if (12..=13).contains(&roll) {
                row.set(dns, Value::Bool(true));
            }
            t.insert(row);
        }
    }

    // Opportunities: no account, in the recycle bin, do-not-sync.
    let mut opps: Vec<(String, bool)> = Vec::new();
    {
        let t = &mut store.tables[t_opp];
        let f = |n| index(t, n);
        let (name, account, stage, close, amount, dns) = (
            f("Name"),
            f("AccountId"),
            f("StageName"),
            f("CloseDate"),
            f("Amount"),
            f("Conversion_Do_Not_Sync__c"),
        );
        for i in 0..counts.opportunities {
            let mut row = g.row(t);
            row.set(name, Value::text(format!("{} renewal {}", g.pick(COMPANIES), i + 1)));
            row.set(stage, Value::text(g.pick(schema::STAGES)));
            let close_ms = row.created + g.rng.gen_range(0..90) * 86_400_000;
            row.set(close, Value::text(&datetime::format_millis(close_ms)[..10]));
            row.set(amount, Value::Number(f64::from(g.rng.gen_range(10u32..500)) * 100.0));
            let roll = g.roll();
            let acct = if roll < 4 { None } else { live_accounts.choose(&mut g.rng).cloned() };
            row.set(account, acct.map(Value::text).unwrap_or(Value::Null));
            if (6..8).contains(&roll) {
                row.set(dns, Value::Bool(true));
            }
            row.deleted = (4..6).contains(&roll);
            let r = t.insert(row);
            opps.push((t.id_of(r), (4..6).contains(&roll)));
        }
    }
    let live_opps: Vec<String> = opps.iter().filter(|o| !o.1).map(|o| o.0.clone()).collect();
    let dead_opps: Vec<String> = opps.iter().filter(|o| o.1).map(|o| o.0.clone()).collect();

    // Contact roles: some point at a deleted opportunity or a deleted contact.
    {
        let t = &mut store.tables[t_role];
        let (opp, contact, role, primary) = (
            index(t, "OpportunityId"),
            index(t, "ContactId"),
            index(t, "Role"),
            index(t, "IsPrimary"),
        );
        for _ in 0..counts.roles {
            let mut row = g.row(t);
            let roll = g.roll();
            let o =
                if roll < 6 { dead_opps.choose(&mut g.rng) } else { live_opps.choose(&mut g.rng) };
            let c = if (6..10).contains(&roll) {
                dead_contacts.choose(&mut g.rng).cloned()
            } else {
                live_contacts.choose(&mut g.rng).map(|c| c.0.clone())
            };
            row.set(opp, o.cloned().map(Value::text).unwrap_or(Value::Null));
            row.set(contact, c.map(Value::text).unwrap_or(Value::Null));
            row.set(role, Value::text(g.pick(schema::ROLES)));
            row.set(primary, Value::Bool(g.rng.gen_bool(0.3)));
            t.insert(row);
        }
    }

    // Events: missing identifier, missing name, conflicting identifiers, unknown contact,
    // unreadable timestamp, malformed properties.
    {
        let t = &mut store.tables[t_event];
        let f = |n| index(t, n);
        let (name, event, email, user, contact, at, props, ext) = (
            f("Name"),
            f("Event_Name__c"),
            f("Email__c"),
            f("User_Id__c"),
            f("Contact__c"),
            f("Occurred_At__c"),
            f("Properties__c"),
            f("Conversion_Id__c"),
        );
        let with_email: Vec<&&(String, Option<String>, bool)> =
            live_contacts.iter().filter(|c| c.1.is_some()).collect();
        for i in 0..counts.events {
            let mut row = g.row(t);
            row.set(name, Value::text(format!("EV-{:07}", i + 1)));
            row.set(ext, Value::text(format!("evt-{seed}-{i}")));
            row.set(event, Value::text(g.pick(EVENTS)));
            row.set(at, Value::text(datetime::format_millis(row.created)));
            row.set(
                props,
                Value::text(format!(
                    "{{\"plan\":\"{}\",\"seats\":{}}}",
                    g.pick(&["free", "pro", "team"]),
                    g.rng.gen_range(1..50)
                )),
            );
            let subject = with_email.choose(&mut g.rng).copied();
            if let Some(c) = subject {
                row.set(email, c.1.clone().map(Value::text).unwrap_or(Value::Null));
                if g.rng.gen_bool(0.5) {
                    row.set(contact, Value::text(c.0.clone()));
                }
                // The product's own user ID, as tools that log events send it. Contacts that
                // came from Salesforce have none in Conversion, so it resolves nothing and only
                // conflicts with a contact made in Conversion (see the activity simulator).
                if g.rng.gen_bool(0.3) {
                    row.set(user, Value::text(user_id(&mut g.rng)));
                }
            }
            match g.roll() {
                0..=4 => {
                    row.set(email, Value::Null);
                    row.set(user, Value::Null);
                    row.set(contact, Value::Null);
                }
                5..=8 => row.set(event, Value::Null),
                9..=11 => {
                    if let Some(other) = with_email.choose(&mut g.rng) {
                        if subject.map(|s| &s.0) != Some(&other.0) {
                            row.set(contact, Value::text(other.0.clone()));
                        }
                    }
                }
                12..=14 => {
                    row.set(email, Value::text(format!("nobody-{i}@nowhere.example.com")));
                    row.set(contact, Value::Null);
                }
                15..=17 => row.set(at, Value::text(g.pick(BAD_TIMES))),
                18..=19 => row.set(props, Value::text("{\"plan\": \"pro\", \"seats\":")),
                // Only a user ID, which no contact has: "Contact not found" by user ID.
                20..=21 => {
                    row.set(email, Value::Null);
                    row.set(contact, Value::Null);
                    row.set(user, Value::text(user_id(&mut g.rng)));
                }
                // A NUL character, which Conversion's storage refuses: "Failed to encode data".
                // (Imported text can carry one; Salesforce stores what the import sent.)
                22 => row.set(event, Value::text(format!("{}\u{0}", g.pick(EVENTS)))),
                _ => {}
            }
            t.insert(row);
        }
    }
    counts
}

/// A user ID in the form the product gives its users, distinct from any Conversion made.
pub fn user_id(rng: &mut StdRng) -> String {
    format!("u_sf_{:08x}", rng.gen::<u32>())
}

fn row_deleted(t: &Table, r: u32) -> bool {
    t.rows[r as usize].deleted
}

#[cfg(test)]
mod tests;
