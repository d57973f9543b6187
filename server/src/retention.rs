//! The retention pass: every few minutes, each workspace's runs older than the history it keeps
//! (7, 30, 90 or 365 days, chosen on the Overview) are deleted with their records, touches and
//! message rows, in small steps ([`app::store::delete_expired_step`]): each is a short
//! transaction of at most a thousand rows, with a pause between steps in which the engine and the
//! pages get the database. Several servers on one database may each run a pass: the deletes are
//! idempotent, so two passes only share the work.

use app::domain::retention::cutoff_ms;
use app::state::Clock;
use app::store::{self, Db, RetentionStep};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a pass starts.
pub const EVERY: Duration = Duration::from_secs(300);
/// The pause between two steps of a pass.
pub const BETWEEN_STEPS: Duration = Duration::from_millis(5);

/// What a pass deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub runs: u64,
    pub records: u64,
    pub index_rows: u64,
    pub steps: u64,
}

/// Deletes one workspace's expired history, a step at a time, pausing `between` steps.
pub async fn pass(
    db: &Db,
    ws: &store::WorkspaceId,
    now_ms: i64,
    between: Duration,
    cancel: &CancellationToken,
) -> Result<Deleted, store::StoreError> {
    let days = store::load_retention_days(db, ws).await?;
    let cutoff = cutoff_ms(now_ms, days);
    let mut out = Deleted::default();
    loop {
        if cancel.is_cancelled() {
            return Ok(out);
        }
        let step: RetentionStep = store::delete_expired_step(db, ws, cutoff).await?;
        out.steps += 1;
        out.runs += step.runs;
        out.records += step.records;
        out.index_rows += step.index_rows;
        if step.done {
            return Ok(out);
        }
        tokio::time::sleep(between).await;
    }
}

/// Runs a pass over every workspace every `every`, until cancelled.
pub async fn run(db: Db, clock: Arc<dyn Clock>, every: Duration, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let workspaces = match store::workspace_ids(&db).await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::warn!(error = %e, "retention: the workspaces could not be read");
                continue;
            }
        };
        for ws in workspaces {
            match pass(&db, &ws, clock.now_ms(), BETWEEN_STEPS, &cancel).await {
                Ok(d) if d.runs + d.records + d.index_rows > 0 => tracing::info!(
                    workspace = %ws, runs = d.runs, records = d.records, steps = d.steps,
                    "retention: deleted history older than the workspace keeps"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(workspace = %ws, error = %e, "retention pass failed"),
            }
        }
    }
}
