//! Conversion's tables: every synced column lands where its name says, re-syncs overwrite only
//! what Salesforce owns, look-ups find what was written.

use super::synced::{self, *};
use super::*;
use crate::domain::{CompanyField, ContactField};
use crate::store::{ensure_workspace, testing};

const T0: i64 = 1_764_000_000_000;

async fn db() -> (testing::TestDb, WorkspaceId) {
    let pool = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&pool, &ws, "A", T0).await.unwrap();
    (pool, ws)
}

fn row(id: &str, salesforce_id: &str, fields: Fields) -> SyncedRow {
    SyncedRow {
        id: id.into(),
        salesforce_id: salesforce_id.into(),
        external_created_at: Some(T0 + 1),
        external_updated_at: T0 + 2,
        updated_at: T0 + 3,
        fields,
    }
}

/// Values of the contact table's fields, by code.
fn contact(pairs: &[(&str, &str)]) -> Values<ContactField> {
    pairs.iter().map(|(c, v)| (ContactField::parse(c).unwrap(), Some(v.to_string()))).collect()
}

/// Values of the company table's fields, by code.
fn company(pairs: &[(&str, &str)]) -> Values<CompanyField> {
    pairs.iter().map(|(c, v)| (CompanyField::parse(c).unwrap(), Some(v.to_string()))).collect()
}

/// A row of every table, each value distinct, and the value each column must hold (written out by
/// column name, independently of the order the store binds them in).
fn one_of_each() -> Vec<(SyncedRow, Vec<(&'static str, &'static str)>)> {
    let times = |id: &'static str, sf: &'static str| {
        vec![
            ("id", id),
            ("workspace_id", "ws-a"),
            ("salesforce_id", sf),
            ("external_created_at", "1764000000001"),
            ("external_updated_at", "1764000000002"),
            ("updated_at", "1764000000003"),
        ]
    };
    let with = |mut v: Vec<(&'static str, &'static str)>, own: &[(&'static str, &'static str)]| {
        v.extend_from_slice(own);
        v
    };
    // The contact and company fields named below, and a distinct value for any other field their
    // tables have, so that a field added to a table is checked here too.
    let contact_named: [(&'static str, &'static str); 4] = [
        ("email", "ada@example.org"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("title", "Analyst"),
    ];
    let company_named: [(&'static str, &'static str); 3] =
        [("name", "Acme"), ("website", "acme.example"), ("industry", "Anvils")];
    let rest =
        |codes: Vec<&'static str>, named: &[(&str, &str)]| -> Vec<(&'static str, &'static str)> {
            codes
                .into_iter()
                .filter(|c| named.iter().all(|(n, _)| n != c))
                .map(|c| (c, &*Box::leak(format!("{c} value").into_boxed_str())))
                .collect()
        };
    let contact_values: Vec<(&'static str, &'static str)> = contact_named
        .into_iter()
        .chain(rest(
            ContactField::all().into_iter().map(ContactField::as_str).collect(),
            &contact_named,
        ))
        .collect();
    let company_values: Vec<(&'static str, &'static str)> = company_named
        .into_iter()
        .chain(rest(
            CompanyField::all().into_iter().map(CompanyField::as_str).collect(),
            &company_named,
        ))
        .collect();
    vec![
        (
            row(
                "contact-1",
                "003A",
                Fields::Contact(ContactFields {
                    values: contact(&contact_values),
                    company_id: Some("company-1".into()),
                    salesforce_object: "Contact".into(),
                }),
            ),
            with(
                with(times("contact-1", "003A"), &contact_values),
                &[("company_id", "company-1"), ("salesforce_object", "Contact")],
            ),
        ),
        (
            row(
                "company-1",
                "001A",
                Fields::Company(CompanyFields { values: company(&company_values) }),
            ),
            with(times("company-1", "001A"), &company_values),
        ),
        (
            row(
                "opp-1",
                "006A",
                Fields::Opportunity(OpportunityFields {
                    name: Some("Big deal".into()),
                    stage: Some("Prospecting".into()),
                    amount: Some(1234.5),
                    close_date: Some("2026-01-31".into()),
                    company_id: "company-1".into(),
                }),
            ),
            with(
                times("opp-1", "006A"),
                &[
                    ("name", "Big deal"),
                    ("stage", "Prospecting"),
                    ("amount", "1234.5"),
                    ("close_date", "2026-01-31"),
                    ("company_id", "company-1"),
                ],
            ),
        ),
        (
            row(
                "link-1",
                "00KA",
                Fields::OpportunityContact(OpportunityContactFields {
                    opportunity_id: "opp-1".into(),
                    contact_id: "contact-1".into(),
                    role: Some("Decision Maker".into()),
                    is_primary: true,
                }),
            ),
            with(
                times("link-1", "00KA"),
                &[
                    ("opportunity_id", "opp-1"),
                    ("contact_id", "contact-1"),
                    ("role", "Decision Maker"),
                    ("is_primary", "1"),
                ],
            ),
        ),
        (
            row(
                "event-1",
                "a00A",
                Fields::Event(EventFields {
                    contact_id: "contact-1".into(),
                    name: "Signed up".into(),
                    occurred_at: 42,
                    properties: Some(r#"{"plan":"pro"}"#.into()),
                }),
            ),
            with(
                times("event-1", "a00A"),
                &[
                    ("contact_id", "contact-1"),
                    ("name", "Signed up"),
                    ("occurred_at", "42"),
                    ("properties", r#"{"plan":"pro"}"#),
                ],
            ),
        ),
    ]
}

async fn column(db: &Db, table: Table, id: &str, column: &str) -> Option<String> {
    on_db!(db, |pool| {
        let sql = format!("SELECT CAST({column} AS TEXT) FROM {} WHERE id = $1", table.name());
        let (v,): (Option<String>,) = sqlx::query_as(&sql).bind(id).fetch_one(pool).await.unwrap();
        v
    })
}

#[tokio::test]
async fn every_synced_value_lands_in_the_column_of_its_name() {
    let (pool, ws) = db().await;
    let cases = one_of_each();
    let rows: Vec<SyncedRow> = cases.iter().map(|(r, _)| r.clone()).collect();
    let mut conn = pool.begin().await.unwrap();
    synced::upsert(&mut conn, &ws, rows).await.unwrap();
    conn.commit().await.unwrap();
    for (row, expected) in &cases {
        let table = row.fields.table();
        // Every column the store writes is checked, and nothing else.
        let mut named: Vec<&str> = expected.iter().map(|(c, _)| *c).collect();
        let mut written: Vec<&str> = ["id", "workspace_id", "salesforce_id"]
            .into_iter()
            .chain(Fields::columns(table).iter().copied())
            .chain(["external_created_at", "external_updated_at", "updated_at"])
            .collect();
        named.sort_unstable();
        written.sort_unstable();
        assert_eq!(named, written, "{table:?}");
        for (name, value) in expected {
            assert_eq!(
                column(&pool, table, &row.id, name).await.as_deref(),
                Some(*value),
                "{table:?}.{name}"
            );
        }
    }
}

#[tokio::test]
async fn a_resync_overwrites_what_salesforce_owns_and_keeps_conversions_id() {
    let (pool, ws) = db().await;
    let company = |id: &str, name: &str, updated: i64| SyncedRow {
        external_updated_at: updated,
        ..row(id, "001A", Fields::Company(CompanyFields { values: company(&[("name", name)]) }))
    };
    let mut conn = pool.begin().await.unwrap();
    synced::upsert(&mut conn, &ws, vec![company("company-1", "Acme", T0)]).await.unwrap();
    // The same Salesforce id under another Conversion id: matched on the Salesforce id.
    synced::upsert(&mut conn, &ws, vec![company("company-2", "Acme Ltd", T0 + 9)]).await.unwrap();
    let known =
        known_by(&mut conn, &ws, Table::Companies, Key::SalesforceId, &["001A"]).await.unwrap();
    assert_eq!(
        known.get("001A"),
        Some(&Known {
            id: "company-1".into(),
            external_updated_at: Some(T0 + 9),
            user_id: None,
            salesforce_id: Some("001A".into())
        })
    );
    conn.commit().await.unwrap();
    assert_eq!(
        column(&pool, Table::Companies, "company-1", "name").await.as_deref(),
        Some("Acme Ltd")
    );
    assert_eq!(count(&pool, &ws, ObjectType::Company).await.unwrap(), 1);
    assert_eq!(
        synced_ids(&pool, &ws, ObjectType::Company).await.unwrap(),
        vec![("001A".into(), T0 + 9)]
    );
    let mut conn = pool.begin().await.unwrap();
    synced::delete(&mut conn, &ws, Table::Companies, &["001A".into()]).await.unwrap();
    conn.commit().await.unwrap();
    assert_eq!(count(&pool, &ws, ObjectType::Company).await.unwrap(), 0);
}

#[tokio::test]
async fn a_pushed_record_coming_back_is_matched_on_conversions_id() {
    let (pool, ws) = db().await;
    let mut conn = pool.begin().await.unwrap();
    changes::insert_company_in(
        &mut conn,
        &ws,
        &changes::NewCompany { id: "company-1".into(), name: "Acme".into(), ..Default::default() },
        T0,
    )
    .await
    .unwrap();
    let back = row(
        "company-1",
        "001B",
        Fields::Company(CompanyFields { values: company(&[("name", "Acme")]) }),
    );
    synced::upsert(&mut conn, &ws, vec![back]).await.unwrap();
    let known = known_by(&mut conn, &ws, Table::Companies, Key::Id, &["company-1"]).await.unwrap();
    assert_eq!(known["company-1"].external_updated_at, Some(T0 + 2));
    conn.commit().await.unwrap();
    assert_eq!(
        column(&pool, Table::Companies, "company-1", "salesforce_id").await.as_deref(),
        Some("001B")
    );
}
