//! A Salesforce record that names a Conversion contact (`Conversion_Id__c`) takes that contact's
//! place only while the contact is linked to no Salesforce record: a copied or edited id cannot
//! repoint and overwrite a contact another record owns. Over the local org's REST API.

use app::domain::{ObjectType, Trigger};
use serde_json::json;
use server::conversion::changes::{self, ContactInput};
use server::salesforce::SalesforceClient;
use server::sync::{inbound, outbound, EngineConfig};

mod common;

#[tokio::test]
async fn a_record_naming_a_linked_contact_is_skipped_and_the_contact_keeps_its_record() {
    let s = common::setup(20, EngineConfig::default()).await;
    let creds = s.org.credentials();
    let sf = SalesforceClient::new(creds.client_config(), &creds.refresh_token).unwrap();
    let sync = || async {
        for object in [ObjectType::Company, ObjectType::Contact] {
            let out = inbound::sync_object(&s.engine, object, Trigger::Scheduled).await.unwrap();
            assert!(out.failure.is_none(), "{:?}", out.failure);
        }
    };
    sync().await;

    // A contact made in Conversion and pushed: Salesforce has it, with Conversion's id.
    let now = chrono::Utc::now().timestamp_millis();
    let input = ContactInput {
        email: Some("owner@acme.example".into()),
        last_name: Some("Owner".into()),
        ..Default::default()
    };
    let id = changes::create_contact(&s.pool, &s.ws, &input, now).await.unwrap();
    let out = outbound::push_pending(&s.engine).await.unwrap();
    assert_eq!((out.records, out.failure), (1, None));
    let linked = || async {
        let row: (Option<String>, String, Option<String>) =
            app::on_db!(&s.pool, |p| sqlx::query_as(
                "SELECT salesforce_id, email, last_name FROM conversion_contacts WHERE id = $1",
            )
            .bind(&id)
            .fetch_one(p)
            .await
            .unwrap());
        row
    };
    let (owner, _, _) = linked().await;
    let owner = owner.expect("linked by the push");
    sync().await;
    assert_eq!(
        linked().await,
        (Some(owner.clone()), "owner@acme.example".into(), Some("Owner".into()))
    );

    // Another Contact made in Salesforce carrying the same Conversion_Id__c (copied, imported).
    let account = sf.create_record("Account", &json!({ "Name": "Intruder Co" })).await.unwrap();
    let intruder = sf
        .create_record(
            "Contact",
            &json!({ "LastName": "Intruder", "Email": "intruder@evil.example",
                     "AccountId": account, "Conversion_Id__c": id }),
        )
        .await
        .unwrap();
    sync().await;

    assert_eq!(
        linked().await,
        (Some(owner.clone()), "owner@acme.example".into(), Some("Owner".into())),
        "the contact keeps its record and its data"
    );
    let (status, message, detail): (String, Option<String>, Option<String>) = app::on_db!(
        &s.pool,
        |p| {
            sqlx::query_as(
        "SELECT status, message_code, detail FROM run_records WHERE salesforce_id = $1 ORDER BY run_id DESC, seq DESC LIMIT 1",
    )
    .bind(&intruder)
    .fetch_one(p)
    .await
    .unwrap()
        }
    );
    assert_eq!((status.as_str(), message.as_deref()), ("skipped", Some("conflicting_identifier")));
    assert!(detail.unwrap().contains(&owner));
    let (copies,): (i64,) = app::on_db!(&s.pool, |p| sqlx::query_as(
        "SELECT COUNT(*) FROM conversion_contacts WHERE salesforce_id = $1"
    )
    .bind(&intruder)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(copies, 0);
}
