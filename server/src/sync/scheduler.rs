//! The engine's background loops, each small and cancellable: `tokio::select!` over a sleep, a
//! `Notify` and the cancellation token.
//!
//! - Inbound: every `interval` (or at once on "sync now"), each object in dependency order. An
//!   object is never synced twice at once ([`Engine::claim`]). One object's failure (not
//!   readable, an error of its own) fails that object's run and the pass goes on with the next;
//!   a connection that needs reconnecting or an exceeded daily limit pauses the whole loop.
//! - Outbound: wakes at once when the outbox has work; after a whole-run failure it backs off.

use super::batching::{retry_delay, stops_the_pass};
use super::inbound::InboundOutcome;
use super::mapping::INBOUND_ORDER;
use super::{inbound, outbound, state, Engine, SyncError};
use app::domain::{ObjectType, Trigger};
use app::store::leases::{Due, Refused};
use std::time::Duration;
use tracing::Instrument;

/// What an inbound pass did, deciding the next wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Synced (or nothing to do): wait for the interval.
    Done,
    /// Paused (disconnected, reconnect needed, limit exceeded): wait for the interval, or less:
    /// when the connection allows calls again (a reconnect, the daily limit lifted) the loop is
    /// woken and the pass that was held back runs at once.
    Paused,
}

/// Runs the inbound schedule until cancelled.
pub async fn run_inbound(engine: Engine) {
    let mut first = true;
    // The schedule in effect: read before the first pass and after each one (a pass can be long,
    // and the setting may change meanwhile), and again whenever a wait is woken.
    let mut interval = inbound_interval(&engine).await;
    loop {
        if !make_way(&engine, std::mem::take(&mut first), interval).await {
            return;
        }
        let pass = scheduled_pass(&engine, interval).await;
        tracing::debug!(?pass, "inbound pass over");
        interval = inbound_interval(&engine).await;
        let pass_end = shared_pass_end(&engine, interval).await + jitter_ms(interval);
        match wait_for_pass(&engine, pass_end, interval, pass == Pass::Paused).await {
            Some(now_in_effect) => interval = now_in_effect,
            None => return,
        }
    }
}

/// The most a server waits before a scheduled pass for each piece of work it already holds.
const MAKE_WAY_STEP: Duration = Duration::from_millis(250);

/// Before a scheduled pass, a server makes way for the others on the same database: a step (a
/// tenth of the interval, at most [`MAKE_WAY_STEP`]) for each piece of work it holds, so an idle
/// server takes the next workspace's pass before a busy one does; and before its first pass a
/// random part of a step, so servers started together do not all reach every workspace in the
/// same order (the one that answered first would otherwise take every workspace's backfill). The
/// later passes have their random part already ([`jitter_ms`]). False when cancelled.
async fn make_way(engine: &Engine, first: bool, interval: Duration) -> bool {
    let step = (interval / 10).min(MAKE_WAY_STEP);
    if first {
        let part = step.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.0..1.0));
        if !sleep_unless_cancelled(engine, part).await {
            return false;
        }
    }
    let held = engine.config().held.load(std::sync::atomic::Ordering::Relaxed);
    sleep_unless_cancelled(engine, step * u32::try_from(held.min(8)).unwrap_or(8)).await
}

async fn sleep_unless_cancelled(engine: &Engine, wait: Duration) -> bool {
    if wait.is_zero() {
        return !engine.is_cancelled();
    }
    tokio::select! {
        _ = engine.cancel_token().cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// Where the next scheduled wait counts from: the end of the last sync by any server on this
/// database, when that was within the interval; now otherwise. With several servers, all of them
/// wake at about the same time once the work is due, and [`jitter_ms`] decides which one comes
/// first; counted from each one's own pass, the server that did the last sync would wake first
/// every time, for every workspace, and do all the work while the others only look.
async fn shared_pass_end(engine: &Engine, interval: Duration) -> i64 {
    let now = engine.now_ms();
    match app::store::leases::last_inbound_done(engine.pool(), engine.workspace()).await {
        Ok(Some(done)) if done > now - super::millis(interval) && done <= now => done,
        Ok(_) => now,
        Err(e) => {
            tracing::warn!(error = %e, "could not read when the inbound sync was last done");
            now
        }
    }
}

/// A random delay of up to a tenth of the interval (at most 2 s) added to each scheduled wait, so
/// that which of several servers syncs next is left to chance.
fn jitter_ms(interval: Duration) -> i64 {
    let most = super::millis(interval / 10).min(2_000);
    if most <= 0 {
        return 0;
    }
    rand::Rng::gen_range(&mut rand::thread_rng(), 0..=most)
}

/// The inbound schedule: a setting, read at every pass so a change applies from the next one.
async fn inbound_interval(engine: &Engine) -> Duration {
    match state::settings(engine.pool(), engine.workspace()).await {
        Ok(s) => s.interval_secs.map(Duration::from_secs).unwrap_or(engine.config().interval),
        Err(e) => {
            tracing::error!(error = %e, "could not read the inbound schedule");
            engine.config().interval
        }
    }
}

/// Waits until the next scheduled pass: `interval` after `pass_end` (engine clock, ms). Saved
/// settings or a reconnect ([`Engine::wake`]) make it read the schedule again and count the new
/// interval from the same `pass_end`, so shortening it from an hour to a minute does not wait out
/// the hour. False when cancelled.
pub async fn next_pass_due(engine: &Engine, pass_end: i64, interval: Duration) -> bool {
    wait_for_pass(engine, pass_end, interval, false).await.is_some()
}

/// [`next_pass_due`]; after a paused pass (`held_back`), also as soon as a wake finds that calls
/// are allowed again. The schedule in effect when the wait ends; `None` when cancelled.
async fn wait_for_pass(
    engine: &Engine,
    pass_end: i64,
    mut interval: Duration,
    held_back: bool,
) -> Option<Duration> {
    loop {
        let left = pass_end.saturating_add(super::millis(interval)).saturating_sub(engine.now_ms());
        let left = Duration::from_millis(u64::try_from(left).unwrap_or(0));
        tokio::select! {
            _ = engine.cancel_token().cancelled() => return None,
            _ = tokio::time::sleep(left) => return Some(interval),
            _ = engine.wake_notified() => {
                if held_back && engine.may_call().await.unwrap_or(false) {
                    return Some(interval);
                }
                interval = inbound_interval(engine).await;
            }
        }
    }
}

/// The schedule's pass: each object switched on that no server has synced for an interval. With
/// several servers sharing a workspace's work, each object is synced once per interval, by
/// whichever server's pass comes first. `interval` is the schedule in effect.
pub async fn scheduled_pass(engine: &Engine, interval: Duration) -> Pass {
    pass(engine, None, Trigger::Scheduled, Due::Every(super::millis(interval))).await
}

/// Syncs `only` (or every object switched on) once, now, unless a server is syncing it. Errors
/// are logged: a failed run is already recorded.
pub async fn inbound_pass(engine: &Engine, only: Option<ObjectType>, trigger: Trigger) -> Pass {
    pass(engine, only, trigger, Due::Now).await
}

async fn pass(engine: &Engine, only: Option<ObjectType>, trigger: Trigger, due: Due) -> Pass {
    let enabled = match state::settings(engine.pool(), engine.workspace()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "could not read the sync settings");
            return Pass::Paused;
        }
    };
    for object in INBOUND_ORDER {
        // "Sync now" for one object syncs it; a scheduled pass only the object types switched on.
        if only.is_some_and(|o| o != object) || (only.is_none() && !enabled.syncs_inbound(object)) {
            continue;
        }
        if engine.is_cancelled() {
            return Pass::Done;
        }
        match engine.may_call().await {
            Ok(true) => {}
            Ok(false) => return Pass::Paused,
            Err(e) => {
                tracing::error!(error = %e, "could not read the connection state");
                return Pass::Paused;
            }
        }
        let synced = inbound::sync_object_if(engine, object, trigger, due)
            .instrument(tracing::info_span!("inbound", %object, ?trigger))
            .await;
        let synced = match synced {
            // Synced less than an interval ago (by this server or another): the next object.
            Ok(Err(Refused::NotDue)) => continue,
            // Another server is syncing it, in a pass of its own that goes on down the order:
            // this pass stops, so no object is synced before the ones it depends on.
            Ok(Err(Refused::HeldBy(server))) => {
                tracing::debug!(%object, %server, "another server is syncing this object; it goes on from here");
                return Pass::Done;
            }
            Ok(Ok(outcome)) => Ok(outcome),
            Err(e) => Err(e),
        };
        match synced {
            Ok(InboundOutcome { failure: Some(f), .. }) if stops_the_pass(f.message) => {
                return Pass::Paused
            }
            // Its run is failed with its message and its cursor stays; the objects after it still
            // sync (a record that needs one of its rows, such as an event's contact, is skipped
            // with its own message, as when it arrives before that row).
            Ok(InboundOutcome { failure: Some(f), .. }) => {
                tracing::warn!(%object, message = f.message.code(), "inbound sync of this object failed; the pass goes on");
            }
            Ok(outcome) => {
                if outcome.records > 0 {
                    tracing::info!(%object, records = outcome.records, runs = outcome.runs.len(), "inbound sync");
                }
            }
            Err(SyncError::AlreadyRunning(_)) => {}
            Err(SyncError::LeaseLost(work)) => {
                tracing::warn!(%work, "another server took this sync over; the pass stops here");
                return Pass::Done;
            }
            Err(e) => {
                tracing::error!(%object, error = %e, "inbound sync failed");
                // Its batch is not saved (a storage failure): the objects after it depend on it
                // (contacts on companies), so they wait for the next pass, which resumes it.
                return Pass::Paused;
            }
        }
    }
    Pass::Done
}

/// "Sync now": syncs one object (or all) in the background, at once. Returns false when that
/// object is already syncing.
pub fn sync_now(engine: &Engine, object: Option<ObjectType>) -> bool {
    if let Some(o) = object {
        if engine.running().contains(&o) {
            return false;
        }
    }
    let engine = engine.clone();
    tokio::spawn(async move {
        inbound_pass(&engine, object, Trigger::Manual).await;
    });
    true
}

/// Runs the outbound worker until cancelled.
pub async fn run_outbound(engine: Engine) {
    let mut failures: u32 = 0;
    loop {
        let wait = match engine.may_call().await {
            Ok(true) => match outbound::push_pending(&engine).await {
                Ok(o) if o.failure.is_some() => {
                    failures += 1;
                    retry_delay(failures, engine.config().retry_base, engine.config().retry_max)
                }
                Ok(o) => {
                    failures = 0;
                    if o.records > 0 {
                        tracing::info!(records = o.records, runs = o.runs.len(), "outbound push");
                    }
                    // Changes made through this server are announced; the poll (a read while
                    // nothing is due) catches those made through another server on the same
                    // database within a second, and records whose retry has come due.
                    Duration::from_secs(1)
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, "outbound push failed");
                    retry_delay(failures, engine.config().retry_base, engine.config().retry_max)
                }
            },
            _ => engine.config().retry_max,
        };
        tokio::select! {
            _ = engine.cancel_token().cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
            _ = engine.outbox_notified(), if failures == 0 => {}
            _ = engine.wake_notified() => failures = 0,
        }
    }
}
