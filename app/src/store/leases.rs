//! Who does each piece of a workspace's sync work (`sync_leases`): the inbound sync of each object
//! type (`inbound:{object}`) and the workspace's outbox (`outbound`). This module owns the table.
//!
//! A server claims work whose lease is free or has run out, keeps it by renewing it, and loses it
//! when it stops. Each claim takes the next `fence`; every write made under a lease first renews
//! it by that fence in the write's own transaction ([`renew`]), which both proves the lease is
//! still this server's and holds the row until the write commits, so a server that lost its lease
//! while paused writes nothing once another has claimed the work. At most one server does a piece
//! of work at a time, and the one that takes over from a server that died learns which it was
//! (`taken_from`).

use super::{Db, Exec, StoreError, WorkspaceId};
use crate::domain::{Direction, ObjectType};

/// The lease's name for a piece of work.
pub fn inbound_work(object: ObjectType) -> String {
    format!("inbound:{}", object.as_str())
}

pub const OUTBOUND_WORK: &str = "outbound";

/// The work a run belongs to.
pub fn work_of(direction: Direction, object: ObjectType) -> String {
    match direction {
        Direction::Inbound => inbound_work(object),
        Direction::Outbound => OUTBOUND_WORK.to_string(),
    }
}

/// A lease just claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub fence: i64,
    /// The server that held the lease until it ran out, when it had not let it go: its work
    /// may have stopped midway.
    pub taken_from: Option<String>,
}

/// Why a claim was not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A server holds the work (its lease has not run out).
    HeldBy(String),
    /// No one holds it, but it was done less than an interval ago ([`Due::Every`]).
    NotDue,
}

/// When the work may be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Now, if no one holds it ("Sync now", a push, a test).
    Now,
    /// Only once this long (ms) has passed since the work was last done, by any server: the
    /// schedule.
    Every(i64),
}

/// Claims `work` for `holder` until `now + ttl_ms`, if it is free or its holder let it run out
/// (and, for [`Due::Every`], if it is due). One statement, so two servers claiming at once cannot
/// both win.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    db: &Db,
    ws: &WorkspaceId,
    work: &str,
    holder: &str,
    now: i64,
    ttl_ms: i64,
    due: Due,
) -> Result<Result<Claimed, Refused>, StoreError> {
    on_db!(db, |pool| {
        let every = match due {
            Due::Now => None,
            Due::Every(ms) => Some(ms),
        };
        let row: Option<(i64, Option<String>)> = sqlx::query_as(
            "INSERT INTO sync_leases (workspace_id, work, holder, fence, expires_at, claimed_at) \
             VALUES ($1, $2, $3, 1, $4 + $5, $4) \
             ON CONFLICT (workspace_id, work) DO UPDATE SET \
               taken_from = sync_leases.holder, holder = excluded.holder, \
               fence = sync_leases.fence + 1, expires_at = excluded.expires_at, \
               claimed_at = excluded.claimed_at \
             WHERE (sync_leases.holder IS NULL OR sync_leases.expires_at <= $4) \
               AND ($6 IS NULL OR sync_leases.done_at <= $4 - $6) \
             RETURNING fence, taken_from",
        )
        .bind(ws.as_str())
        .bind(work)
        .bind(holder)
        .bind(now)
        .bind(ttl_ms)
        .bind(every)
        .fetch_optional(pool)
        .await?;
        if let Some((fence, taken_from)) = row {
            return Ok(Ok(Claimed { fence, taken_from }));
        }
        let holder: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT holder FROM sync_leases WHERE workspace_id = $1 AND work = $2 AND expires_at > $3",
        )
        .bind(ws.as_str())
        .bind(work)
        .bind(now)
        .fetch_optional(pool)
        .await?;
        Ok(Err(match holder {
            Some((Some(by),)) => Refused::HeldBy(by),
            _ => Refused::NotDue,
        }))
    })
}

/// At a server's start: the leases held under its name are from its previous life (a process
/// holds nothing before it starts), so they are let go at once rather than left to run out.
/// Server names must therefore be unique among running servers.
pub async fn release_all_of(db: &Db, holder: &str) -> Result<u64, StoreError> {
    on_db!(db, |pool| {
        let done = sqlx::query(
            "UPDATE sync_leases SET holder = NULL, expires_at = 0, taken_from = NULL WHERE holder = $1",
        )
        .bind(holder)
        .execute(pool)
        .await?;
        Ok(done.rows_affected())
    })
}

/// Keeps the lease claimed with `fence` until at least `now + ttl_ms`. False when it is no longer
/// that claim (another server took the work). Run first in a write's transaction, it fences the
/// write: the row stays locked until the transaction ends, so no one can claim the work between
/// this check and the commit.
pub async fn renew<'a>(
    on: impl Into<Exec<'a>>,
    ws: &WorkspaceId,
    work: &str,
    fence: i64,
    now: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    let done = on_exec!(on.into(), |e, pg| sqlx::query(if pg {
        "UPDATE sync_leases SET expires_at = GREATEST(expires_at, $1 + $2) \
         WHERE workspace_id = $3 AND work = $4 AND fence = $5"
    } else {
        "UPDATE sync_leases SET expires_at = MAX(expires_at, $1 + $2) \
         WHERE workspace_id = $3 AND work = $4 AND fence = $5"
    })
    .bind(now)
    .bind(ttl_ms)
    .bind(ws.as_str())
    .bind(work)
    .bind(fence)
    .execute(e)
    .await?
    .rows_affected());
    Ok(done == 1)
}

/// Lets the lease go, if it is still this claim; `done_at`: the work was done then (the schedule
/// counts from it).
pub async fn release(
    db: &Db,
    ws: &WorkspaceId,
    work: &str,
    fence: i64,
    done_at: Option<i64>,
) -> Result<bool, StoreError> {
    on_db!(db, |pool| {
        let done = sqlx::query(
            "UPDATE sync_leases SET holder = NULL, expires_at = 0, taken_from = NULL, \
             done_at = COALESCE($1, done_at) WHERE workspace_id = $2 AND work = $3 AND fence = $4",
        )
        .bind(done_at)
        .bind(ws.as_str())
        .bind(work)
        .bind(fence)
        .execute(pool)
        .await?;
        Ok(done.rows_affected() == 1)
    })
}

/// When any server last finished a piece of the workspace's inbound sync (`None`: never). The
/// schedule of every server counts from it, so all of them wake at about the same time and which
/// one syncs is left to chance, rather than to whichever started first.
pub async fn last_inbound_done(db: &Db, ws: &WorkspaceId) -> Result<Option<i64>, StoreError> {
    on_db!(db, |pool| {
        let (last,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(done_at) FROM sync_leases WHERE workspace_id = $1 AND work LIKE 'inbound:%' \
             AND done_at > 0",
        )
        .bind(ws.as_str())
        .fetch_one(pool)
        .await?;
        Ok(last)
    })
}

/// A workspace's lease, for operators: who does what.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub work: String,
    /// None: free.
    pub holder: Option<String>,
    pub fence: i64,
    pub expires_at: i64,
    pub claimed_at: Option<i64>,
    /// When the work was last done (0: never).
    pub done_at: i64,
}

/// The workspace's leases, by work.
pub async fn leases(db: &Db, ws: &WorkspaceId) -> Result<Vec<Lease>, StoreError> {
    on_db!(db, |pool| {
        sqlx::query_as(
            "SELECT work, holder, fence, expires_at, claimed_at, done_at FROM sync_leases \
             WHERE workspace_id = $1 ORDER BY work",
        )
        .bind(ws.as_str())
        .fetch_all(pool)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ensure_workspace, testing};

    const TTL: i64 = 30_000;

    async fn fresh() -> (testing::TestDb, WorkspaceId) {
        let pool = testing::test_db().await.expect("test database");
        let ws = WorkspaceId("ws-a".into());
        ensure_workspace(&pool, &ws, "A", 0).await.unwrap();
        (pool, ws)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_lapsed_lease_is_taken_over() {
        let (pool, ws) = fresh().await;
        let work = inbound_work(ObjectType::Contact);
        let a = claim(&pool, &ws, &work, "a", 1_000, TTL, Due::Now).await.unwrap().unwrap();
        assert_eq!(a, Claimed { fence: 1, taken_from: None });
        // Held: no one else, not even the holder a second time.
        assert_eq!(
            claim(&pool, &ws, &work, "b", 2_000, TTL, Due::Now).await.unwrap().err(),
            Some(Refused::HeldBy("a".into()))
        );
        assert_eq!(
            claim(&pool, &ws, &work, "a", 2_000, TTL, Due::Now).await.unwrap().err(),
            Some(Refused::HeldBy("a".into()))
        );
        // Other work, and the same work of another object, are separate.
        assert!(claim(&pool, &ws, OUTBOUND_WORK, "b", 2_000, TTL, Due::Now).await.unwrap().is_ok());
        // Renewed, it lasts.
        assert!(renew(&pool, &ws, &work, a.fence, 20_000, TTL).await.unwrap());
        assert_eq!(
            claim(&pool, &ws, &work, "b", 40_000, TTL, Due::Now).await.unwrap().err(),
            Some(Refused::HeldBy("a".into()))
        );
        // Not renewed, it lapses: b takes it over and learns from whom.
        let b = claim(&pool, &ws, &work, "b", 50_000, TTL, Due::Now).await.unwrap().unwrap();
        assert_eq!(b, Claimed { fence: 2, taken_from: Some("a".into()) });
        // a, back from its pause, can neither renew nor let go of b's lease.
        assert!(!renew(&pool, &ws, &work, a.fence, 50_001, TTL).await.unwrap());
        assert!(!release(&pool, &ws, &work, a.fence, Some(50_001)).await.unwrap());
        let held = leases(&pool, &ws).await.unwrap();
        let contact = held.iter().find(|l| l.work == work).unwrap();
        assert_eq!((contact.holder.as_deref(), contact.fence), (Some("b"), 2));
        // Let go, it is free at once, and whoever claims it next took it from no one.
        assert!(release(&pool, &ws, &work, b.fence, Some(51_000)).await.unwrap());
        let c = claim(&pool, &ws, &work, "c", 51_001, TTL, Due::Now).await.unwrap().unwrap();
        assert_eq!(c, Claimed { fence: 3, taken_from: None });
        // Restarted under its name, c lets go of what its previous life held, at once.
        assert_eq!(release_all_of(&pool, "c").await.unwrap(), 1);
        let d = claim(&pool, &ws, &work, "d", 51_002, TTL, Due::Now).await.unwrap().unwrap();
        assert_eq!(d, Claimed { fence: 4, taken_from: None });
    }

    #[tokio::test]
    async fn a_scheduled_claim_waits_for_its_interval_since_the_work_was_last_done() {
        let (pool, ws) = fresh().await;
        let work = inbound_work(ObjectType::Company);
        let every = Due::Every(20_000);
        // Never done: due.
        let a = claim(&pool, &ws, &work, "a", 1_000, TTL, every).await.unwrap().unwrap();
        assert_eq!(last_inbound_done(&pool, &ws).await.unwrap(), None);
        release(&pool, &ws, &work, a.fence, Some(5_000)).await.unwrap();
        // Every server's schedule counts from the last sync done by any of them.
        assert_eq!(last_inbound_done(&pool, &ws).await.unwrap(), Some(5_000));
        // Done at 5 s by a: not due for b before 25 s, except when asked for now.
        assert_eq!(
            claim(&pool, &ws, &work, "b", 24_999, TTL, every).await.unwrap(),
            Err(Refused::NotDue)
        );
        let b = claim(&pool, &ws, &work, "b", 25_000, TTL, every).await.unwrap().unwrap();
        release(&pool, &ws, &work, b.fence, None).await.unwrap();
        // A claim let go without being done does not move the schedule.
        assert!(claim(&pool, &ws, &work, "c", 25_001, TTL, every).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn a_write_fenced_by_a_lost_lease_is_not_made() {
        let (pool, ws) = fresh().await;
        let work = OUTBOUND_WORK;
        let a = claim(&pool, &ws, work, "a", 0, TTL, Due::Now).await.unwrap().unwrap();
        claim(&pool, &ws, work, "b", TTL, TTL, Due::Now).await.unwrap().unwrap();
        let mut tx = pool.begin().await.unwrap();
        assert!(!renew(&mut tx, &ws, work, a.fence, TTL + 1, TTL).await.unwrap());
        tx.rollback().await.unwrap();
    }
}
