//! An alert's delivery (`alert_deliveries`) and each attempt at it (`alert_attempts`): queued
//! with its first attempt due at once, retried on the schedule the alert task keeps, listed on
//! the Overview.

use super::super::{Db, StoreError, Tx, WorkspaceId};
use crate::domain::alerts::{AlertAttempt, AlertReason, DeliveryState, TEST_KEY};
use crate::domain::RunId;
use uuid::Uuid;

/// Queues an alert in `tx`, its first attempt due at `now`; its id.
pub(super) async fn insert_in(
    tx: &mut Tx,
    ws: &WorkspaceId,
    reason: AlertReason,
    message: &str,
    run: Option<RunId>,
    folded: i64,
    now: i64,
) -> Result<i64, StoreError> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_scalar(
            "INSERT INTO alert_deliveries (workspace_id, reason, message, run_id, folded, created_at, state, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $6) RETURNING id",
        )
        .bind(ws.as_str())
        .bind(reason.as_str())
        .bind(message)
        .bind(run.map(|r| r.0))
        .bind(folded)
        .bind(now)
        .fetch_one(c)
        .await?
    }))
}

/// Queues a test alert, due at once; `None` when the workspace has no webhook.
pub async fn queue_test(db: &Db, ws: &WorkspaceId, now: i64) -> Result<Option<i64>, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_scalar(
            "INSERT INTO alert_deliveries (workspace_id, reason, message, folded, created_at, state, next_attempt_at) \
             SELECT workspace_id, 'test', $2, 0, $3, 'pending', $3 FROM alert_webhooks WHERE workspace_id = $1 \
             RETURNING id",
        )
        .bind(ws.as_str())
        .bind(TEST_KEY)
        .bind(now)
        .fetch_optional(pool)
        .await
    })
}

/// The webhook was switched off: its alerts not yet delivered will not be (test alerts still go).
pub(super) async fn cancel_pending_in(tx: &mut Tx, ws: &WorkspaceId) -> Result<u64, StoreError> {
    Ok(on_tx!(tx, |c| {
        sqlx::query(
            "UPDATE alert_deliveries SET state = 'cancelled', next_attempt_at = NULL \
             WHERE workspace_id = $1 AND state = 'pending' AND reason <> 'test'",
        )
        .bind(ws.as_str())
        .execute(c)
        .await?
        .rows_affected()
    }))
}

/// A delivery whose next attempt is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub reason: AlertReason,
    pub run: Option<RunId>,
    pub folded: i64,
    /// Attempts made so far.
    pub attempts: i64,
    pub created_at: i64,
    /// The body of the first attempt, which every retry sends again.
    pub body: Option<String>,
}

/// The workspace's deliveries due at `now`, the longest-waiting first (at most `limit`).
pub async fn due(db: &Db, ws: &WorkspaceId, now: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
    type Row = (i64, String, Option<Uuid>, i64, i64, i64, Option<String>);
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, reason, run_id, folded, attempts, created_at, body FROM alert_deliveries \
             WHERE workspace_id = $1 AND state = 'pending' AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at, id LIMIT $3",
        )
        .bind(ws.as_str())
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(id, reason, run, folded, attempts, created_at, body)| {
            let reason = AlertReason::parse(&reason).ok_or_else(|| {
                StoreError::Decode(format!("unknown alert reason {reason:?}").into())
            })?;
            Ok(Due { id, reason, run: run.map(RunId), folded, attempts, created_at, body })
        })
        .collect()
}

/// Keeps the body of a delivery's first attempt (every retry sends the same bytes).
pub async fn keep_body(db: &Db, ws: &WorkspaceId, id: i64, body: &str) -> Result<(), StoreError> {
    on_db!(db, |pool| {
        sqlx::query(
            "UPDATE alert_deliveries SET body = $3 WHERE workspace_id = $1 AND id = $2 AND body IS NULL",
        )
        .bind(ws.as_str())
        .bind(id)
        .bind(body)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// One attempt's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub at: i64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// Why no answer came, when none did.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What becomes of the delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    Delivered,
    /// The next attempt is due then.
    RetryAt(i64),
    GiveUp,
}

/// Records an attempt and what becomes of its delivery, in one transaction; the attempt's
/// number. A delivery cancelled meanwhile stays cancelled.
pub async fn record_attempt(
    db: &Db,
    ws: &WorkspaceId,
    id: i64,
    attempt: &Attempt,
    after: After,
) -> Result<i64, StoreError> {
    let (state, next) = match after {
        After::Delivered => (DeliveryState::Delivered, None),
        After::RetryAt(at) => (DeliveryState::Pending, Some(at)),
        After::GiveUp => (DeliveryState::GaveUp, None),
    };
    let mut tx = db.begin().await?;
    let number: i64 = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
            "UPDATE alert_deliveries SET attempts = attempts + 1, \
             state = CASE WHEN state = 'pending' THEN $3 ELSE state END, \
             next_attempt_at = CASE WHEN state = 'pending' THEN $4 ELSE NULL END \
             WHERE workspace_id = $1 AND id = $2 RETURNING attempts",
        )
        .bind(ws.as_str())
        .bind(id)
        .bind(state.as_str())
        .bind(next)
        .fetch_one(&mut *c)
        .await?
    });
    on_tx!(&mut tx, |c| {
        sqlx::query(
            "INSERT INTO alert_attempts (delivery_id, workspace_id, attempt, at, status_code, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(ws.as_str())
        .bind(number)
        .bind(attempt.at)
        .bind(attempt.status_code)
        .bind(attempt.error.as_deref())
        .bind(attempt.duration_ms)
        .execute(c)
        .await?;
    });
    tx.commit().await?;
    Ok(number)
}

/// The workspace's latest `limit` attempts, newest first, each with how its delivery stands now.
pub async fn recent_attempts(
    db: &Db,
    ws: &WorkspaceId,
    limit: u32,
) -> Result<Vec<AlertAttempt>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        delivery_id: i64,
        attempt: i64,
        at: i64,
        status_code: Option<i64>,
        error: Option<String>,
        duration_ms: i64,
        reason: String,
        run_id: Option<Uuid>,
        state: String,
        next_attempt_at: Option<i64>,
    }
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms, \
             d.reason, d.run_id, d.state, d.next_attempt_at \
             FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id \
             WHERE a.workspace_id = $1 ORDER BY a.id DESC LIMIT $2",
        )
        .bind(ws.as_str())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            let reason = AlertReason::parse(&r.reason).ok_or_else(|| {
                StoreError::Decode(format!("unknown alert reason {:?}", r.reason).into())
            })?;
            let state = DeliveryState::parse(&r.state).ok_or_else(|| {
                StoreError::Decode(format!("unknown delivery state {:?}", r.state).into())
            })?;
            Ok(AlertAttempt {
                delivery_id: r.delivery_id,
                attempt: r.attempt,
                at: r.at,
                status_code: r.status_code,
                error: r.error,
                duration_ms: r.duration_ms,
                reason,
                run_id: r.run_id.map(RunId),
                state,
                next_attempt_at: r.next_attempt_at,
            })
        })
        .collect()
}

/// A delivery as it stands (tests, and the API's answer to a test alert).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub reason: AlertReason,
    pub message: String,
    pub run: Option<RunId>,
    pub folded: i64,
    pub state: DeliveryState,
    pub attempts: i64,
}

/// The workspace's deliveries, oldest first.
pub async fn deliveries(db: &Db, ws: &WorkspaceId) -> Result<Vec<Delivery>, StoreError> {
    type Row = (i64, String, String, Option<Uuid>, i64, String, i64);
    let rows: Vec<Row> = on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT id, reason, message, run_id, folded, state, attempts FROM alert_deliveries \
             WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(ws.as_str())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(id, reason, message, run, folded, state, attempts)| {
            let decode = |what: &str, v: &str| {
                StoreError::Decode(format!("unknown alert {what} {v:?}").into())
            };
            Ok(Delivery {
                id,
                reason: AlertReason::parse(&reason).ok_or_else(|| decode("reason", &reason))?,
                message,
                run: run.map(RunId),
                folded,
                state: DeliveryState::parse(&state).ok_or_else(|| decode("state", &state))?,
                attempts,
            })
        })
        .collect()
}
