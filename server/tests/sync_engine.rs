//! The sync engine with the store and the local org running for real (SQLite file, or a
//! PostgreSQL database with `SYNC_TEST_DATABASE`; org on 127.0.0.1:0): batching, every inbound
//! message from its data, whole-run failures from the org's fault controls with nothing lost,
//! outbound messages, and the overlap's de-duplication.

use app::domain::{ObjectType, RecordMessage, Trigger};
use app::store::conversion as cstore;
use app::store::Db;
use server::conversion::changes::{self, CompanyInput, ContactInput};
use server::fake_org::{FakeOrg, FaultCommand, RuleCondition, ValidationRule};
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{inbound, outbound, state, Engine, EngineConfig};
use std::collections::BTreeSet;

mod common;
use common::{setup as engine_setup, Setup};

fn small(batch: usize, backfill: usize, page: u32) -> EngineConfig {
    EngineConfig {
        batch_size: batch,
        backfill_batch_size: backfill,
        page_size: page,
        ..EngineConfig::default()
    }
}

/// (trigger, status, processed, failure code) of every run of an object, oldest first.
async fn runs(db: &Db, object: ObjectType) -> Vec<(String, String, i64, Option<String>)> {
    app::on_db!(db, |p| {
        sqlx::query_as(
        "SELECT trigger, status, created + updated + deleted + skipped + failed, failure_code FROM sync_runs \
         WHERE object_type = $1 AND direction = 'inbound' ORDER BY id",
    )
    .bind(object.as_str())
    .fetch_all(p)
    .await
    .unwrap()
    })
}

async fn messages(db: &Db) -> BTreeSet<String> {
    let rows: Vec<(String,)> = app::on_db!(db, |p| sqlx::query_as(
        "SELECT DISTINCT message_code FROM run_records WHERE message_code IS NOT NULL",
    )
    .fetch_all(p)
    .await
    .unwrap());
    rows.into_iter().map(|r| r.0).collect()
}

async fn backfill_all(engine: &Engine) {
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none(), "{object}: {:?}", out.failure);
        assert!(out.backfill_finished, "{object}");
    }
}

fn live_count(org: &FakeOrg, object: ObjectType) -> usize {
    org.with_store(|s| s.table(object.sobject()).unwrap().live_count())
}

/// Sets SystemModstamp of the first `n` live rows of `sobject` to `now`, as an edit would.
fn touch(org: &FakeOrg, sobject: &str, n: usize, now: i64) -> usize {
    org.with_store_mut(|s| {
        let t = s.table_mut(sobject).unwrap();
        let mut done = 0;
        for row in t.rows.iter_mut().filter(|r| !r.deleted).take(n) {
            row.modified = now;
            done += 1;
        }
        done
    })
}

#[tokio::test]
async fn backfill_splits_into_batches_and_reports_every_org_record_once() {
    let s = engine_setup(6_000, small(500, 1_000, 200)).await;
    backfill_all(&s.engine).await;
    for object in INBOUND_ORDER {
        let live = live_count(&s.org, object);
        let r = runs(&s.pool, object).await;
        assert_eq!(r.len(), live.div_ceil(1_000), "{object}: one backfill run per 1,000");
        assert!(
            r.iter().all(|(t, st, _, _)| t == "backfill" && st == "completed"),
            "{object}: {r:?}"
        );
        assert!(r.iter().rev().skip(1).all(|(_, _, n, _)| *n == 1_000), "{object}: full batches");
        assert_eq!(
            r.iter().map(|x| x.2).sum::<i64>() as usize,
            live,
            "{object}: every live record once"
        );
    }
    // Nothing changed: a second sync reads the overlap again, drops it, and makes no run.
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(&s.engine, object, Trigger::Manual).await.unwrap();
        assert_eq!(out.records, 0, "{object}");
        assert!(out.runs.is_empty(), "{object}");
    }
    // Conversion holds exactly the records that synced.
    let (ok,): (i64,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT COUNT(*) FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
        WHERE s.object_type = 'company' AND r.status = 'success'",
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(cstore::count(&s.pool, &s.ws, ObjectType::Company).await.unwrap(), ok);
    s.org.shutdown().await;
}

#[tokio::test]
async fn steady_state_splits_at_the_batch_size_and_shared_stamps_cross_pages() {
    let s = engine_setup(
        12_000,
        EngineConfig { batch_size: 1_000, page_size: 200, ..EngineConfig::default() },
    )
    .await;
    backfill_all(&s.engine).await;
    // 2,500 contacts edited in one transaction: all share one SystemModstamp, across 13 pages.
    let now = chrono::Utc::now().timestamp_millis();
    let touched = touch(&s.org, "Contact", 2_500, now);
    assert_eq!(touched, 2_500);
    let out = inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert_eq!(out.records, 2_500);
    let r = runs(&s.pool, ObjectType::Contact).await;
    let steady: Vec<_> = r.iter().filter(|x| x.0 == "manual").collect();
    assert_eq!(steady.iter().map(|x| x.2).collect::<Vec<_>>(), vec![1_000, 1_000, 500]);
    // Read again: all 2,500 lie in the overlap and are recognised, none counted twice.
    let again =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert_eq!(again.records, 0);
    // A transaction that committed late: a stamp just before the cursor is still picked up.
    touch(&s.org, "Contact", 1, now - 1_000);
    let late = inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert_eq!(late.records, 1);
    s.org.shutdown().await;
}

#[tokio::test]
async fn every_data_driven_inbound_message_comes_from_its_condition() {
    let s = engine_setup(6_000, EngineConfig::default()).await;
    // Sync rules exclude a domain the generator uses.
    let settings = state::Settings {
        excluded_domains: vec!["hooli.example.com".into()],
        ..state::Settings::default()
    };
    state::save_settings(&s.pool, &s.ws, &settings).await.unwrap();
    backfill_all(&s.engine).await;
    let seen = messages(&s.pool).await;
    for m in [
        RecordMessage::MissingEmail,
        RecordMessage::InvalidEmail,
        RecordMessage::LeadConverted,
        RecordMessage::DoNotSync,
        RecordMessage::NoAccountAssociation,
        RecordMessage::OpportunityNotFound,
        RecordMessage::MissingIdentifier,
        RecordMessage::ContactNotFound,
        RecordMessage::ConflictingIdentifier,
        RecordMessage::MissingEventName,
        RecordMessage::InvalidTimestamp,
        RecordMessage::MalformedData,
    ] {
        assert!(seen.contains(m.code()), "{} never produced; got {seen:?}", m.code());
    }
    // Outdated record: Conversion has newer data for an ID than what Salesforce now sends.
    let (sf, stamp): (String, i64) = app::on_db!(&s.pool, |p| {
        sqlx::query_as("SELECT salesforce_id, external_updated_at FROM conversion_contacts WHERE salesforce_object = 'Contact' LIMIT 1")
        .fetch_one(p).await.unwrap()
    });
    app::on_db!(&s.pool, |p| {
        sqlx::query(
            "UPDATE conversion_contacts SET external_updated_at = $1 WHERE salesforce_id = $2",
        )
        .bind(stamp + 3_600_000 * 24 * 400)
        .bind(&sf)
        .execute(p)
        .await
        .unwrap();
    });
    let now = chrono::Utc::now().timestamp_millis();
    s.org.with_store_mut(|st| {
        let t = st.table_mut("Contact").unwrap();
        let r = t.find(&sf).unwrap();
        t.rows[r as usize].modified = now;
    });
    // Write mode mismatch: update-only, and a brand-new lead.
    let settings = state::Settings { update_only: true, ..settings };
    state::save_settings(&s.pool, &s.ws, &settings).await.unwrap();
    inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    s.org.client().unwrap().create(&[serde_json::json!({"attributes": {"type": "Lead"}, "LastName": "New", "Company": "X", "Email": "new.lead@x.example.com"})]).await.unwrap();
    inbound::sync_object(&s.engine, ObjectType::Lead, Trigger::Manual).await.unwrap();
    let seen = messages(&s.pool).await;
    assert!(seen.contains("outdated_record"), "{seen:?}");
    assert!(seen.contains("write_mode_mismatch"), "{seen:?}");
    // A deletion arrives through queryAll and counts as deleted.
    let before = cstore::count(&s.pool, &s.ws, ObjectType::Company).await.unwrap();
    let (victim,): (String,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT salesforce_id FROM conversion_companies LIMIT 1"
    )
    .fetch_one(p)
    .await
    .unwrap());
    s.org.client().unwrap().delete_record("Account", &victim).await.unwrap();
    let out = inbound::sync_object(&s.engine, ObjectType::Company, Trigger::Manual).await.unwrap();
    assert_eq!(out.records, 1);
    assert_eq!(cstore::count(&s.pool, &s.ws, ObjectType::Company).await.unwrap(), before - 1);
    s.org.shutdown().await;
}

#[tokio::test]
async fn whole_run_failures_lose_nothing() {
    let s = engine_setup(3_000, small(5_000, 50_000, 200)).await;
    backfill_all(&s.engine).await;
    let now = chrono::Utc::now().timestamp_millis();
    touch(&s.org, "Contact", 300, now);
    let cursor_before = state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap();

    let cases = [
        (
            FaultCommand::MakeUnreadable { object: "Contact".into() },
            "insufficient_permissions",
            FaultCommand::MakeReadable { object: "Contact".into() },
        ),
        (FaultCommand::ExhaustDailyLimit, "api_limit_exceeded", FaultCommand::ResetDailyLimit),
        (FaultCommand::FailNext { count: 50 }, "unknown_error", FaultCommand::Clear),
    ];
    for (fault, code, undo) in cases {
        s.org.apply_fault(fault);
        let out =
            inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
        let failure = out.failure.expect("the run fails as a whole");
        assert_eq!(failure.message.code(), code);
        assert_eq!(
            state::load_cursor(&s.pool, &s.ws, ObjectType::Contact).await.unwrap(),
            cursor_before,
            "cursor unmoved"
        );
        s.org.apply_fault(undo);
    }
    // The limit paused calls; a person (or the reset) clears it.
    assert!(!s.engine.may_call().await.unwrap());
    s.engine.reconnected().await.unwrap();
    // Nothing was lost: the 300 edits arrive, once.
    let out = inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert!(out.failure.is_none());
    assert_eq!(out.records, 300);
    // Authentication: the refresh fails, the connection needs reconnecting.
    s.org.apply_fault(FaultCommand::RevokeTokens);
    s.org.apply_fault(FaultCommand::ExpireSessions);
    let out = inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert_eq!(out.failure.unwrap().message.code(), "authentication_failure");
    let c = state::connection(&s.pool, &s.ws).await.unwrap();
    assert!(c.needs_reconnect());
    assert!(!s.engine.may_call().await.unwrap());

    s.org.shutdown().await;
}

async fn push(s: &Setup) -> outbound::OutboundOutcome {
    outbound::push_pending(&s.engine).await.unwrap()
}

async fn outbound_records(db: &Db) -> Vec<(String, String, Option<String>)> {
    app::on_db!(db, |p| {
        sqlx::query_as("SELECT r.status, r.action, r.message_code FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
        WHERE s.direction = 'outbound' ORDER BY s.id, r.seq").fetch_all(p).await.unwrap()
    })
}

#[tokio::test]
async fn outbound_pushes_and_maps_every_record_message() {
    let s = engine_setup(1_000, EngineConfig::default()).await;
    backfill_all(&s.engine).await;
    let now = chrono::Utc::now().timestamp_millis();
    let contact = |email: &str, last: Option<&str>, title: Option<String>| ContactInput {
        email: Some(email.into()),
        last_name: last.map(str::to_string),
        title,
        ..Default::default()
    };
    // Created, then the org has it by Conversion's id.
    let id = changes::create_contact(
        &s.pool,
        &s.ws,
        &contact("push.ok@example.org", Some("Ok"), None),
        now,
    )
    .await
    .unwrap();
    let out = push(&s).await;
    assert_eq!(out.records, 1);
    assert!(out.failure.is_none());
    let (sf,): (Option<String>,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT salesforce_id FROM conversion_contacts WHERE id = $1"
    )
    .bind(&id)
    .fetch_one(p)
    .await
    .unwrap());
    let sf = sf.expect("the Salesforce id is stored");
    assert!(s.org.with_store(|st| st.table("Contact").unwrap().find(&sf).is_some()));
    assert_eq!(changes::outbox_len(&s.pool, &s.ws).await.unwrap(), 0);

    // Per-record failures.
    let existing_email: (String,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT email FROM conversion_contacts WHERE salesforce_object = 'Contact' LIMIT 1",
    )
    .fetch_one(p)
    .await
    .unwrap());
    changes::create_contact(&s.pool, &s.ws, &contact("no.last@example.org", None, None), now)
        .await
        .unwrap();
    changes::create_contact(
        &s.pool,
        &s.ws,
        &contact("long@example.org", Some("Long"), Some("x".repeat(300))),
        now,
    )
    .await
    .unwrap();
    changes::create_contact(&s.pool, &s.ws, &contact(&existing_email.0, Some("Dup"), None), now)
        .await
        .unwrap();
    s.org.apply_fault(FaultCommand::AddValidationRule {
        rule: ValidationRule {
            object: "Contact".into(),
            field: "Title".into(),
            condition: RuleCondition::Equals { value: "Intern".into() },
            message: "No interns".into(),
        },
    });
    changes::create_contact(
        &s.pool,
        &s.ws,
        &contact("intern@example.org", Some("In"), Some("Intern".into())),
        now,
    )
    .await
    .unwrap();
    // No fields to update: only Conversion's own user ID changed.
    changes::update_contact(
        &s.pool,
        &s.ws,
        &id,
        &ContactInput { user_id: Some("u-1".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    push(&s).await;
    let got: BTreeSet<String> =
        outbound_records(&s.pool).await.into_iter().filter_map(|r| r.2).collect();
    for code in [
        "required_field_missing",
        "field_length_exceeded",
        "duplicate_record",
        "validation_rule_failure",
        "no_fields_to_update",
    ] {
        assert!(got.contains(code), "{code} missing from {got:?}");
    }
    // Record locked (after the client's retries), read-only object, picklist.
    s.org.apply_fault(FaultCommand::Clear);
    s.org.apply_fault(FaultCommand::LockRecords { ids: vec![sf.clone()], attempts: None });
    changes::update_contact(
        &s.pool,
        &s.ws,
        &id,
        &ContactInput { title: Some("CTO".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    push(&s).await;
    s.org.apply_fault(FaultCommand::Unlock);
    s.org.apply_fault(FaultCommand::MakeReadonly { object: "Account".into() });
    changes::create_company(
        &s.pool,
        &s.ws,
        &CompanyInput { name: Some("Readonly Co".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    push(&s).await;
    s.org.apply_fault(FaultCommand::Clear);
    // Object write disabled.
    let settings = state::Settings { write_contacts: false, ..state::Settings::default() };
    state::save_settings(&s.pool, &s.ws, &settings).await.unwrap();
    changes::update_contact(
        &s.pool,
        &s.ws,
        &id,
        &ContactInput { title: Some("CEO".into()), ..Default::default() },
        now,
    )
    .await
    .unwrap();
    push(&s).await;
    let got: BTreeSet<String> =
        outbound_records(&s.pool).await.into_iter().filter_map(|r| r.2).collect();
    for code in ["record_locked", "insufficient_permissions", "object_write_disabled"] {
        assert!(got.contains(code), "{code} missing from {got:?}");
    }
    // The company refused for permissions waits for its retry; the locked contact's change went
    // with its newer change, skipped while writes are off.
    assert_eq!(changes::outbox_len(&s.pool, &s.ws).await.unwrap(), 1);
    s.org.shutdown().await;
}

#[tokio::test]
async fn outbound_changes_stay_queued_through_a_whole_run_failure() {
    let s = engine_setup(500, EngineConfig::default()).await;
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..5 {
        changes::create_contact(
            &s.pool,
            &s.ws,
            &ContactInput {
                email: Some(format!("q{i}@example.org")),
                last_name: Some("Q".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    }
    s.org.apply_fault(FaultCommand::ExhaustDailyLimit);
    let out = push(&s).await;
    assert_eq!(out.failure.unwrap().message.code(), "api_limit_exceeded");
    assert_eq!(changes::outbox_len(&s.pool, &s.ws).await.unwrap(), 5, "nothing lost");
    s.org.apply_fault(FaultCommand::ResetDailyLimit);
    let out = push(&s).await;
    assert!(out.failure.is_none());
    assert_eq!(out.records, 5);
    assert_eq!(changes::outbox_len(&s.pool, &s.ws).await.unwrap(), 0);
    s.org.shutdown().await;
}

#[tokio::test]
async fn the_same_object_never_syncs_twice_at_once() {
    let s = engine_setup(500, EngineConfig::default()).await;
    let claim = s.engine.claim(ObjectType::Contact).unwrap();
    let err =
        inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap_err();
    assert!(matches!(err, server::sync::SyncError::AlreadyRunning(ObjectType::Contact)));
    drop(claim);
    assert!(inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.is_ok());
    s.org.shutdown().await;
}
