//! Background upkeep of the database.

use sqlx::SqlitePool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the WAL is checkpointed in the background.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Checkpoints the WAL every `every` until cancelled. The copy runs on a pool connection of its
/// own, beside the engine's writes rather than inside its commits: measured on the 1,000,000-record
/// backfill, commits went from 7.0 s (the writer checkpointing every ~40 MB) and 10.4 s (SQLite's
/// default ~4 MB) to 3.8 s.
pub async fn checkpoint_wal_every(pool: SqlitePool, every: Duration, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = app::store::checkpoint_wal(&pool).await {
            tracing::warn!(error = %e, "background WAL checkpoint failed");
        }
    }
}
