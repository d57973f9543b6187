//! The generator's tests: the seeded data is the same for the same seed, and dirty as configured.

use super::*;

fn count(store: &Store, object: &str, pred: impl Fn(&Table, &Row) -> bool) -> usize {
    let t = store.table(object).unwrap();
    t.rows.iter().filter(|r| pred(t, r)).count()
}

#[test]
fn makes_n_records_deterministically() {
    let (mut a, mut b) = (Store::new(), Store::new());
    let ga = generate(&mut a, 3_000, 42, 1_700_000_000_000);
    let gb = generate(&mut b, 3_000, 42, 1_700_000_000_000);
    assert_eq!(ga.total(), 3_000);
    assert_eq!(ga, gb);
    let t = a.table("Lead").unwrap();
    let email = t.def.field_index("Email").unwrap();
    assert_eq!(t.rows[17].own(email), b.table("Lead").unwrap().rows[17].own(email));
}

#[test]
fn every_dirty_kind_is_present() {
    let mut s = Store::new();
    generate(&mut s, 5_000, 7, 1_700_000_000_000);
    let text = |t: &Table, r: &Row, f: &str| {
        r.own(t.def.field_index(f).unwrap()).as_text().map(str::to_string)
    };
    let flag =
        |t: &Table, r: &Row, f: &str| *r.own(t.def.field_index(f).unwrap()) == Value::Bool(true);
    let checks = [
        ("lead without email", count(&s, "Lead", |t, r| text(t, r, "Email").is_none())),
        (
            "lead with invalid email",
            count(&s, "Lead", |t, r| {
                text(t, r, "Email").is_some_and(|e| !crate::fake_org::writes::is_valid_email(&e))
            }),
        ),
        ("converted lead", count(&s, "Lead", |t, r| flag(t, r, "IsConverted"))),
        (
            "do-not-sync contact",
            count(&s, "Contact", |t, r| flag(t, r, "Conversion_Do_Not_Sync__c")),
        ),
        ("contact without account", count(&s, "Contact", |t, r| text(t, r, "AccountId").is_none())),
        ("deleted opportunity", count(&s, "Opportunity", |_, r| r.deleted)),
        (
            "event without identifier",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "Email__c").is_none() && text(t, r, "Contact__c").is_none()
            }),
        ),
        (
            "event without name",
            count(&s, EVENT_OBJECT, |t, r| text(t, r, "Event_Name__c").is_none()),
        ),
        (
            "unreadable timestamp",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "Occurred_At__c").is_none_or(|v| datetime::parse(&v).is_err())
            }),
        ),
        (
            "malformed properties",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "Properties__c")
                    .is_some_and(|p| serde_json::from_str::<serde_json::Value>(&p).is_err())
            }),
        ),
        (
            "event with a user ID beside its email",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "User_Id__c").is_some() && text(t, r, "Email__c").is_some()
            }),
        ),
        (
            "event with only a user ID",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "User_Id__c").is_some()
                    && text(t, r, "Email__c").is_none()
                    && text(t, r, "Contact__c").is_none()
            }),
        ),
        (
            "text with a NUL character",
            count(&s, EVENT_OBJECT, |t, r| {
                text(t, r, "Event_Name__c").is_some_and(|n| n.contains('\0'))
            }),
        ),
    ];
    for (what, n) in checks {
        assert!(n > 0, "no {what}");
    }
    let roles = s.table("OpportunityContactRole").unwrap();
    let opp = roles.def.field_index("OpportunityId").unwrap();
    let dangling = roles
        .rows
        .iter()
        .filter(|r| r.own(opp).as_text().is_some_and(|id| !s.live_reference(&["Opportunity"], id)))
        .count();
    assert!(dangling > 0, "no role pointing at a missing opportunity");
}
