use super::*;

fn conditions(e: &Expr) -> Vec<&Condition> {
    match e {
        Expr::Test(c) => vec![c],
        Expr::And(v) | Expr::Or(v) => v.iter().flat_map(conditions).collect(),
        Expr::Not(e) => conditions(e),
    }
}

fn compared(c: &Condition) -> &Literal {
    match &c.test {
        Test::Compare(_, l) => l,
        other => panic!("not a comparison: {other:?}"),
    }
}

#[test]
fn parses_an_incremental_sync_query() {
    let q = parse(
        "SELECT Id, Email, SystemModstamp FROM Lead WHERE SystemModstamp > 2024-01-01T00:00:00Z \
         AND IsConverted = false AND Email != null ORDER BY SystemModstamp ASC, Id LIMIT 500",
    )
    .unwrap();
    assert_eq!(q.fields, vec!["Id", "Email", "SystemModstamp"]);
    assert_eq!(q.object, "Lead");
    let filter = q.filter.as_ref().unwrap();
    assert!(matches!(filter, Expr::And(v) if v.len() == 3));
    let c = conditions(filter);
    assert_eq!(*compared(c[0]), Literal::DateTime(1_704_067_200_000));
    assert_eq!(*compared(c[1]), Literal::Bool(false));
    assert_eq!(
        *c[2],
        Condition { field: "Email".into(), test: Test::Compare(Op::Ne, Literal::Null) }
    );
    assert_eq!(q.order[1], OrderBy { field: "Id".into(), descending: false, nulls_last: false });
    assert_eq!((q.limit, q.offset), (Some(500), None));
}

#[test]
fn reads_every_literal_kind() {
    let q = parse("select Id from Opportunity where Amount >= -12.5 and Name = 'O\\'Brien' and CloseDate < 2024-02-01 and CreatedDate <= 2024-01-01T10:00:00.000+0000").unwrap();
    let values: Vec<_> = conditions(q.filter.as_ref().unwrap()).into_iter().map(compared).collect();
    assert_eq!(*values[0], Literal::Number(-12.5));
    assert_eq!(*values[1], Literal::String("O'Brien".into()));
    assert_eq!(*values[2], Literal::Date("2024-02-01".into()));
    assert_eq!(*values[3], Literal::DateTime(1_704_103_200_000));
}

#[test]
fn or_not_parentheses_in_and_like() {
    let q = parse(
        "SELECT Id FROM Contact WHERE (LastName LIKE 'Sm%' OR Email IN ('a@x.com', 'b@x.com')) \
         AND NOT Title = null AND AccountId NOT IN ('001000000000001AAA') LIMIT 10 OFFSET 20",
    )
    .unwrap();
    let Some(Expr::And(terms)) = &q.filter else { panic!("{:?}", q.filter) };
    assert_eq!(terms.len(), 3);
    let Expr::Or(either) = &terms[0] else { panic!("{:?}", terms[0]) };
    assert_eq!(
        either[0],
        Expr::Test(Condition { field: "LastName".into(), test: Test::Like("Sm%".into()) })
    );
    assert!(matches!(&either[1], Expr::Test(Condition { test: Test::In(v), .. }) if v.len() == 2));
    assert!(matches!(&terms[1], Expr::Not(_)));
    assert!(
        matches!(&terms[2], Expr::Test(Condition { test: Test::NotIn(v), .. }) if v.len() == 1)
    );
    assert_eq!((q.limit, q.offset), (Some(10), Some(20)));
}

#[test]
fn date_literals_are_utc_days_counted_from_now() {
    // 2024-03-10T15:00:00Z
    let now = 1_710_082_800_000;
    let day = 86_400_000;
    let midnight = 1_710_028_800_000; // 2024-03-10T00:00:00Z
    let at = |soql: &str| {
        let q = parse_at(soql, now).unwrap();
        compared(conditions(q.filter.as_ref().unwrap())[0]).clone()
    };
    assert_eq!(
        at("SELECT Id FROM Lead WHERE CreatedDate = TODAY"),
        Literal::Days { from: midnight, to: midnight + day }
    );
    assert_eq!(
        at("SELECT Id FROM Lead WHERE CreatedDate = yesterday"),
        Literal::Days { from: midnight - day, to: midnight }
    );
    assert_eq!(
        at("SELECT Id FROM Lead WHERE CreatedDate > LAST_N_DAYS:7"),
        Literal::Days { from: midnight - 7 * day, to: midnight + day }
    );
    assert_eq!(
        at("SELECT Id FROM Lead WHERE CreatedDate < NEXT_N_DAYS:2"),
        Literal::Days { from: midnight + day, to: midnight + 3 * day }
    );
    assert!(parse("SELECT Id FROM Lead WHERE CreatedDate = LAST_N_WEEKDAYS:2").is_err());
}

#[test]
fn rejects_what_is_outside_the_subset() {
    for bad in [
        "SELECT FROM Lead",
        "SELECT * FROM Lead",
        "SELECT Id FROM Lead WHERE Email = 'a' AND Email = 'b' OR Email = 'c'",
        "SELECT Id FROM Lead WHERE (Email = 'a'",
        "SELECT Id FROM Lead WHERE Email IN ()",
        "SELECT Id FROM Lead WHERE Email IN 'a'",
        "SELECT Id FROM Lead WHERE Email LIKE a",
        "SELECT Id FROM Lead WHERE",
        "SELECT Id FROM Lead LIMIT x",
        "SELECT Id FROM Lead OFFSET -1",
        "SELECT Id FROM Lead ORDER Id",
        "SELECT Id FROM Lead WHERE Name = 'unterminated",
        "SELECT Id FROM Lead WHERE CreatedDate > yesterdayish",
        "UPDATE Lead",
    ] {
        assert!(parse(bad).is_err(), "{bad} should be malformed");
    }
}

#[test]
fn count_stands_alone_and_takes_a_filter_and_a_limit_but_no_order() {
    let q = parse("SELECT COUNT() FROM Lead WHERE IsConverted = false LIMIT 10").unwrap();
    assert!(q.count && q.fields.is_empty());
    assert_eq!(q.limit, Some(10));
    assert!(parse("select count() from Lead").unwrap().count);
    for bad in [
        "SELECT COUNT() FROM Lead ORDER BY Id",
        "SELECT COUNT(Id) FROM Lead",
        "SELECT COUNT(), Id FROM Lead",
        "SELECT COUNT( FROM Lead",
    ] {
        assert!(parse(bad).is_err(), "{bad} should be malformed");
    }
    // A field called Count is still a field.
    assert_eq!(parse("SELECT Count FROM Lead").unwrap().fields, vec!["Count"]);
}

#[test]
fn nulls_follow_salesforce_defaults() {
    let q = parse(
        "SELECT Id FROM Lead ORDER BY Email DESC, Phone NULLS LAST, Title DESC NULLS FIRST, Company",
    )
    .unwrap();
    assert!(
        !q.order[0].nulls_last && q.order[0].descending,
        "nulls first by default, even descending"
    );
    assert!(q.order[1].nulls_last && !q.order[1].descending);
    assert!(!q.order[2].nulls_last && q.order[2].descending);
    assert!(!q.order[3].nulls_last && !q.order[3].descending);
    assert!(parse("SELECT Id FROM Lead ORDER BY Email NULLS").is_err());
    assert!(parse("SELECT Id FROM Lead ORDER BY Email NULLS MIDDLE").is_err());
}
