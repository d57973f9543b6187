//! Retention on a fresh database (SQLite in memory, or PostgreSQL: see [`testing`]): history
//! older than the cutoff goes in small steps while a writer keeps appending, and nothing newer is
//! touched.

use super::*;
use crate::domain::records::{RecordKey, RecordSearch};
use crate::domain::{Direction, ObjectType, RecordAction, RecordStatus, Trigger};

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_764_000_000_000;

fn records(n: usize, prefix: &str) -> Vec<NewRecord> {
    (0..n)
        .map(|i| NewRecord {
            status: RecordStatus::Success,
            action: RecordAction::Updated,
            message: None,
            detail: None,
            salesforce_id: Some(format!("{prefix}{i:012}")),
            conversion_id: None,
            label: Some(format!("{prefix}{i}@example.com")),
            external_created_at: None,
            external_updated_at: None,
        })
        .collect()
}

async fn run_at(db: &Db, ws: &WorkspaceId, at: i64, recs: &[NewRecord]) -> crate::domain::RunId {
    let new = NewRun {
        direction: Direction::Inbound,
        object_type: ObjectType::Contact,
        trigger: Trigger::Scheduled,
        started_at: at,
        expected_total: None,
    };
    let id = begin_run(db, ws, &new).await.unwrap();
    append_records(db, ws, id, recs).await.unwrap();
    finish_run(db, ws, id, at + 10).await.unwrap();
    id
}

async fn count(db: &Db, sql: &str) -> i64 {
    on_db!(db, |pool| {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
        n
    })
}

#[tokio::test]
async fn expired_history_goes_in_small_steps_while_a_writer_appends() {
    let db = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&db, &ws, "A", NOW).await.unwrap();
    // Twenty days of history, one run a day; the oldest run is large (several steps of records).
    let mut old = Vec::new();
    for day in (1..=20).rev() {
        let n = if day == 20 { 2_500 } else { 3 };
        old.push(run_at(&db, &ws, NOW - day * DAY, &records(n, &format!("0{day:02}"))).await);
    }
    // The same record touched long ago and yesterday stays findable, with its recent touch.
    let kept = records(1, "003");
    run_at(&db, &ws, NOW - 15 * DAY, &kept).await;
    let recent = run_at(&db, &ws, NOW - DAY / 2, &kept).await;
    // A run from before the cutoff still in progress stays until it ends; another workspace's old
    // run is its own history.
    let unfinished = {
        let new = NewRun {
            direction: Direction::Inbound,
            object_type: ObjectType::Lead,
            trigger: Trigger::Backfill,
            started_at: NOW - 12 * DAY,
            expected_total: None,
        };
        let id = begin_run(&db, &ws, &new).await.unwrap();
        append_records(&db, &ws, id, &records(5, "00Q")).await.unwrap();
        id
    };
    let other = WorkspaceId("ws-b".into());
    ensure_workspace(&db, &other, "B", NOW).await.unwrap();
    let theirs = run_at(&db, &other, NOW - 20 * DAY, &records(4, "0b0")).await;

    // A writer appending new runs all the while.
    let writer = {
        let db = (*db).clone();
        let ws = ws.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..20 {
                ids.push(run_at(&db, &ws, NOW + i, &records(50, &format!("1{i:02}"))).await);
            }
            ids
        })
    };
    let cutoff = NOW - 10 * DAY;
    let mut steps = 0;
    loop {
        let step = delete_expired_step(&db, &ws, cutoff).await.unwrap();
        steps += 1;
        assert!(step.records + step.index_rows + step.runs <= runs::retention::STEP_ROWS as u64);
        if step.done {
            break;
        }
        assert!(steps < 10_000, "the pass ends");
    }
    let written = writer.await.unwrap();
    // The large run's 2,500 records take three steps; the small runs around it go together.
    assert!((5..40).contains(&steps), "{steps} steps");

    // Runs from before the cutoff are gone with everything that hung off them.
    for id in &old[..10] {
        assert!(get_run(&db, &ws, *id).await.unwrap().is_none());
    }
    for id in old[10..].iter().chain(&written).chain([&recent, &unfinished]) {
        assert!(get_run(&db, &ws, *id).await.unwrap().is_some());
    }
    let orphans = |table: &str| {
        format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = t.run_id)")
    };
    assert_eq!(count(&db, &orphans("run_records")).await, 0);
    assert_eq!(count(&db, &orphans("record_touches")).await, 0);
    assert_eq!(count(&db, &orphans("run_messages")).await, 0);
    assert!(get_run(&db, &other, theirs).await.unwrap().is_some(), "another workspace's run");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM run_records").await, 10 * 3 + 20 * 50 + 1 + 5 + 4);
    // The directory keeps what kept runs touched, and nothing only older runs touched.
    let found = search_records(&db, &ws, &RecordSearch::parse("020").unwrap(), 5).await.unwrap();
    assert!(found.records.is_empty(), "{:?}", found.records);
    let key = RecordKey::Salesforce("003000000000000".into());
    let record = find_record(&db, &ws, &key).await.unwrap().expect("kept");
    assert_eq!(record.last_run, recent);
    let timeline = record_timeline(&db, &ws, &keys_of(&record), None, 10).await.unwrap();
    // Touched 15 days ago (deleted), 3 days ago (the day-3 run names the same ID) and today.
    assert_eq!(timeline.touches.len(), 2, "only the touches within the history kept");
    assert_eq!(timeline.touches[0].run_id, recent);
    // The unfinished run is the oldest kept.
    assert_eq!(oldest_run_at(&db, &ws).await.unwrap(), Some(NOW - 12 * DAY));
}

#[tokio::test]
async fn the_history_kept_is_a_setting_of_its_own() {
    let db = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&db, &ws, "A", NOW).await.unwrap();
    assert_eq!(load_retention_days(&db, &ws).await.unwrap(), 90);
    save_retention_days(&db, &ws, 30).await.unwrap();
    assert_eq!(load_retention_days(&db, &ws).await.unwrap(), 30);
    // The other settings keep their defaults, and saving them keeps the history setting.
    let settings = load_settings(&db, &ws).await.unwrap();
    save_settings(&db, &ws, &settings).await.unwrap();
    assert_eq!(load_retention_days(&db, &ws).await.unwrap(), 30);
}
