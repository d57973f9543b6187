//! Storage on a fresh database (SQLite in memory, or PostgreSQL: see [`testing`]): writes, counts,
//! filters, pagination and scoping.

use super::*;
use crate::domain::{
    Direction, Message, ObjectType, RecordAction, RecordFilter, RecordMessage, RecordStatus,
    RunFailure, RunFilters, RunId, RunMessage, RunStatus, Trigger,
};

const T0: i64 = 1_764_000_000_000; // 2025-11-24

async fn db() -> (testing::TestDb, WorkspaceId) {
    let pool = testing::test_db().await.expect("test database");
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&pool, &ws, "A", T0).await.unwrap();
    ensure_workspace(&pool, &WorkspaceId("ws-b".into()), "B", T0).await.unwrap();
    (pool, ws)
}

fn new_run(direction: Direction, object_type: ObjectType, started_at: i64) -> NewRun {
    NewRun { direction, object_type, trigger: Trigger::Scheduled, started_at, expected_total: None }
}

fn rec(status: RecordStatus, action: RecordAction, message: Option<RecordMessage>) -> NewRecord {
    NewRecord {
        status,
        action,
        message,
        detail: None,
        salesforce_id: Some("0035g00000AbCdEAAV".into()),
        conversion_id: Some("con_1".into()),
        label: Some("Ava Patel".into()),
        external_created_at: Some(T0 - 1000),
        external_updated_at: Some(T0 - 10),
    }
}

/// 30 runs a minute apart, alternating direction, cycling object types.
async fn history(pool: &Db, ws: &WorkspaceId) -> Vec<RunId> {
    let objects = [ObjectType::Contact, ObjectType::Company, ObjectType::Event];
    let mut ids = Vec::new();
    for i in 0..30 {
        let dir = if i % 2 == 0 { Direction::Inbound } else { Direction::Outbound };
        let id = begin_run(pool, ws, &new_run(dir, objects[i % 3], T0 + i as i64 * 60_000))
            .await
            .unwrap();
        finish_run(pool, ws, id, T0 + i as i64 * 60_000 + 500).await.unwrap();
        ids.push(id);
    }
    ids
}

#[tokio::test]
async fn counts_always_equal_the_records() {
    let (pool, ws) = db().await;
    let id =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0)).await.unwrap();
    let chunk1 = vec![
        rec(RecordStatus::Success, RecordAction::Created, None),
        rec(RecordStatus::Success, RecordAction::Updated, None),
        rec(RecordStatus::Skipped, RecordAction::Created, Some(RecordMessage::MissingEmail)),
    ];
    let c = append_records(&pool, &ws, id, &chunk1).await.unwrap();
    assert_eq!((c.created, c.updated, c.skipped), (1, 1, 1));
    // A chunk larger than one INSERT statement.
    let chunk2: Vec<_> = (0..450)
        .map(|i| match i % 3 {
            0 => rec(RecordStatus::Success, RecordAction::Deleted, None),
            1 => {
                rec(RecordStatus::Failed, RecordAction::Updated, Some(RecordMessage::MalformedData))
            }
            _ => rec(RecordStatus::Success, RecordAction::Updated, None),
        })
        .collect();
    let c = append_records(&pool, &ws, id, &chunk2).await.unwrap();
    assert_eq!(c.processed(), 453);
    let (by_records,): (i64,) =
        on_db!(pool.db(), |p| sqlx::query_as("SELECT COUNT(*) FROM run_records WHERE run_id = $1")
            .bind(id.0)
            .fetch_one(p)
            .await
            .unwrap());
    assert_eq!(by_records, 453);
    let (failed,): (i64,) = on_db!(pool.db(), |p| sqlx::query_as(
        "SELECT COUNT(*) FROM run_records WHERE run_id = $1 AND status = 'failed'"
    )
    .bind(id.0)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(c.failed, failed);
    assert_eq!(c.deleted, 150);
    assert!(finish_run(&pool, &ws, id, T0 + 2_000).await.unwrap());
    let run = get_run(&pool, &ws, id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.counts, c);
    assert_eq!(run.duration_ms(0), 2_000);
    // Finished runs take no more records and cannot finish twice.
    assert!(append_records(&pool, &ws, id, &chunk1).await.is_err());
    assert!(!finish_run(&pool, &ws, id, T0 + 3_000).await.unwrap());
}

#[tokio::test]
async fn failed_runs_keep_their_message_and_detail() {
    let (pool, ws) = db().await;
    let id =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Lead, T0)).await.unwrap();
    let failure = RunFailure {
        message: RunMessage::ApiLimitExceeded,
        detail: "REQUEST_LIMIT_EXCEEDED".into(),
    };
    assert!(fail_run(&pool, &ws, id, T0 + 10, &failure).await.unwrap());
    let run = get_run(&pool, &ws, id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.failure, Some(failure));
}

#[tokio::test]
async fn interrupted_runs_fail_at_start_up() {
    let (pool, ws) = db().await;
    let id = begin_run(&pool, &ws, &new_run(Direction::Outbound, ObjectType::Contact, T0))
        .await
        .unwrap();
    // A backfill that had saved three of its five records when the server stopped.
    let backfill = NewRun {
        expected_total: Some(5),
        ..new_run(Direction::Inbound, ObjectType::Contact, T0 + 2)
    };
    let part = begin_run(&pool, &ws, &backfill).await.unwrap();
    append_records(
        &pool,
        &ws,
        part,
        &vec![rec(RecordStatus::Success, RecordAction::Created, None); 3],
    )
    .await
    .unwrap();
    // Another workspace's run in progress belongs to another process: left alone.
    let other = WorkspaceId("ws-b".into());
    let theirs = begin_run(&pool, &other, &new_run(Direction::Inbound, ObjectType::Lead, T0 + 1))
        .await
        .unwrap();
    assert_eq!(fail_interrupted_runs(&pool, &ws, T0 + 5).await.unwrap(), 2);
    let run = get_run(&pool, &ws, id).await.unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let failure = run.failure.unwrap();
    assert_eq!(failure.message, RunMessage::UnknownError);
    assert!(
        failure.detail.contains("before the result of any of its changes had been saved"),
        "{}",
        failure.detail
    );
    // Each run says what it kept; its records and counts stay.
    let run = get_run(&pool, &ws, part).await.unwrap().unwrap();
    assert_eq!(run.counts.created, 3);
    assert_eq!(
        run.failure.unwrap().detail,
        "The server stopped while this batch was running, after 3 of its 5 records had been saved. \
         They stay saved; the rest are synced on the next run."
    );
    assert_eq!(
        get_run(&pool, &other, theirs).await.unwrap().unwrap().status,
        RunStatus::InProgress
    );
    // Listed under its whole-run message.
    let f =
        RunFilters { message: Some(Message::Run(RunMessage::UnknownError)), ..Default::default() };
    assert_eq!(
        list_runs(&pool, &ws, &f, 10).await.unwrap().runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![part, id]
    );
}

#[tokio::test]
async fn abandoned_runs_fail_only_for_their_direction_and_object() {
    let (pool, ws) = db().await;
    let contacts =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0)).await.unwrap();
    let leads = begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Lead, T0 + 1))
        .await
        .unwrap();
    let push = begin_run(&pool, &ws, &new_run(Direction::Outbound, ObjectType::Contact, T0 + 2))
        .await
        .unwrap();
    let other = WorkspaceId("ws-b".into());
    let theirs =
        begin_run(&pool, &other, &new_run(Direction::Inbound, ObjectType::Contact, T0 + 3))
            .await
            .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let failed = fail_abandoned_runs(
        &mut tx,
        &ws,
        Direction::Inbound,
        Some(ObjectType::Contact),
        T0 + 9,
        "could not save",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(failed, 1);
    let run = get_run(&pool, &ws, contacts).await.unwrap().unwrap();
    assert_eq!((run.status, run.finished_at), (RunStatus::Failed, Some(T0 + 9)));
    assert_eq!(
        run.failure,
        Some(RunFailure { message: RunMessage::UnknownError, detail: "could not save".into() })
    );
    for (ws, id) in [(&ws, leads), (&ws, push), (&other, theirs)] {
        assert_eq!(get_run(&pool, ws, id).await.unwrap().unwrap().status, RunStatus::InProgress);
    }
    // Every object of a direction; nothing left to fail the second time.
    let mut tx = pool.begin().await.unwrap();
    let failed =
        fail_abandoned_runs(&mut tx, &ws, Direction::Outbound, None, T0 + 10, "x").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(failed, 1);
    let mut tx = pool.begin().await.unwrap();
    let failed =
        fail_abandoned_runs(&mut tx, &ws, Direction::Outbound, None, T0 + 11, "x").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn status_and_message_filters_find_the_runs_that_carry_them() {
    let (pool, ws) = db().await;
    // Twelve runs: every second has an invalid email among its records, every fourth fails whole.
    let mut invalid = Vec::new();
    let mut failed = Vec::new();
    for i in 0..12 {
        let id = begin_run(
            &pool,
            &ws,
            &new_run(Direction::Inbound, ObjectType::Contact, T0 + i * 60_000),
        )
        .await
        .unwrap();
        let mut records = vec![rec(RecordStatus::Success, RecordAction::Created, None)];
        if i % 2 == 0 {
            records.push(rec(
                RecordStatus::Skipped,
                RecordAction::Created,
                Some(RecordMessage::InvalidEmail),
            ));
            invalid.push(id);
        }
        append_records(&pool, &ws, id, &records).await.unwrap();
        if i % 2 == 0 {
            // A second append of the same message adds to the run's entry, not a second one.
            append_records(
                &pool,
                &ws,
                id,
                &[rec(
                    RecordStatus::Skipped,
                    RecordAction::Created,
                    Some(RecordMessage::InvalidEmail),
                )],
            )
            .await
            .unwrap();
        }
        if i % 4 == 0 {
            let failure =
                RunFailure { message: RunMessage::ApiLimitExceeded, detail: "limit".into() };
            fail_run(&pool, &ws, id, T0 + i * 60_000 + 5, &failure).await.unwrap();
            failed.push(id);
        } else {
            finish_run(&pool, &ws, id, T0 + i * 60_000 + 5).await.unwrap();
        }
    }
    invalid.reverse();
    failed.reverse();
    let ids = |page: &RunsPage| page.runs.iter().map(|r| r.id).collect::<Vec<_>>();

    let by_message = RunFilters {
        message: Some(Message::Record(RecordMessage::InvalidEmail)),
        ..Default::default()
    };
    assert_eq!(ids(&list_runs(&pool, &ws, &by_message, 50).await.unwrap()), invalid);
    // Paged by the same keyset, newest first, no gaps or repeats.
    let first = list_runs(&pool, &ws, &by_message, 3).await.unwrap();
    assert_eq!(ids(&first), invalid[..3]);
    assert_eq!(first.newer, None);
    let second =
        list_runs(&pool, &ws, &RunFilters { before: first.older, ..by_message.clone() }, 3)
            .await
            .unwrap();
    assert_eq!(ids(&second), invalid[3..]);
    assert_eq!((second.newer, second.older), (Some(invalid[3]), None));
    let back = list_runs(&pool, &ws, &RunFilters { after: second.newer, ..by_message.clone() }, 3)
        .await
        .unwrap();
    assert_eq!(ids(&back), invalid[..3]);
    let n: i64 = on_db!(pool.db(), |p| sqlx::query_scalar(
        "SELECT records FROM run_messages WHERE run_id = $1 AND code = 'invalid_email'",
    )
    .bind(invalid[0].0)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(n, 2);

    let by_status = RunFilters { status: Some(RunStatus::Failed), ..Default::default() };
    assert_eq!(ids(&list_runs(&pool, &ws, &by_status, 50).await.unwrap()), failed);
    let by_run_message = RunFilters {
        message: Some(Message::Run(RunMessage::ApiLimitExceeded)),
        ..Default::default()
    };
    assert_eq!(ids(&list_runs(&pool, &ws, &by_run_message, 50).await.unwrap()), failed);

    // Combined with each other, a date range and a direction: the intersection.
    let both = RunFilters {
        status: Some(RunStatus::Failed),
        message: Some(Message::Record(RecordMessage::InvalidEmail)),
        from_ms: Some(T0 + 60_000),
        direction: Some(Direction::Inbound),
        ..Default::default()
    };
    let expected: Vec<RunId> = failed
        .iter()
        .copied()
        .filter(|id| invalid.contains(id) && *id != failed[failed.len() - 1])
        .collect();
    assert_eq!(ids(&list_runs(&pool, &ws, &both, 50).await.unwrap()), expected);
    let outbound = RunFilters { direction: Some(Direction::Outbound), ..by_message.clone() };
    assert!(list_runs(&pool, &ws, &outbound, 50).await.unwrap().runs.is_empty());
    let contacts = RunFilters {
        direction: Some(Direction::Inbound),
        object_type: Some(ObjectType::Contact),
        ..by_message.clone()
    };
    assert_eq!(ids(&list_runs(&pool, &ws, &contacts, 50).await.unwrap()), invalid);
    let companies = RunFilters { object_type: Some(ObjectType::Company), ..by_message.clone() };
    assert!(list_runs(&pool, &ws, &companies, 50).await.unwrap().runs.is_empty());
    let completed = RunFilters { status: Some(RunStatus::Completed), ..by_message.clone() };
    let expected: Vec<RunId> = invalid.iter().copied().filter(|id| !failed.contains(id)).collect();
    assert_eq!(ids(&list_runs(&pool, &ws, &completed, 50).await.unwrap()), expected);

    // The live poll: runs newer than the newest shown that carry the message.
    let newest = invalid[1];
    assert_eq!(
        poll_runs(&pool, &ws, &by_message, Some(newest), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![invalid[0]]
    );
    // Another workspace sees none of it.
    let other = WorkspaceId("ws-b".into());
    assert!(list_runs(&pool, &other, &by_message, 50).await.unwrap().runs.is_empty());
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let (pool, ws) = db().await;
    let ids = history(&pool, &ws).await;
    let all = list_runs(&pool, &ws, &RunFilters::default(), 100).await.unwrap();
    assert_eq!(all.runs.len(), 30);
    assert!(all.runs.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(all.runs[0].id, *ids.last().unwrap());

    let inbound = list_runs(
        &pool,
        &ws,
        &RunFilters { direction: Some(Direction::Inbound), ..Default::default() },
        100,
    )
    .await
    .unwrap();
    assert_eq!(inbound.runs.len(), 15);
    assert!(inbound.runs.iter().all(|r| r.direction == Direction::Inbound));

    let events = list_runs(
        &pool,
        &ws,
        &RunFilters { object_type: Some(ObjectType::Event), ..Default::default() },
        100,
    )
    .await
    .unwrap();
    assert_eq!(events.runs.len(), 10);
    assert!(events.runs.iter().all(|r| r.object_type == ObjectType::Event));

    let both = RunFilters {
        direction: Some(Direction::Outbound),
        object_type: Some(ObjectType::Contact),
        ..Default::default()
    };
    let both = list_runs(&pool, &ws, &both, 100).await.unwrap();
    assert_eq!(both.runs.len(), 5);

    // Runs 10..=19 by start time: [from, to).
    let range = RunFilters {
        from_ms: Some(T0 + 10 * 60_000),
        to_ms: Some(T0 + 20 * 60_000),
        ..Default::default()
    };
    let range = list_runs(&pool, &ws, &range, 100).await.unwrap();
    assert_eq!(
        range.runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids[10..20].iter().rev().copied().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn pages_have_no_gaps_or_duplicates_while_new_runs_arrive() {
    let (pool, ws) = db().await;
    let ids = history(&pool, &ws).await;
    let mut seen = Vec::new();
    let mut f = RunFilters::default();
    let mut page_no = 0;
    loop {
        let page = list_runs(&pool, &ws, &f, 7).await.unwrap();
        seen.extend(page.runs.iter().map(|r| r.id));
        // New runs start while the reader pages through history.
        let id = begin_run(
            &pool,
            &ws,
            &new_run(Direction::Inbound, ObjectType::Contact, T0 + 3_600_000 + page_no),
        )
        .await
        .unwrap();
        append_records(&pool, &ws, id, &[rec(RecordStatus::Success, RecordAction::Created, None)])
            .await
            .unwrap();
        page_no += 1;
        if page_no == 1 {
            assert!(page.newer.is_none(), "the first page has nothing newer");
        } else {
            assert!(page.newer.is_some());
        }
        match page.older {
            Some(older) => f.before = Some(older),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    // Going back with `after` returns the page before, in the same order.
    let second =
        list_runs(&pool, &ws, &RunFilters { before: Some(ids[23]), ..Default::default() }, 7)
            .await
            .unwrap();
    let back = list_runs(
        &pool,
        &ws,
        &RunFilters { after: Some(second.runs[0].id), ..Default::default() },
        7,
    )
    .await
    .unwrap();
    let back_ids: Vec<_> = back.runs.iter().map(|r| r.id).collect();
    assert_eq!(back_ids.len(), 7);
    assert!(back_ids.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(*back_ids.last().unwrap(), ids[23]);
}

#[tokio::test]
async fn polls_return_new_matching_runs_and_watched_runs_only() {
    let (pool, ws) = db().await;
    let ids = history(&pool, &ws).await;
    let watched =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0 + 40 * 60_000))
            .await
            .unwrap();
    let newest = watched;
    let fresh_in =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Company, T0 + 41 * 60_000))
            .await
            .unwrap();
    let _fresh_out =
        begin_run(&pool, &ws, &new_run(Direction::Outbound, ObjectType::Company, T0 + 42 * 60_000))
            .await
            .unwrap();
    append_records(&pool, &ws, watched, &[rec(RecordStatus::Success, RecordAction::Updated, None)])
        .await
        .unwrap();
    let f = RunFilters { direction: Some(Direction::Inbound), ..Default::default() };
    let w = |id: RunId, processed: Option<i64>| WatchedRun { id, processed };
    let polled = poll_runs(&pool, &ws, &f, Some(newest), &[w(watched, Some(0)), w(ids[0], None)])
        .await
        .unwrap();
    let polled_ids: Vec<_> = polled.iter().map(|r| r.id).collect();
    assert_eq!(polled_ids, vec![fresh_in, watched, ids[0]]);
    assert_eq!(polled[1].counts.updated, 1);
    // A watched run still in progress with the records the page shows is left out: nothing moved.
    let quiet = poll_runs(&pool, &ws, &f, Some(fresh_in), &[w(watched, Some(1))]).await.unwrap();
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(WatchedRun::parse(&format!("{watched}~7")), Some(w(watched, Some(7))));
    assert_eq!(WatchedRun::parse(&format!("{watched}~x")), None);
    // Another workspace's run is never returned, even when asked for by id.
    let other = WorkspaceId("ws-b".into());
    assert!(poll_runs(&pool, &other, &RunFilters::default(), None, &[w(watched, None)])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn workspaces_never_see_each_other() {
    let (pool, ws) = db().await;
    let other = WorkspaceId("ws-b".into());
    let ids = history(&pool, &ws).await;
    assert!(workspace_has_runs(&pool, &ws).await.unwrap());
    assert!(!workspace_has_runs(&pool, &other).await.unwrap());
    assert!(list_runs(&pool, &other, &RunFilters::default(), 50).await.unwrap().runs.is_empty());
    assert!(get_run(&pool, &other, ids[0]).await.unwrap().is_none());
    assert!(append_records(
        &pool,
        &other,
        ids[0],
        &[rec(RecordStatus::Success, RecordAction::Created, None)]
    )
    .await
    .is_err());
    assert!(!finish_run(&pool, &other, ids[0], T0).await.unwrap());
    assert_eq!(health(&pool, &other, 0, T0).await.unwrap().runs_completed, 0);
    // A run's records are reached only through the run's own workspace.
    let run =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Lead, T0 + 99 * 60_000))
            .await
            .unwrap();
    append_records(&pool, &ws, run, &[rec(RecordStatus::Success, RecordAction::Created, None)])
        .await
        .unwrap();
    assert_eq!(
        list_records(&pool, &ws, run, &RecordFilter::default(), 50).await.unwrap().records.len(),
        1
    );
    assert_eq!(poll_records(&pool, &ws, run, None, None, 50).await.unwrap().len(), 1);
    assert!(list_records(&pool, &other, run, &RecordFilter::default(), 50)
        .await
        .unwrap()
        .records
        .is_empty());
    assert!(poll_records(&pool, &other, run, None, None, 50).await.unwrap().is_empty());
}

#[tokio::test]
async fn records_page_by_status_with_cursors() {
    let (pool, ws) = db().await;
    let id = begin_run(&pool, &ws, &new_run(Direction::Outbound, ObjectType::Contact, T0))
        .await
        .unwrap();
    let records: Vec<_> = (0..120)
        .map(|i| {
            if i % 4 == 0 {
                rec(RecordStatus::Failed, RecordAction::Updated, Some(RecordMessage::RecordLocked))
            } else {
                rec(RecordStatus::Success, RecordAction::Updated, None)
            }
        })
        .collect();
    append_records(&pool, &ws, id, &records).await.unwrap();

    let first = list_records(&pool, &ws, id, &RecordFilter::default(), 50).await.unwrap();
    assert_eq!(first.records.len(), 50);
    assert_eq!(first.records[0].seq, 0);
    assert_eq!(first.earlier, None);
    assert_eq!(first.later, Some(49));
    let second = list_records(
        &pool,
        &ws,
        id,
        &RecordFilter { after: first.later, ..Default::default() },
        50,
    )
    .await
    .unwrap();
    assert_eq!(second.records[0].seq, 50);
    assert_eq!(second.earlier, Some(50));
    let back = list_records(
        &pool,
        &ws,
        id,
        &RecordFilter { before: second.earlier, ..Default::default() },
        50,
    )
    .await
    .unwrap();
    assert_eq!(back.records.iter().map(|r| r.seq).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());

    let failed = list_records(
        &pool,
        &ws,
        id,
        &RecordFilter { status: Some(RecordStatus::Failed), ..Default::default() },
        50,
    )
    .await
    .unwrap();
    assert_eq!(failed.records.len(), 30);
    assert!(failed.records.iter().all(
        |r| r.status == RecordStatus::Failed && r.message == Some(RecordMessage::RecordLocked)
    ));
    assert_eq!(failed.later, None);

    let polled = poll_records(&pool, &ws, id, None, Some(115), 50).await.unwrap();
    assert_eq!(polled.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![116, 117, 118, 119]);
}

#[tokio::test]
async fn health_sums_the_window_and_groups_messages() {
    let (pool, ws) = db().await;
    let ok =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0)).await.unwrap();
    append_records(
        &pool,
        &ws,
        ok,
        &[
            rec(RecordStatus::Success, RecordAction::Created, None),
            rec(RecordStatus::Skipped, RecordAction::Created, Some(RecordMessage::MissingEmail)),
            rec(RecordStatus::Skipped, RecordAction::Created, Some(RecordMessage::MissingEmail)),
            rec(RecordStatus::Failed, RecordAction::Updated, Some(RecordMessage::InvalidTimestamp)),
        ],
    )
    .await
    .unwrap();
    finish_run(&pool, &ws, ok, T0 + 100).await.unwrap();
    let bad = begin_run(&pool, &ws, &new_run(Direction::Outbound, ObjectType::Contact, T0 + 1_000))
        .await
        .unwrap();
    fail_run(
        &pool,
        &ws,
        bad,
        T0 + 1_100,
        &RunFailure { message: RunMessage::AuthenticationFailure, detail: String::new() },
    )
    .await
    .unwrap();
    // Older than the window: not counted.
    let old =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0 - 100_000_000))
            .await
            .unwrap();
    append_records(&pool, &ws, old, &[rec(RecordStatus::Success, RecordAction::Created, None)])
        .await
        .unwrap();
    finish_run(&pool, &ws, old, T0 - 99_000_000).await.unwrap();

    let now = T0 + 3 * 3_600_000 + 5;
    let h = health(&pool, &ws, T0 - 1, now).await.unwrap();
    assert_eq!((h.runs_completed, h.runs_failed), (1, 1));
    assert_eq!((h.records_synced, h.records_skipped, h.records_failed), (1, 2, 1));
    assert_eq!(h.last_inbound.unwrap().id, ok);
    assert_eq!(h.last_outbound.unwrap().id, bad);
    assert_eq!(h.record_messages[0].message, RecordMessage::MissingEmail);
    assert_eq!(h.record_messages[0].records, 2);
    assert_eq!(h.run_failures, vec![(RunMessage::AuthenticationFailure, 1)]);
    assert_eq!(h.record_messages[0].latest_run, ok);
    // Both groups come from inbound contact runs only: their links narrow to that.
    assert_eq!(
        (h.record_messages[0].direction, h.record_messages[0].object),
        (Some(Direction::Inbound), Some(ObjectType::Contact))
    );
    // The chart: 24 hours, the last one holding "now", adding up to the totals.
    assert_eq!(h.hourly.len(), 24);
    assert_eq!(h.hourly[23].hour_ms, now / 3_600_000 * 3_600_000);
    assert!(h.hourly.windows(2).all(|w| w[1].hour_ms - w[0].hour_ms == 3_600_000));
    assert_eq!(h.hourly.iter().map(|b| b.synced).sum::<i64>(), h.records_synced);
    assert_eq!(h.hourly.iter().map(|b| b.failed_runs).sum::<i64>(), 1);
}

#[tokio::test]
async fn health_groups_mixed_directions_without_narrowing_and_the_chart_ends_now() {
    let (pool, ws) = db().await;
    for (d, o, at) in [
        (Direction::Inbound, ObjectType::Contact, T0),
        (Direction::Outbound, ObjectType::Company, T0 + 10),
    ] {
        let run = begin_run(&pool, &ws, &new_run(d, o, at)).await.unwrap();
        append_records(
            &pool,
            &ws,
            run,
            &[rec(RecordStatus::Skipped, RecordAction::Updated, Some(RecordMessage::DoNotSync))],
        )
        .await
        .unwrap();
        finish_run(&pool, &ws, run, at + 5).await.unwrap();
    }
    // A day and a half later nothing ran: still 24 bars, ending at the current hour.
    let now = T0 + 36 * 3_600_000;
    let h = health(&pool, &ws, now - 24 * 3_600_000, now).await.unwrap();
    assert_eq!(h.hourly.len(), 24);
    assert_eq!(h.hourly[23].hour_ms, now / 3_600_000 * 3_600_000);
    assert!(h.hourly.iter().all(|b| b.synced + b.skipped + b.failed == 0));
    let h = health(&pool, &ws, T0 - 1, T0 + 60_000).await.unwrap();
    let g = &h.record_messages[0];
    assert_eq!(
        (g.message, g.records, g.runs, g.direction, g.object),
        (RecordMessage::DoNotSync, 2, 2, None, None)
    );
    assert_eq!(h.hourly.iter().map(|b| b.skipped).sum::<i64>(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_a_file_database_all_succeed() {
    let path = std::env::temp_dir().join(format!("sync-store-test-{}.db", uuid::Uuid::now_v7()));
    let pool = open(&Location::File(path.clone())).await.unwrap();
    let ws = WorkspaceId("ws-a".into());
    ensure_workspace(&pool, &ws, "A", T0).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (pool, ws) = (pool.clone(), ws.clone());
        tasks.push(tokio::spawn(async move {
            let id =
                begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Contact, T0 + i))
                    .await?;
            for _ in 0..25 {
                // A reader between writes, as the live page does.
                get_run(&pool, &ws, id).await?;
                let chunk = vec![rec(RecordStatus::Success, RecordAction::Updated, None); 20];
                append_records(&pool, &ws, id, &chunk).await?;
            }
            finish_run(&pool, &ws, id, T0 + 1_000).await?;
            Ok::<_, StoreError>(id)
        }));
    }
    for t in tasks {
        let id = t.await.unwrap().expect("every writer succeeds");
        assert_eq!(get_run(&pool, &ws, id).await.unwrap().unwrap().counts.updated, 500);
    }
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn settings_round_trip_with_defaults_first() {
    use crate::domain::settings::SyncSettings;
    let (pool, ws) = db().await;
    let defaults = load_settings(&pool, &ws).await.unwrap();
    assert_eq!(defaults, SyncSettings::default());
    assert!(defaults.syncs_inbound(ObjectType::Event));
    let mine = SyncSettings {
        write_contacts: false,
        update_only: true,
        excluded_domains: vec!["example.com".into()],
        contact_fields: vec![crate::domain::ContactField::parse("email").unwrap()],
        company_fields: vec![crate::domain::CompanyField::parse("website").unwrap()],
        inbound_objects: vec![ObjectType::Contact, ObjectType::Company],
        interval_secs: Some(300),
        ..SyncSettings::default()
    };
    save_settings(&pool, &ws, &mine).await.unwrap();
    let back = load_settings(&pool, &ws).await.unwrap();
    assert_eq!(back, mine);
    assert!(!back.syncs_inbound(ObjectType::Event));
    // Another workspace keeps its defaults.
    assert_eq!(
        load_settings(&pool, &WorkspaceId("ws-b".into())).await.unwrap(),
        SyncSettings::default()
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.db");
    let pool = crate::store::open_file(&path).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    pool.close().await;
}

#[tokio::test]
async fn a_nul_character_in_a_records_text_is_kept_as_a_replacement_character() {
    // A malformed record from Salesforce can carry a NUL, which PostgreSQL's text cannot hold: the
    // record is still written, on either backend, with U+FFFD where the NUL was.
    let (pool, ws) = db().await;
    let run =
        begin_run(&pool, &ws, &new_run(Direction::Inbound, ObjectType::Event, T0)).await.unwrap();
    let bad = NewRecord {
        label: Some("Webinar\0".into()),
        detail: Some("Event_Name__c contains a NUL character".into()),
        ..rec(RecordStatus::Failed, RecordAction::Created, Some(RecordMessage::EncodeFailed))
    };
    append_records(&pool, &ws, run, &[bad]).await.unwrap();
    let page = list_records(&pool, &ws, run, &RecordFilter::default(), 10).await.unwrap();
    assert_eq!(page.records[0].label.as_deref(), Some("Webinar\u{FFFD}"));
    assert_eq!(page.records[0].message, Some(RecordMessage::EncodeFailed));
}

/// Every foreign key's columns lead an index of the child table. Deleting a parent row (retention
/// deleting runs, above all) looks up its children by exactly those columns, for the cascade or
/// the check: without such an index each deleted row reads the whole child table (a step of
/// 1,000 runs took 34 s on PostgreSQL with 2.3 million message rows).
#[tokio::test]
async fn every_foreign_key_leads_an_index_of_its_table() {
    let (db, _) = db().await;
    let unindexed: Vec<String> = match &*db {
        Db::Sqlite(pool) => {
            let keys: Vec<(String, i64, String)> = sqlx::query_as(
                "SELECT m.name, f.id, group_concat(f.\"from\", ',') \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' GROUP BY m.name, f.id",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            let mut out = Vec::new();
            for (table, _, columns) in keys {
                let mut want: Vec<&str> = columns.split(',').collect();
                want.sort_unstable();
                let indexes: Vec<(String,)> =
                    sqlx::query_as("SELECT name FROM pragma_index_list(?)")
                        .bind(&table)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let mut led = false;
                for (index,) in indexes {
                    let mut lead: Vec<String> = sqlx::query_scalar(
                        "SELECT name FROM pragma_index_info(?) WHERE seqno < ? ORDER BY seqno",
                    )
                    .bind(&index)
                    .bind(want.len() as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    lead.sort_unstable();
                    led |= lead == want;
                }
                if !led {
                    out.push(format!("{table} ({columns})"));
                }
            }
            out
        }
        Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid) \
             FROM pg_constraint c WHERE c.contype = 'f' AND NOT EXISTS ( \
               SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
               AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey \
               AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey) \
             ORDER BY 1",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    assert!(unindexed.is_empty(), "foreign keys no index starts with: {unindexed:#?}");
}
