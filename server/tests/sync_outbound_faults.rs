//! Outbound against the local org's faults, with the store and the org running for real (SQLite
//! file, or a PostgreSQL database with `SYNC_TEST_DATABASE`; org on 127.0.0.1:0):
//!
//! - contacts deleted in Conversion while the push carrying their create is in flight are deleted
//!   in Salesforce too, the activity shows the deletes, and the next inbound sync does not bring
//!   them back;
//! - records that failed for a reason that can pass ("Record locked", "Insufficient
//!   permissions") are pushed again by later runs, each attempt with its own record row, until
//!   they succeed or use up their attempts. Time is the engine's clock, moved by the test.

use app::domain::{ObjectType, Trigger};
use app::state::Clock;
use app::store::testing::TestDb;
use app::store::{Db, WorkspaceId};
use server::conversion::changes::{self, CompanyInput, ContactInput};
use server::fake_org::{FakeOrg, FaultCommand};
use server::sync::batching::RecordRetry;
use server::sync::mapping::INBOUND_ORDER;
use server::sync::{inbound, outbound, Engine, EngineConfig};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{wait_for, ManualClock};

/// An engine on a fresh database against a local org, on a clock the test moves.
struct Bench {
    org: FakeOrg,
    engine: Engine,
    pool: Db,
    ws: WorkspaceId,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    _guard: Option<TestDb>,
}

impl Bench {
    async fn new(records: usize, config: EngineConfig) -> Bench {
        let clock = ManualClock::now();
        let common::Setup { org, engine, pool, ws, dir, guard } =
            common::setup_on(records, config, clock.clone()).await;
        Bench { org, engine, pool, ws, clock, _dir: dir, _guard: guard }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Moves the clock on by `d`.
    fn wait(&self, d: Duration) {
        self.clock.advance(d.as_millis() as i64);
    }

    /// A push a moment later (runs are ordered by their start).
    async fn push(&self) -> outbound::OutboundOutcome {
        self.wait(Duration::from_millis(1));
        let out = outbound::push_pending(&self.engine).await.unwrap();
        assert!(out.failure.is_none(), "{:?}", out.failure);
        out
    }

    async fn outbox(&self) -> i64 {
        changes::outbox_len(&self.pool, &self.ws).await.unwrap()
    }
}

/// One outbound record of a Conversion record: its run, status, action, message code and detail.
type Attempt = (uuid::Uuid, String, String, Option<String>, Option<String>);

/// Every outbound record of `conversion_id`, oldest run first.
async fn attempts(db: &Db, conversion_id: &str) -> Vec<Attempt> {
    app::on_db!(db, |p| {
        sqlx::query_as(
        "SELECT s.id, r.status, r.action, r.message_code, r.detail FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
         WHERE s.direction = 'outbound' AND r.conversion_id = $1 ORDER BY s.started_at, s.id, r.seq",
    )
    .bind(conversion_id)
    .fetch_all(p)
    .await
    .unwrap()
    })
}

fn outcome(a: &Attempt) -> (&str, &str, Option<&str>) {
    (a.1.as_str(), a.2.as_str(), a.3.as_deref())
}

fn detail(a: &Attempt) -> &str {
    a.4.as_deref().unwrap_or("")
}

fn contact(email: &str) -> ContactInput {
    ContactInput {
        email: Some(email.into()),
        last_name: Some("Retry".into()),
        ..Default::default()
    }
}

async fn salesforce_id(db: &Db, table: &str, id: &str) -> String {
    let sql = format!("SELECT salesforce_id FROM {table} WHERE id = $1");
    let (sf,): (Option<String>,) =
        app::on_db!(db, |p| sqlx::query_as(&sql).bind(id).fetch_one(p).await.unwrap());
    sf.expect("pushed, so it has a Salesforce id")
}

/// A field of the org's record `id` of `sobject`, read from its store.
fn org_field(org: &FakeOrg, sobject: &str, id: &str, field: &str) -> Option<String> {
    org.with_store(|s| {
        let t = s.table(sobject).unwrap();
        let row = t.find(id)?;
        t.get(row, t.def.field_index(field)?).as_text().map(str::to_string)
    })
}

fn retries(attempts: u32) -> EngineConfig {
    let record_retry = RecordRetry {
        attempts,
        locked_base: Duration::from_secs(10),
        access_base: Duration::from_secs(600),
        max: Duration::from_secs(3_600),
    };
    EngineConfig { record_retry, ..EngineConfig::default() }
}

#[tokio::test]
async fn a_locked_record_is_pushed_again_with_backoff_until_it_succeeds() {
    let b = Bench::new(300, retries(4)).await;
    let id = changes::create_contact(&b.pool, &b.ws, &contact("locked@example.org"), b.now())
        .await
        .unwrap();
    b.push().await;
    let sf = salesforce_id(&b.pool, "conversion_contacts", &id).await;

    // Another update holds the record: the push fails with Record locked, after the client's own
    // quick retries, and the change stays queued instead of being dropped.
    b.org.apply_fault(FaultCommand::LockRecords { ids: vec![sf.clone()], attempts: None });
    changes::update_contact(
        &b.pool,
        &b.ws,
        &id,
        &ContactInput { title: Some("CTO".into()), ..Default::default() },
        b.now(),
    )
    .await
    .unwrap();
    assert_eq!(b.push().await.records, 1);
    assert_eq!(b.outbox().await, 1, "kept for a retry");
    // Not before its backoff: 10 s, then 20 s.
    assert_eq!(b.push().await.records, 0);
    b.wait(Duration::from_secs(10));
    assert_eq!(b.push().await.records, 1, "second attempt");
    b.wait(Duration::from_secs(19));
    assert_eq!(b.push().await.records, 0, "the second backoff is longer");
    b.wait(Duration::from_secs(1));
    assert_eq!(b.push().await.records, 1, "third attempt");
    // The lock is released: the next attempt goes through.
    b.org.apply_fault(FaultCommand::Unlock);
    b.wait(Duration::from_secs(40));
    assert_eq!(b.push().await.records, 1, "fourth attempt");
    assert_eq!(b.outbox().await, 0);
    assert_eq!(org_field(&b.org, "Contact", &sf, "Title").as_deref(), Some("CTO"));

    // The activity shows every attempt, each in its own run.
    let all = attempts(&b.pool, &id).await;
    let got: Vec<_> = all.iter().map(outcome).collect();
    let locked = ("failed", "updated", Some("record_locked"));
    assert_eq!(
        got,
        vec![("success", "created", None), locked, locked, locked, ("success", "updated", None)]
    );
    let mut runs: Vec<_> = all.iter().map(|a| a.0).collect();
    runs.dedup();
    assert_eq!(runs.len(), 5, "one run per attempt");
    assert!(detail(&all[1]).starts_with("UNABLE_TO_LOCK_ROW"), "{}", detail(&all[1]));
    assert!(
        detail(&all[1]).ends_with("Attempt 1 of 4: pushed again in 10 s."),
        "{}",
        detail(&all[1])
    );
    assert!(
        detail(&all[2]).ends_with("Attempt 2 of 4: pushed again in 20 s."),
        "{}",
        detail(&all[2])
    );
    assert!(
        detail(&all[3]).ends_with("Attempt 3 of 4: pushed again in 40 s."),
        "{}",
        detail(&all[3])
    );
    b.org.shutdown().await;
}

#[tokio::test]
async fn a_record_that_stays_locked_stays_failed_after_its_last_attempt() {
    let b = Bench::new(300, retries(3)).await;
    let id = changes::create_contact(&b.pool, &b.ws, &contact("stuck@example.org"), b.now())
        .await
        .unwrap();
    b.push().await;
    let sf = salesforce_id(&b.pool, "conversion_contacts", &id).await;
    b.org.apply_fault(FaultCommand::LockRecords { ids: vec![sf.clone()], attempts: None });
    changes::update_contact(
        &b.pool,
        &b.ws,
        &id,
        &ContactInput { title: Some("CFO".into()), ..Default::default() },
        b.now(),
    )
    .await
    .unwrap();
    for wait in [0, 10, 20] {
        b.wait(Duration::from_secs(wait));
        assert_eq!(b.push().await.records, 1);
    }
    assert_eq!(b.outbox().await, 0, "no attempt left: the change leaves the queue");
    b.wait(Duration::from_secs(24 * 3_600));
    assert_eq!(b.push().await.records, 0, "and is not pushed again");
    let all = attempts(&b.pool, &id).await;
    assert_eq!(all.len(), 4);
    assert_eq!(
        outcome(&all[3]),
        ("failed", "updated", Some("record_locked")),
        "the record stays failed"
    );
    assert!(detail(&all[3]).ends_with("Attempt 3 of 3: not pushed again."), "{}", detail(&all[3]));
    assert_ne!(org_field(&b.org, "Contact", &sf, "Title").as_deref(), Some("CFO"));
    b.org.shutdown().await;
}

#[tokio::test]
async fn records_refused_for_permissions_are_pushed_again_when_access_returns() {
    let b = Bench::new(300, retries(4)).await;
    let company = |name: &str| CompanyInput { name: Some(name.into()), ..Default::default() };
    // The integration user may not write accounts: the new company fails, and waits.
    b.org.apply_fault(FaultCommand::MakeReadonly { object: "Account".into() });
    let held = changes::create_company(&b.pool, &b.ws, &company("Held Co"), b.now()).await.unwrap();
    assert_eq!(b.push().await.records, 1);
    assert_eq!(b.outbox().await, 1);

    // Access is restored, and the next company pushed goes through: the waiting one follows in
    // the next push, long before its 10-minute backoff is over.
    b.org.apply_fault(FaultCommand::MakeReadable { object: "Account".into() });
    let fresh =
        changes::create_company(&b.pool, &b.ws, &company("Fresh Co"), b.now()).await.unwrap();
    assert_eq!(
        b.push().await.records,
        1,
        "only the new company: the held one waits for the next pass"
    );
    assert_eq!(b.push().await.records, 1, "the held company, at once");
    assert_eq!(b.outbox().await, 0);
    let all = attempts(&b.pool, &held).await;
    let got: Vec<_> = all.iter().map(outcome).collect();
    assert_eq!(
        got,
        vec![("failed", "created", Some("insufficient_permissions")), ("success", "created", None)]
    );
    assert!(
        detail(&all[0]).ends_with(
            "Attempt 1 of 4: pushed again once a push of companies succeeds, or in 10 min."
        ),
        "{}",
        detail(&all[0])
    );
    let sf = salesforce_id(&b.pool, "conversion_companies", &held).await;
    assert_eq!(org_field(&b.org, "Account", &sf, "Name").as_deref(), Some("Held Co"));
    assert_eq!(attempts(&b.pool, &fresh).await.len(), 1);

    // With nothing else to push, the slower backoff finds the access restored.
    b.org.apply_fault(FaultCommand::MakeReadonly { object: "Account".into() });
    let later =
        changes::create_company(&b.pool, &b.ws, &company("Later Co"), b.now()).await.unwrap();
    assert_eq!(b.push().await.records, 1);
    b.org.apply_fault(FaultCommand::MakeReadable { object: "Account".into() });
    b.wait(Duration::from_secs(599));
    assert_eq!(b.push().await.records, 0, "not before its backoff");
    b.wait(Duration::from_secs(1));
    assert_eq!(b.push().await.records, 1);
    let got: Vec<_> =
        attempts(&b.pool, &later).await.iter().map(|a| outcome(a).0.to_string()).collect();
    assert_eq!(got, vec!["failed", "success"]);
    b.org.shutdown().await;
}

#[tokio::test]
async fn a_delete_whose_look_up_is_refused_waits_without_holding_up_other_changes() {
    let b = Bench::new(300, retries(4)).await;
    // Created and deleted before any push: Conversion has no Salesforce id, so the delete looks
    // the contact up first, and the integration user may not read contacts.
    let gone = changes::create_contact(&b.pool, &b.ws, &contact("gone@example.org"), b.now())
        .await
        .unwrap();
    changes::delete_contact(&b.pool, &b.ws, &gone, b.now()).await.unwrap();
    let company = changes::create_company(
        &b.pool,
        &b.ws,
        &CompanyInput { name: Some("Behind Co".into()), ..Default::default() },
        b.now(),
    )
    .await
    .unwrap();
    b.org.apply_fault(FaultCommand::MakeUnreadable { object: "Contact".into() });
    let out = b.push().await;
    assert_eq!(out.runs.len(), 2, "the contact's run does not stop the company's");
    assert_eq!(
        attempts(&b.pool, &company).await.iter().map(outcome).collect::<Vec<_>>(),
        vec![("success", "created", None)]
    );
    let held = attempts(&b.pool, &gone).await;
    assert_eq!(
        held.iter().map(outcome).collect::<Vec<_>>(),
        vec![("failed", "deleted", Some("insufficient_permissions"))]
    );
    assert_eq!(b.outbox().await, 2, "its create and delete wait for access");

    // Readable again: the look-up finds nothing (the create never reached Salesforce), and the
    // delete leaves the queue with nothing more to do there.
    b.org.apply_fault(FaultCommand::MakeReadable { object: "Contact".into() });
    b.wait(Duration::from_secs(600));
    b.push().await;
    assert_eq!(b.outbox().await, 0);
    assert_eq!(attempts(&b.pool, &gone).await.len(), 1);
    b.org.shutdown().await;
}

/// The org's Contact rows whose `Conversion_Id__c` is `conversion_id`: (Salesforce id, deleted).
fn org_contacts(org: &FakeOrg, conversion_id: &str) -> Vec<(String, bool)> {
    org.with_store(|s| {
        let t = s.table("Contact").unwrap();
        let field = t.def.field_index("Conversion_Id__c").unwrap();
        (0..t.rows.len() as u32)
            .filter(|&r| t.get(r, field).as_text() == Some(conversion_id))
            .map(|r| (t.id_of(r), t.rows[r as usize].deleted))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_deleted_while_their_create_is_in_flight_are_deleted_in_salesforce_and_stay_deleted(
) {
    let s = common::setup(1_500, EngineConfig::default()).await;
    for object in INBOUND_ORDER {
        let out = inbound::sync_object(&s.engine, object, Trigger::Scheduled).await.unwrap();
        assert!(out.failure.is_none() && out.backfill_finished, "{object}");
    }
    let now = chrono::Utc::now().timestamp_millis();
    // Half with an account in Salesforce: those are what an inbound sync would bring back.
    let companies: Vec<(String,)> = app::on_db!(&s.pool, |p| {
        sqlx::query_as(
        "SELECT id FROM conversion_companies WHERE salesforce_id IS NOT NULL ORDER BY id LIMIT 3",
    )
    .fetch_all(p)
    .await
    .unwrap()
    });
    let mut ids = Vec::new();
    for i in 0..6 {
        let input = ContactInput {
            email: Some(format!("in.flight.{i}@example.org")),
            last_name: Some(format!("Flight {i}")),
            company_id: (i % 2 == 0).then(|| companies[i / 2].0.clone()),
            ..Default::default()
        };
        ids.push(changes::create_contact(&s.pool, &s.ws, &input, now).await.unwrap());
    }
    // A seventh is created and deleted before any push: it never reaches Salesforce.
    let never = changes::create_contact(&s.pool, &s.ws, &contact("never.pushed@example.org"), now)
        .await
        .unwrap();
    changes::delete_contact(&s.pool, &s.ws, &never, now).await.unwrap();

    // The org writes the batch at once and holds its answer: the six are in Salesforce, their ids
    // not yet in Conversion, when they are deleted there.
    s.org.apply_fault(FaultCommand::DelayResponses { ms: 5_000 });
    let engine = s.engine.clone();
    let push = tokio::spawn(async move { outbound::push_pending(&engine).await });
    let written = wait_for(Duration::from_secs(30), || async {
        ids.iter().all(|id| !org_contacts(&s.org, id).is_empty())
    })
    .await;
    assert!(written, "the org wrote the creates");
    for id in &ids {
        changes::delete_contact(&s.pool, &s.ws, id, now).await.unwrap();
    }
    assert!(!push.is_finished(), "the deletes were made while the push was in flight");
    s.org.apply_fault(FaultCommand::DelayResponses { ms: 0 });
    let pass = push.await.unwrap().unwrap();
    assert!(pass.failure.is_none());

    // Once the creates' answer is in, the same pass deletes them in Salesforce, in a run of its own.
    assert_eq!(pass.runs.len(), 2, "the creates' run, then the deletes'");
    assert_eq!(pass.records, 12);
    assert_eq!(changes::outbox_len(&s.pool, &s.ws).await.unwrap(), 0);
    for id in &ids {
        let rows = org_contacts(&s.org, id);
        assert_eq!(rows.len(), 1, "{id}: created once");
        assert!(rows[0].1, "{id}: deleted in Salesforce");
        // The activity shows the create, then the delete of the same Salesforce contact.
        let got: Vec<(String, String, Option<String>)> = app::on_db!(&s.pool, |p| {
            sqlx::query_as(
            "SELECT r.action, r.status, r.salesforce_id FROM run_records r JOIN sync_runs s ON s.id = r.run_id \
             WHERE s.direction = 'outbound' AND r.conversion_id = $1 ORDER BY s.started_at, s.id, r.seq",
        )
        .bind(id)
        .fetch_all(p)
        .await
        .unwrap()
        });
        let sf = Some(rows[0].0.clone());
        assert_eq!(
            got,
            vec![
                ("created".into(), "success".into(), sf.clone()),
                ("deleted".into(), "success".into(), sf)
            ],
            "{id}"
        );
    }
    assert!(
        org_contacts(&s.org, &never).is_empty(),
        "a create deleted before its push is never sent"
    );
    assert!(
        attempts(&s.pool, &never).await.is_empty(),
        "and nothing happened in Salesforce to report"
    );

    // The next inbound sync reads the deletes and brings none of the contacts back.
    let out = inbound::sync_object(&s.engine, ObjectType::Contact, Trigger::Manual).await.unwrap();
    assert!(out.failure.is_none());
    let (back,): (i64,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT COUNT(*) FROM conversion_contacts WHERE email LIKE 'in.flight.%'"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(back, 0, "no deleted contact is back in Conversion");
    s.org.shutdown().await;
}
