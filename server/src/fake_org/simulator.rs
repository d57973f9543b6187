//! Activity in the org by other users: records created, edited and deleted at a steady rate, so
//! that every scheduled sync finds work. Bypasses fault injection on purpose: faults concern the
//! integration user, not the people working in Salesforce.

use super::org::{now_millis, Org};
use super::store::{Row, Store, Value};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One change made by the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Created { object: &'static str, id: String },
    Updated { object: &'static str, id: String },
    Deleted { object: &'static str, id: String },
    /// Nothing to update or delete yet.
    Idle,
}

const OBJECTS: [&str; 2] = ["Lead", "Contact"];

/// Makes one change: 40% creates, 45% updates, 15% deletes, on leads and contacts.
pub fn step(store: &mut Store, rng: &mut StdRng, now: i64, serial: u64) -> Activity {
    let Some(t) = OBJECTS.choose(rng).and_then(|o| store.table_index(o)) else { return Activity::Idle };
    let table = &mut store.tables[t];
    let object = table.def.name;
    let roll = rng.gen_range(0..100);
    if roll < 40 {
        let mut row = Row::blank(&table.def, now);
        let set = |row: &mut Row, name: &str, v: Value| {
            if let Some(i) = table.def.field_index(name) {
                row.set(i, v);
            }
        };
        set(&mut row, "FirstName", Value::text("Sim"));
        set(&mut row, "LastName", Value::text(format!("Activity {serial}")));
        set(&mut row, "Company", Value::text("Simulated Co"));
        set(&mut row, "Status", Value::text("Open - Not Contacted"));
        set(&mut row, "Email", Value::text(format!("sim.{serial}.{now}@activity.example.com")));
        let r = table.insert(row);
        return Activity::Created { object, id: table.id_of(r) };
    }
    // Pick a live row by sampling: cheap on big tables, and tables are mostly live.
    let live = (0..8).map(|_| rng.gen_range(0..table.rows.len().max(1)) as u32).find(|&r| {
        table.rows.get(r as usize).is_some_and(|row| !row.deleted)
    });
    let Some(r) = live else { return Activity::Idle };
    let id = table.id_of(r);
    if roll < 85 {
        let mut row = table.rows[r as usize].clone();
        if let Some(i) = table.def.field_index("Title") {
            row.set(i, Value::text(format!("Title {serial}")));
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
}
