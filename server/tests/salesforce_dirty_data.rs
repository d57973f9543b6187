//! The local org's dirty data and activity, read by the real inbound engine: the messages the
//! generator's rows and the simulator's events must lead to, with the store and the org running
//! for real (SQLite file, org on 127.0.0.1:0).

use app::domain::{ObjectType, Trigger};
use app::store::Db;
use rand::rngs::StdRng;
use rand::SeedableRng;
use server::conversion::changes::{self, ContactInput};
use server::fake_org::simulator::{self, Activity};
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{inbound, outbound, Engine, EngineConfig};

mod common;
use common::Setup;

async fn setup(records: usize) -> Setup {
    common::setup(records, EngineConfig::default()).await
}

async fn backfill_all(engine: &Engine) {
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none(), "{object}: {:?}", out.failure);
    }
}

/// (message code, detail, Salesforce id) of every record with a message.
async fn messages(db: &Db) -> Vec<(String, Option<String>, Option<String>)> {
    app::on_db!(db, |p| {
        sqlx::query_as("SELECT message_code, detail, salesforce_id FROM run_records WHERE message_code IS NOT NULL")
        .fetch_all(p)
        .await
        .unwrap()
    })
}

#[tokio::test]
async fn generated_rows_fail_to_encode_and_user_ids_that_match_nobody_find_no_contact() {
    let s = setup(6_000).await;
    backfill_all(&s.engine).await;
    let seen = messages(&s.pool).await;
    let event_name = |id: &str| {
        s.org.with_store(|st| {
            let t = st.table("Conversion_Event__c").unwrap();
            let i = t.def.field_index("Event_Name__c").unwrap();
            t.rows[t.find(id).unwrap() as usize].own(i).as_text().map(str::to_string)
        })
    };
    let encode: Vec<_> = seen.iter().filter(|m| m.0 == "encode_failed").collect();
    assert!(!encode.is_empty(), "no encode_failed among {} messages", seen.len());
    for (_, detail, sf) in &encode {
        assert!(detail.as_deref().is_some_and(|d| d.contains("NUL")), "{detail:?}");
        assert!(event_name(sf.as_deref().unwrap()).is_some_and(|n| n.contains('\0')));
    }
    // An event that only has a user ID nobody has: no contact found.
    let only_user = s.org.with_store(|st| {
        let t = st.table("Conversion_Event__c").unwrap();
        let f = |n| t.def.field_index(n).unwrap();
        let (user, email, contact) = (f("User_Id__c"), f("Email__c"), f("Contact__c"));
        t.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                !r.deleted
                    && r.own(user).as_text().is_some()
                    && r.own(email).is_blank()
                    && r.own(contact).is_blank()
            })
            .map(|(i, _)| t.id_of(i as u32))
            .collect::<Vec<_>>()
    });
    assert!(!only_user.is_empty());
    for id in &only_user {
        let m = seen.iter().find(|m| m.2.as_deref() == Some(id.as_str()));
        assert!(
            m.is_some_and(|m| [
                "contact_not_found",
                "missing_event_name",
                "invalid_timestamp",
                "malformed_data"
            ]
            .contains(&m.0.as_str())),
            "{id}: {m:?}"
        );
    }
    assert!(only_user.iter().any(|id| seen
        .iter()
        .any(|m| m.2.as_deref() == Some(id.as_str()) && m.0 == "contact_not_found")));
    s.org.shutdown().await;
}

#[tokio::test]
async fn a_simulated_event_naming_a_conversion_contact_by_email_with_another_user_id_conflicts() {
    let s = setup(0).await;
    // A contact made in Conversion, with the product's user ID, pushed to the org.
    let now = chrono::Utc::now().timestamp_millis();
    let input = ContactInput {
        email: Some("made.in.conversion@example.org".into()),
        user_id: Some("u_conversion_1".into()),
        last_name: Some("Conversion".into()),
        ..Default::default()
    };
    changes::create_contact(&s.pool, &s.ws, &input, now).await.unwrap();
    let pushed = outbound::push_pending(&s.engine).await.unwrap();
    assert!(pushed.failure.is_none() && pushed.records == 1, "{pushed:?}");

    // People work in the org until one of them logs an event for that contact with a user ID.
    let mut rng = StdRng::seed_from_u64(5);
    let event = s.org.with_store_mut(|st| {
        (0..2_000u64).find_map(|n| match simulator::step(st, &mut rng, now + n as i64, n) {
            Activity::Created { object: "Conversion_Event__c", id } => {
                let t = st.table("Conversion_Event__c").unwrap();
                let user = t.def.field_index("User_Id__c").unwrap();
                t.rows[t.find(&id).unwrap() as usize].own(user).as_text().map(|_| id.clone())
            }
            _ => None,
        })
    });
    let event =
        event.expect("the simulator logs an event with a user ID for a contact made in Conversion");
    inbound::sync_object(&s.engine, ObjectType::Event, Trigger::Manual).await.unwrap();
    let seen = messages(&s.pool).await;
    let m =
        seen.iter().find(|m| m.2.as_deref() == Some(event.as_str())).expect("the event was read");
    assert_eq!(m.0, "conflicting_identifier");
    assert!(m.1.as_deref().is_some_and(|d| d.contains("u_conversion_1")), "{m:?}");
    s.org.shutdown().await;
}
