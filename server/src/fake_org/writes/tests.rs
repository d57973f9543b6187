//! The writes' tests: validation, duplicate rules, faults and the answers they give.

use super::*;
use crate::fake_org::faults::{FaultCommand, RuleCondition, ValidationRule};
use serde_json::json;

fn input(v: serde_json::Value) -> Input {
    v.as_object().cloned().unwrap()
}

fn code(r: Result<Written, RecordError>) -> String {
    r.err().map(|e| e.status_code).unwrap_or_else(|| "OK".into())
}

#[test]
fn creates_with_defaults_and_rejects_bad_fields() {
    let (mut s, mut f) = (Store::new(), FaultState::default());
    let w = create(&mut s, &mut f, "Lead", &input(json!({"LastName": "Ng", "Company": "Acme"})), 5)
        .unwrap();
    let t = s.table("Lead").unwrap();
    let status = t.def.field_index("Status").unwrap();
    assert_eq!(t.get(t.find(&w.id).unwrap(), status), Value::text("Open - Not Contacted"));

    let cases = [
        (json!({"Company": "Acme"}), "REQUIRED_FIELD_MISSING"),
        (json!({"LastName": "x".repeat(81), "Company": "A"}), "STRING_TOO_LONG"),
        (
            json!({"LastName": "N", "Company": "A", "Status": "Maybe"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        ),
        (
            json!({"LastName": "N", "Company": "A", "Email": "not an email"}),
            "INVALID_EMAIL_ADDRESS",
        ),
        (json!({"LastName": "N", "Company": "A", "Nope__c": 1}), "INVALID_FIELD"),
        (
            json!({"LastName": "N", "Company": "A", "IsConverted": true}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
        (
            json!({"LastName": "N", "Company": "A", "Conversion_Do_Not_Sync__c": "yes"}),
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            code(create(&mut s, &mut f, "Lead", &input(body.clone()), 5)),
            expected,
            "{body}"
        );
    }
}

#[test]
fn references_duplicates_rules_locks_and_access() {
    let (mut s, mut f) = (Store::new(), FaultState::default());
    let missing_account = json!({"LastName": "N", "AccountId": "001000000000001AAA"});
    assert_eq!(
        code(create(&mut s, &mut f, "Contact", &input(missing_account), 1)),
        "INVALID_CROSS_REFERENCE_KEY"
    );

    let c =
        create(&mut s, &mut f, "Contact", &input(json!({"LastName": "N", "Email": "a@b.co"})), 1)
            .unwrap();
    let dup = json!({"LastName": "M", "Email": "A@B.co"});
    assert_eq!(code(create(&mut s, &mut f, "Contact", &input(dup), 1)), "DUPLICATES_DETECTED");
    assert_eq!(
        code(update(&mut s, &mut f, "Contact", &c.id, &input(json!({"Email": "a@b.co"})), 2)),
        "OK",
        "own email is no duplicate"
    );

    f.apply(&FaultCommand::AddValidationRule {
        rule: ValidationRule {
            object: "Contact".into(),
            field: "Title".into(),
            condition: RuleCondition::Blank,
            message: "Title is required".into(),
        },
    });
    let e = update(&mut s, &mut f, "Contact", &c.id, &input(json!({"Phone": "1"})), 3).unwrap_err();
    assert_eq!(
        (e.status_code.as_str(), e.message.as_str(), e.fields.clone()),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Title is required", vec!["Title".to_string()])
    );

    f.apply(&FaultCommand::LockRecords { ids: vec![c.id.clone()], attempts: Some(1) });
    assert_eq!(
        code(update(&mut s, &mut f, "Contact", &c.id, &input(json!({"Title": "CTO"})), 4)),
        "UNABLE_TO_LOCK_ROW"
    );
    assert_eq!(
        code(update(&mut s, &mut f, "Contact", &c.id, &input(json!({"Title": "CTO"})), 4)),
        "OK"
    );

    f.apply(&FaultCommand::MakeReadonly { object: "Contact".into() });
    assert_eq!(
        code(update(&mut s, &mut f, "Contact", &c.id, &input(json!({"Title": "CEO"})), 5)),
        "INSUFFICIENT_ACCESS_OR_READONLY"
    );
}

#[test]
fn upsert_matches_on_the_external_id() {
    let (mut s, mut f) = (Store::new(), FaultState::default());
    let body = input(json!({"Name": "Acme", "Conversion_Id__c": "co-1"}));
    let first = upsert(&mut s, &mut f, "Account", "Conversion_Id__c", &body, 1).unwrap();
    let again = upsert(&mut s, &mut f, "Account", "Conversion_Id__c", &body, 2).unwrap();
    assert!(first.created && !again.created);
    assert_eq!(first.id, again.id);
    let none = input(json!({"Name": "Acme"}));
    assert_eq!(
        code(upsert(&mut s, &mut f, "Account", "Conversion_Id__c", &none, 3)),
        "MISSING_ARGUMENT"
    );
    delete(&mut s, &mut f, "Account", &first.id, 4).unwrap();
    assert_eq!(code(update(&mut s, &mut f, "Account", &first.id, &none, 5)), "ENTITY_IS_DELETED");
    assert_eq!(code(update(&mut s, &mut f, "Account", "nope", &none, 5)), "MALFORMED_ID");
}

#[test]
fn email_check() {
    assert!(is_valid_email("ann.lee+x@mail.example.com"));
    for bad in ["ann", "ann@", "@x.io", "ann@@x.io", "ann lee@x.io", "ann@x", "ann@x.io,bob@y.io"] {
        assert!(!is_valid_email(bad), "{bad}");
    }
}
