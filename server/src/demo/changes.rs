//! Demo activity on Conversion's side: contacts, companies and events created and edited at a
//! steady pace through the same functions the JSON API calls, so outbound runs keep appearing.

use crate::conversion::changes::{self, CompanyInput, ContactInput, EventInput};
use crate::sync::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

const FIRST: &[&str] = &["Ava", "Ben", "Cleo", "Dev", "Ezra", "Fay", "Gio", "Hal"];
const TITLES: &[&str] = &["Founder", "Head of Growth", "Marketing Ops", "RevOps Lead", "Designer"];
const EVENTS: &[&str] = &["Signed up", "Started trial", "Upgraded plan", "Invited teammate"];

/// Makes one change every `every` until cancelled.
pub async fn run(engine: Engine, every: Duration, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut serial: u64 = 0;
    let mut contacts: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            _ = engine.cancel_token().cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        serial += 1;
        let (pool, ws, now) = (engine.pool(), engine.workspace(), engine.now_ms());
        let roll = rng.gen_range(0..100);
        let result = if roll < 35 || contacts.is_empty() {
            let first = FIRST[rng.gen_range(0..FIRST.len())];
            let input = ContactInput {
                email: Some(format!(
                    "{}.{serial}.{now}@conversion-demo.example.com",
                    first.to_lowercase()
                )),
                first_name: Some(first.into()),
                last_name: Some(format!("Demo {serial}")),
                title: Some(TITLES[rng.gen_range(0..TITLES.len())].into()),
                user_id: Some(format!("u_{now}_{serial}")),
                ..Default::default()
            };
            changes::create_contact(pool, ws, &input, now).await.map(|id| contacts.push(id))
        } else if roll < 70 {
            let id = &contacts[rng.gen_range(0..contacts.len())];
            let input = ContactInput {
                title: Some(TITLES[rng.gen_range(0..TITLES.len())].into()),
                ..Default::default()
            };
            changes::update_contact(pool, ws, id, &input, now).await
        } else if roll < 85 {
            let id = &contacts[rng.gen_range(0..contacts.len())];
            let input = EventInput {
                name: Some(EVENTS[rng.gen_range(0..EVENTS.len())].into()),
                contact_id: Some(id.clone()),
                properties: Some(serde_json::json!({ "plan": "pro", "serial": serial })),
                ..Default::default()
            };
            changes::record_event(pool, ws, &input, now).await.map(|_| ())
        } else {
            let input = CompanyInput {
                name: Some(format!("Demo Company {serial}")),
                website: Some("https://example.com".into()),
                industry: Some("Technology".into()),
            };
            changes::create_company(pool, ws, &input, now).await.map(|_| ())
        };
        match result {
            Ok(()) => engine.outbox_changed(),
            // A contact deleted meanwhile (by an inbound sync) is simply forgotten.
            Err(changes::ChangeError::NotFound(_)) => contacts.clear(),
            Err(e) => tracing::warn!(error = %e, "demo change refused"),
        }
        if contacts.len() > 200 {
            contacts.drain(..100);
        }
    }
}
