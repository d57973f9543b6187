//! The engine's hold on a piece of sync work ([`app::store::leases`]): several servers on one
//! database share the work of every workspace, and at most one does each piece at a time.
//!
//! A [`Held`] lease is renewed by a heartbeat every third of its time, and fences every write made
//! under it: [`Held::begin`] opens the write's transaction with the renewal, which fails once
//! another server has taken the work over. A server that paused past its lease (a stopped
//! process, a long GC-like stall, a cut network) therefore writes nothing when it wakes: its
//! writes end with [`SyncError::LeaseLost`] and the work goes on elsewhere from the last commit.
//! Dropped, the lease is let go (also on error or cancellation); a process that dies lets it
//! run out.

use super::{Engine, SyncError};
use app::domain::Direction;
use app::store::leases::{self, Due, Refused};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A piece of work this server holds.
pub struct Held {
    engine: Engine,
    work: String,
    fence: i64,
    taken_from: Option<String>,
    heartbeat: CancellationToken,
    /// When the work was done (the schedule counts from it), set by [`Held::done`].
    done_at: Option<i64>,
    released: bool,
}

impl Engine {
    /// Claims `work` for this server, or says why not (a server holds it; for [`Due::Every`], it
    /// is not due). The claim is renewed in the background until the [`Held`] is let go.
    pub(crate) async fn claim_work(
        &self,
        work: String,
        due: Due,
    ) -> Result<Result<Held, Refused>, SyncError> {
        let cfg = self.config();
        let ttl = super::millis(cfg.lease_ttl);
        let claimed = leases::claim(
            self.pool(),
            self.workspace(),
            &work,
            &cfg.instance,
            self.now_ms(),
            ttl,
            due,
        )
        .await?;
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(refused) => return Ok(Err(refused)),
        };
        if let Some(from) = claimed.taken_from.as_deref().filter(|f| *f != cfg.instance) {
            tracing::warn!(%work, server = from, fence = claimed.fence, "took over work whose server stopped renewing its lease");
        }
        cfg.held.fetch_add(1, Ordering::Relaxed);
        let heartbeat = self.cancel_token().child_token();
        tokio::spawn(beat(self.clone(), work.clone(), claimed.fence, heartbeat.clone()));
        Ok(Ok(Held {
            engine: self.clone(),
            work,
            fence: claimed.fence,
            taken_from: claimed.taken_from,
            heartbeat,
            done_at: None,
            released: false,
        }))
    }
}

impl Held {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn fence(&self) -> i64 {
        self.fence
    }

    /// Opens a write transaction fenced by this lease: its first statement renews the lease by
    /// its fence, so it fails with [`SyncError::LeaseLost`] once another server has claimed the
    /// work, and nobody can claim it before this transaction ends.
    pub async fn begin(&self) -> Result<app::store::Tx, SyncError> {
        let engine = &self.engine;
        let mut tx = engine.pool().begin().await?;
        let ttl = super::millis(engine.config().lease_ttl);
        let ours = leases::renew(
            &mut tx,
            engine.workspace(),
            &self.work,
            self.fence,
            engine.now_ms(),
            ttl,
        )
        .await?;
        if !ours {
            return Err(SyncError::LeaseLost(self.work.clone()));
        }
        Ok(tx)
    }

    /// Fails the runs of this work left in progress: by a server that stopped (whose lease this
    /// one took over: each says which), or by this one when it could not write their end.
    pub(crate) async fn fail_left_runs(
        &self,
        direction: Direction,
        object: Option<app::domain::ObjectType>,
    ) -> Result<(), SyncError> {
        let now = self.engine.now_ms();
        self.fail_left_runs_at(direction, object, now).await.inspect_err(|e| {
            if let SyncError::Store(e) = e {
                self.engine.storage().report(e, now);
            }
        })
    }

    async fn fail_left_runs_at(
        &self,
        direction: Direction,
        object: Option<app::domain::ObjectType>,
        now: i64,
    ) -> Result<(), SyncError> {
        let engine = &self.engine;
        let mut tx = self.begin().await?;
        let failed = match self.taken_from.as_deref() {
            Some(server) if server != engine.config().instance => {
                app::store::fail_taken_over_in(
                    &mut tx,
                    engine.workspace(),
                    direction,
                    object,
                    now,
                    server,
                )
                .await?
            }
            _ => {
                app::store::fail_abandoned_runs(
                    &mut tx,
                    engine.workspace(),
                    direction,
                    object,
                    now,
                    super::abandoned_detail(direction),
                )
                .await?
            }
        };
        tx.commit().await?;
        if failed > 0 {
            tracing::warn!(failed, %direction, taken_from = ?self.taken_from, "failed runs left in progress");
        }
        Ok(())
    }

    /// Lists a new run of this work, fenced.
    pub async fn begin_run(
        &self,
        run: &app::store::NewRun,
        listed_at: i64,
    ) -> Result<app::domain::RunId, SyncError> {
        let mut tx = self.begin().await?;
        let id = app::store::begin_run_listed_at(&mut tx, self.engine.workspace(), run, listed_at)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks a run of this work completed, fenced.
    pub async fn finish_run(&self, id: app::domain::RunId) -> Result<(), SyncError> {
        let mut tx = self.begin().await?;
        let now = self.engine.now_ms();
        app::store::finish_run(&mut tx, self.engine.workspace(), id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The work was done now: a scheduled claim waits its interval from here.
    pub fn done(&mut self) {
        self.done_at = Some(self.engine.now_ms());
    }

    /// Lets the lease go now, so the next claim (this server's or another's) finds it free.
    pub async fn release(mut self) {
        self.heartbeat.cancel();
        self.released = true;
        let engine = &self.engine;
        if let Err(e) =
            leases::release(engine.pool(), engine.workspace(), &self.work, self.fence, self.done_at)
                .await
        {
            tracing::warn!(work = %self.work, error = %e, "could not let a lease go; it runs out instead");
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.engine.config().held.fetch_sub(1, Ordering::Relaxed);
        self.heartbeat.cancel();
        if self.released {
            return;
        }
        let (engine, work, fence, done_at) =
            (self.engine.clone(), std::mem::take(&mut self.work), self.fence, self.done_at);
        // Let go at once, so the next claim (this server's next pass, or another's) need not wait
        // for it to run out; outside a runtime (shutting down) it runs out instead.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) =
                    leases::release(engine.pool(), engine.workspace(), &work, fence, done_at).await
                {
                    tracing::warn!(%work, error = %e, "could not let a lease go; it runs out instead");
                }
            });
        }
    }
}

/// Renews the lease every third of its time until `stop`; stops when the lease is no longer ours.
async fn beat(engine: Engine, work: String, fence: i64, stop: CancellationToken) {
    let ttl = engine.config().lease_ttl;
    let every = (ttl / 3).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let renewed = leases::renew(
            engine.pool(),
            engine.workspace(),
            &work,
            fence,
            engine.now_ms(),
            super::millis(ttl),
        )
        .await;
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(%work, fence, "lost the lease to another server; its writes stop here");
                return;
            }
            Err(e) => tracing::warn!(%work, error = %e, "could not renew a lease; trying again"),
        }
    }
}
