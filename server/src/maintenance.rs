//! Background upkeep of the database: checkpoints, giving back the WAL's disk space and the page
//! cache's memory once writes settle, and noticing when writing works again after a storage
//! failure.

use crate::sync::Engines;
use app::state::Clock;
use app::store::{self, StorageHealth};
use sqlx::SqlitePool;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the WAL is checkpointed in the background.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A WAL file past this size is emptied once writes settle; a smaller one is not worth the
/// exclusive moment that takes.
pub const SETTLED_WAL_LIMIT: u64 = 4 * 1024 * 1024;

/// Checkpoints in a row that find nothing new before writes count as settled: two seconds at the
/// server's pace, longer than a backfill's wait for its next page of a few hundred ms.
pub const SETTLED_AFTER: u32 = 4;

/// How often the database is tried while it cannot be written.
pub const CHECK_WRITABLE_EVERY: Duration = Duration::from_secs(1);

/// Checkpoints the WAL every `every` until cancelled. The copy runs on a pool connection of its
/// own, beside the engine's writes rather than inside its commits: measured on the 1,000,000-record
/// backfill, commits went from 7.0 s (the writer checkpointing every ~40 MB) and 10.4 s (SQLite's
/// default ~4 MB) to 3.8 s.
///
/// Once writes settle (checkpoints find every frame copied and none added for [`SETTLED_AFTER`] in
/// a row) after a large write, the WAL file is emptied and the idle connections give back their page
/// cache: SQLite by itself keeps both at their largest for as long as the server runs.
pub async fn checkpoint_wal_every(pool: SqlitePool, every: Duration, cancel: CancellationToken) {
    upkeep(pool, StorageHealth::default(), every, cancel).await
}

/// [`checkpoint_wal_every`], reporting the storage failures it meets to `storage`.
pub async fn upkeep(
    pool: SqlitePool,
    storage: StorageHealth,
    every: Duration,
    cancel: CancellationToken,
) {
    let wal = store::wal_path(&pool);
    let (mut last_frames, mut quiet) = (-1, 0u32);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let state = match store::checkpoint_wal(&pool).await {
            Ok(state) => state,
            Err(e) => {
                storage.report(&e, chrono::Utc::now().timestamp_millis());
                tracing::warn!(error = %e, "background WAL checkpoint failed");
                continue;
            }
        };
        // Settled: everything copied, and nothing written for SETTLED_AFTER checkpoints in a row
        // (a backfill waiting for its next page from Salesforce is not done writing).
        quiet = if state.frames == last_frames && state.checkpointed == state.frames {
            quiet.saturating_add(1)
        } else {
            0
        };
        last_frames = state.frames;
        if quiet < SETTLED_AFTER {
            continue;
        }
        let size = tokio::fs::metadata(&wal).await.map(|m| m.len()).unwrap_or(0);
        if size <= SETTLED_WAL_LIMIT {
            continue;
        }
        match store::truncate_wal(&pool).await {
            Ok(true) => {
                last_frames = 0;
                match store::release_idle_memory(&pool).await {
                    Ok(n) => {
                        let _ = tokio::task::spawn_blocking(store::return_freed_memory).await;
                        tracing::info!(
                            wal_bytes = size,
                            connections = n,
                            "writes settled: WAL emptied, page cache given back"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "page cache could not be given back"),
                }
            }
            // Readers or a writer were busy: tried again at the next settled checkpoint.
            Ok(false) => {}
            Err(e) => {
                storage.report(&e, chrono::Utc::now().timestamp_millis());
                tracing::warn!(error = %e, "emptying the WAL failed");
            }
        }
    }
}

/// While `storage` has a problem, tries a write every `every`; once one works, the problem is
/// over, the pool replaces the connections that went through it, and the engines are woken so
/// outbound pushes what waited and inbound carries on from its last saved batch (within one
/// interval), in every workspace. A damaged file is not tried again: it does not heal.
pub async fn watch_storage(
    pool: app::store::Db,
    storage: StorageHealth,
    clock: Arc<dyn Clock>,
    engines: Engines,
    every: Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = storage.problem_reported() => {}
        }
        if storage
            .problem()
            .is_some_and(|p| p.failure == app::domain::health::StorageFailure::Damaged)
        {
            cancel.cancelled().await;
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        match store::check_writable(&pool, clock.now_ms()).await {
            Ok(()) => {
                storage.recovered();
                engines.wake_all();
            }
            Err(e) => {
                storage.report(&e, clock.now_ms());
            }
        }
    }
}
