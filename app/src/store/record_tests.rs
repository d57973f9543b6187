//! A record's story on a fresh database (SQLite in memory, or PostgreSQL: see [`testing`]): the
//! search by email, name and IDs, the timeline across both directions, and workspace scoping.

use super::*;
use crate::domain::records::{RecordKey, RecordSearch};
use crate::domain::{
    Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunId, Trigger,
};

const T0: i64 = 1_764_000_000_000;
const JANE: &str = "003D000000IRFmaIAH";

async fn db() -> (testing::TestDb, WorkspaceId) {
    let pool = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&pool, &ws, "A", T0).await.unwrap();
    ensure_workspace(&pool, &WorkspaceId("ws-b".into()), "B", T0).await.unwrap();
    (pool, ws)
}

fn record(sf: Option<&str>, cv: Option<&str>, label: &str, status: RecordStatus) -> NewRecord {
    NewRecord {
        status,
        action: RecordAction::Updated,
        message: (status == RecordStatus::Failed).then_some(RecordMessage::InvalidEmail),
        detail: None,
        salesforce_id: sf.map(str::to_string),
        conversion_id: cv.map(str::to_string),
        label: Some(label.to_string()),
        external_created_at: None,
        external_updated_at: None,
    }
}

async fn run(
    db: &Db,
    ws: &WorkspaceId,
    direction: Direction,
    at: i64,
    records: &[NewRecord],
) -> RunId {
    let new = NewRun {
        direction,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let id = begin_run(db, ws, &new).await.unwrap();
    append_records(db, ws, id, records).await.unwrap();
    finish_run(db, ws, id, at + 100).await.unwrap();
    id
}

fn search(text: &str) -> RecordSearch {
    RecordSearch::parse(text).unwrap()
}

fn keys(found: &SearchResults) -> Vec<String> {
    found.records.iter().map(|r| r.key.to_string()).collect()
}

#[tokio::test]
async fn records_are_found_by_email_name_and_either_id() {
    let (db, ws) = db().await;
    run(
        &db,
        &ws,
        Direction::Inbound,
        T0,
        &[
            record(Some(JANE), Some("cv-jane"), "Jane.Doe@Acme.com", RecordStatus::Success),
            record(
                Some("003D000000IRFmbIAH"),
                Some("cv-john"),
                "John Smith <john@acme.com>",
                RecordStatus::Success,
            ),
            record(Some("001D000000IRFmcIAH"), None, "Janeway Industries", RecordStatus::Success),
        ],
    )
    .await;
    // The same people in another workspace are not found here.
    run(
        &db,
        &WorkspaceId("ws-b".into()),
        Direction::Inbound,
        T0,
        &[record(Some("003D000000IRFmdIAH"), None, "jane@elsewhere.com", RecordStatus::Success)],
    )
    .await;

    let by = |text: &'static str| {
        let db = &db;
        let ws = &ws;
        async move { keys(&search_records(db, ws, &search(text), 20).await.unwrap()) }
    };
    assert_eq!(by("jane").await, vec![format!("sf:{JANE}"), "sf:001D000000IRFmcIAH".to_string()]);
    assert_eq!(by("JANE.DOE@acme").await, vec![format!("sf:{JANE}")]);
    assert_eq!(by("john@").await, vec!["sf:003D000000IRFmbIAH".to_string()]);
    assert_eq!(by("john smith").await, vec!["sf:003D000000IRFmbIAH".to_string()]);
    // 15 characters, 18 characters, and 18 in another case.
    assert_eq!(by("003D000000IRFma").await, vec![format!("sf:{JANE}")]);
    assert_eq!(by(JANE).await, vec![format!("sf:{JANE}")]);
    assert_eq!(by("003d000000irfmaiah").await, vec![format!("sf:{JANE}")]);
    assert_eq!(by("cv-john").await, vec!["sf:003D000000IRFmbIAH".to_string()]);
    assert!(by("nobody").await.is_empty());
    assert!(by("elsewhere").await.is_empty());

    let found = search_records(&db, &ws, &search("j"), 1).await.unwrap();
    assert_eq!(found.records.len(), 1);
    assert!(found.more);
}

#[tokio::test]
async fn a_timeline_runs_newest_first_across_both_directions_and_pages_by_keyset() {
    let (db, ws) = db().await;
    let mut runs = Vec::new();
    // A contact made in Conversion: its first push fails (no Salesforce ID yet), the next gives it
    // one, and inbound syncs read it back.
    runs.push(
        run(
            &db,
            &ws,
            Direction::Outbound,
            T0,
            &[record(None, Some("cv-ava"), "ava@acme.com", RecordStatus::Failed)],
        )
        .await,
    );
    let others = record(Some("003D000000IRFmbIAH"), None, "other@acme.com", RecordStatus::Success);
    runs.push(
        run(
            &db,
            &ws,
            Direction::Outbound,
            T0 + 1_000,
            &[
                others.clone(),
                record(Some(JANE), Some("cv-ava"), "ava@acme.com", RecordStatus::Success),
            ],
        )
        .await,
    );
    for i in 2..7 {
        runs.push(
            run(
                &db,
                &ws,
                Direction::Inbound,
                T0 + i * 1_000,
                &[
                    record(Some(JANE), Some("cv-ava"), "ava@acme.com", RecordStatus::Success),
                    others.clone(),
                ],
            )
            .await,
        );
    }

    // The contact is one record under its Salesforce ID; the Conversion id finds it too.
    let found = search_records(&db, &ws, &search("ava@"), 20).await.unwrap();
    assert_eq!(keys(&found), vec![format!("sf:{JANE}")]);
    let ava =
        find_record(&db, &ws, &RecordKey::Conversion("cv-ava".into())).await.unwrap().unwrap();
    assert_eq!(ava.key, RecordKey::Salesforce(JANE.into()));
    assert_eq!(ava.last_run, runs[6]);
    assert_eq!(ava.last_status, RecordStatus::Success);

    let keys = keys_of(&ava);
    let first = record_timeline(&db, &ws, &keys, None, 4).await.unwrap();
    let ids: Vec<RunId> = first.touches.iter().map(|t| t.run_id).collect();
    assert_eq!(ids, vec![runs[6], runs[5], runs[4], runs[3]]);
    let rest = record_timeline(&db, &ws, &keys, first.older, 4).await.unwrap();
    let ids: Vec<RunId> = rest.touches.iter().map(|t| t.run_id).collect();
    assert_eq!(ids, vec![runs[2], runs[1], runs[0]]);
    assert_eq!(rest.older, None);
    let oldest = rest.touches.last().unwrap();
    assert_eq!((oldest.direction, oldest.status), (Direction::Outbound, RecordStatus::Failed));
    assert_eq!(oldest.message, Some(RecordMessage::InvalidEmail));
    assert_eq!(rest.touches[1].seq, 1, "the run record's position in its run");

    // Another workspace sees nothing of it.
    let b = WorkspaceId("ws-b".into());
    assert!(find_record(&db, &b, &ava.key).await.unwrap().is_none());
    assert!(record_timeline(&db, &b, &keys, None, 10).await.unwrap().touches.is_empty());
}

#[tokio::test]
async fn an_older_run_appending_late_does_not_take_a_record_back() {
    let (db, ws) = db().await;
    let new = |at| NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let older = begin_run(&db, &ws, &new(T0)).await.unwrap();
    let newer = begin_run(&db, &ws, &new(T0 + 1_000)).await.unwrap();
    append_records(
        &db,
        &ws,
        newer,
        &[record(Some(JANE), None, "jane@acme.com", RecordStatus::Success)],
    )
    .await
    .unwrap();
    append_records(
        &db,
        &ws,
        older,
        &[record(Some(JANE), None, "jane@acme.com", RecordStatus::Failed)],
    )
    .await
    .unwrap();
    let jane = find_record(&db, &ws, &RecordKey::Salesforce(JANE.into())).await.unwrap().unwrap();
    assert_eq!((jane.last_run, jane.last_status), (newer, RecordStatus::Success));
    let timeline = record_timeline(&db, &ws, &keys_of(&jane), None, 10).await.unwrap();
    assert_eq!(timeline.touches.len(), 2);
}
