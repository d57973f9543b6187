//! Activity in the org by other users: records of all six objects created, edited and deleted at
//! a steady rate, so that every object's scheduled sync finds work. Bypasses fault injection on purpose: faults concern the
//! integration user, not the people working in Salesforce.

use super::org::{now_millis, Org};
use super::store::{Row, Store, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One change made by the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Created {
        object: &'static str,
        id: String,
    },
    Updated {
        object: &'static str,
        id: String,
    },
    Deleted {
        object: &'static str,
        id: String,
    },
    /// Nothing to update or delete yet.
    Idle,
}

/// Which objects people touch, and how often (weights out of 100): people and events most,
/// so that every object's scheduled sync finds work and the busiest ones find the most.
const OBJECTS: [(&str, u32); 6] = [
    ("Lead", 22),
    ("Contact", 22),
    ("Account", 10),
    ("Opportunity", 12),
    ("OpportunityContactRole", 10),
    (super::schema::EVENT_OBJECT, 24),
];

fn pick_object(rng: &mut StdRng) -> &'static str {
    let mut roll = rng.gen_range(0..OBJECTS.iter().map(|o| o.1).sum::<u32>());
    for (name, weight) in OBJECTS {
        if roll < weight {
            return name;
        }
        roll -= weight;
    }
    OBJECTS[0].0
}

/// A live row of `object`, found by sampling: cheap on big tables, and tables are mostly live.
fn sample_live(store: &Store, object: &str, rng: &mut StdRng) -> Option<u32> {
    let table = store.table(object)?;
    (0..8)
        .map(|_| rng.gen_range(0..table.rows.len().max(1)) as u32)
        .find(|&r| table.rows.get(r as usize).is_some_and(|row| !row.deleted))
}

fn text_of(store: &Store, object: &str, row: u32, field: &str) -> Option<String> {
    let table = store.table(object)?;
    let i = table.def.field_index(field)?;
    table.rows.get(row as usize)?.own(i).as_text().map(str::to_string)
}

/// The fields a new record of `object` gets; `None` when what it must point at does not exist.
fn new_fields(
    store: &Store,
    object: &str,
    rng: &mut StdRng,
    now: i64,
    serial: u64,
) -> Option<Vec<(&'static str, Value)>> {
    let id_of = |o: &str, r: u32| store.table(o).map(|t| t.id_of(r));
    let email = format!("sim.{serial}.{now}@activity.example.com");
    Some(match object {
        "Lead" => vec![
            ("FirstName", Value::text("Sim")),
            ("LastName", Value::text(format!("Activity {serial}"))),
            ("Company", Value::text("Simulated Co")),
            ("Status", Value::text("Open - Not Contacted")),
            ("Email", Value::text(email)),
        ],
        "Contact" => {
            let account = sample_live(store, "Account", rng).and_then(|r| id_of("Account", r));
            vec![
                ("FirstName", Value::text("Sim")),
                ("LastName", Value::text(format!("Activity {serial}"))),
                ("Email", Value::text(email)),
                ("AccountId", account.map(Value::text).unwrap_or(Value::Null)),
            ]
        }
        "Account" => vec![
            ("Name", Value::text(format!("Simulated Account {serial}"))),
            ("Industry", Value::text("Technology")),
        ],
        "Opportunity" => {
            let account = id_of("Account", sample_live(store, "Account", rng)?)?;
            let close = crate::salesforce::datetime::format_millis(now + 30 * 86_400_000);
            vec![
                ("Name", Value::text(format!("Simulated deal {serial}"))),
                ("StageName", Value::text("Prospecting")),
                ("CloseDate", Value::text(&close[..10])),
                ("Amount", Value::Number(f64::from(rng.gen_range(10u32..500)) * 100.0)),
                ("AccountId", Value::text(account)),
            ]
        }
        "OpportunityContactRole" => {
            let opp = id_of("Opportunity", sample_live(store, "Opportunity", rng)?)?;
            let contact = id_of("Contact", sample_live(store, "Contact", rng)?)?;
            vec![
                ("OpportunityId", Value::text(opp)),
                ("ContactId", Value::text(contact)),
                ("Role", Value::text("Evaluator")),
            ]
        }
        _ => {
            let c = sample_live(store, "Contact", rng)?;
            let mut fields = vec![
                ("Name", Value::text(format!("EV-SIM-{serial}"))),
                ("Event_Name__c", Value::text("Viewed pricing")),
                (
                    "Email__c",
                    text_of(store, "Contact", c, "Email").map(Value::text).unwrap_or(Value::Null),
                ),
                ("Occurred_At__c", Value::text(crate::salesforce::datetime::format_millis(now))),
                (
                    "Properties__c",
                    Value::text(format!("{{\"source\":\"simulator\",\"n\":{serial}}}")),
                ),
            ];
            // A contact made in Conversion (it has a Conversion ID) has a user ID there; an event
            // naming it by email with another user ID is the help article's conflicting-identifier
            // example. Contacts from Salesforce have none, so theirs get no user ID here.
            if text_of(store, "Contact", c, "Conversion_Id__c").is_some() && rng.gen_bool(0.5) {
                fields.push(("User_Id__c", Value::text(super::generator::user_id(rng))));
            }
            fields
        }
    })
}

/// The field an edit changes on `object`.
fn edit(object: &str, rng: &mut StdRng, serial: u64) -> (&'static str, Value) {
    match object {
        "Lead" | "Contact" => ("Title", Value::text(format!("Title {serial}"))),
        "Account" => ("Website", Value::text(format!("https://simulated-{serial}.example.com"))),
        "Opportunity" => ("Amount", Value::Number(f64::from(rng.gen_range(10u32..500)) * 100.0)),
        "OpportunityContactRole" => ("IsPrimary", Value::Bool(rng.gen_bool(0.5))),
        _ => ("Properties__c", Value::text(format!("{{\"edited\":{serial}}}"))),
    }
}

/// Makes one change: 40% creates, 45% updates, 15% deletes, on an object picked by weight.
pub fn step(store: &mut Store, rng: &mut StdRng, now: i64, serial: u64) -> Activity {
    let object = pick_object(rng);
    let roll = rng.gen_range(0..100);
    if roll < 40 {
        let Some(fields) = new_fields(store, object, rng, now, serial) else {
            return Activity::Idle;
        };
        let Some(table) = store.table_mut(object) else { return Activity::Idle };
        let mut row = Row::blank(&table.def, now);
        for (name, value) in fields {
            if let Some(i) = table.def.field_index(name) {
                row.set(i, value);
            }
        }
        let r = table.insert(row);
        return Activity::Created { object: table.def.name, id: table.id_of(r) };
    }
    let Some(r) = sample_live(store, object, rng) else { return Activity::Idle };
    let (field, value) = edit(object, rng, serial);
    let Some(table) = store.table_mut(object) else { return Activity::Idle };
    let (object, id) = (table.def.name, table.id_of(r));
    if roll < 85 {
        let mut row = table.rows[r as usize].clone();
        if let Some(i) = table.def.field_index(field) {
            row.set(i, value);
        }
        row.modified = now;
        table.replace(r, row);
        Activity::Updated { object, id }
    } else {
        table.delete(r, now);
        Activity::Deleted { object, id }
    }
}

/// Runs `per_minute` changes a minute until cancelled.
pub async fn run(org: Arc<Org>, per_minute: u32, seed: u64, cancel: CancellationToken) {
    if per_minute == 0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut tick = tokio::time::interval(Duration::from_secs(60) / per_minute);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut serial = 0u64;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {
                serial += 1;
                let activity = step(&mut org.data_store_mut(), &mut rng, now_millis(), serial);
                tracing::trace!(?activity, "local org activity");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_create_update_and_delete() {
        let mut store = Store::new();
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = (0, 0, 0);
        for n in 0..300 {
            match step(&mut store, &mut rng, 1_000 + n as i64, n) {
                Activity::Created { .. } => seen.0 += 1,
                Activity::Updated { .. } => seen.1 += 1,
                Activity::Deleted { .. } => seen.2 += 1,
                Activity::Idle => {}
            }
        }
        assert!(seen.0 > 0 && seen.1 > 0 && seen.2 > 0, "{seen:?}");
        let leads = store.table("Lead").unwrap();
        assert!(leads.rows.iter().any(|r| r.modified > r.created), "updates move LastModifiedDate");
    }

    #[test]
    fn every_object_gets_creates_and_edits_with_valid_references() {
        let mut store = Store::new();
        crate::fake_org::generator::generate(&mut store, 2_000, 3, 1_000);
        let mut rng = StdRng::seed_from_u64(9);
        let mut created = std::collections::BTreeMap::new();
        let mut updated = std::collections::BTreeSet::new();
        for n in 0..3_000u64 {
            match step(&mut store, &mut rng, 2_000_000 + n as i64, n) {
                Activity::Created { object, id } => {
                    created.entry(object).or_insert_with(Vec::new).push(id)
                }
                Activity::Updated { object, .. } => {
                    updated.insert(object);
                }
                _ => {}
            }
        }
        for (object, _) in OBJECTS {
            assert!(created.get(object).is_some_and(|c| !c.is_empty()), "no {object} created");
            assert!(updated.contains(object), "no {object} updated");
        }
        // What the simulator creates passes the org's own required-field rules.
        for (object, ids) in &created {
            let t = store.table(object).unwrap();
            for id in ids {
                let row = &t.rows[t.find(id).unwrap() as usize];
                for (i, f) in
                    t.def.fields.iter().enumerate().skip(crate::fake_org::schema::SYSTEM_FIELDS)
                {
                    assert!(
                        !f.required || !row.own(i).is_blank(),
                        "{object} {id} has no {}",
                        f.name
                    );
                }
            }
        }
        let roles = &created["OpportunityContactRole"];
        let t = store.table("OpportunityContactRole").unwrap();
        let opp = t.def.field_index("OpportunityId").unwrap();
        let first = &t.rows[t.find(&roles[0]).unwrap() as usize];
        assert!(first.own(opp).as_text().is_some_and(|id| id.starts_with("006")));
    }
}
