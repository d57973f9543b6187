//! The Rate limits view's figures: what Salesforce says of the org's daily API usage.

use super::Engine;
use app::store;
use std::time::Duration;

/// Keeps the Rate limits view current: the API usage Salesforce reports on every response
/// (`Sforce-Limit-Info`) is saved when it changes, and `/limits` is asked at start and then every
/// few minutes, so the view is right even while nothing syncs.
///
/// While the daily limit pauses syncing nothing else calls Salesforce, so `/limits` is asked
/// every [`EngineConfig::limit_check_every`](crate::sync::EngineConfig) instead: as soon as
/// `DailyApiRequests` has requests remaining (the org's rolling 24 hours moved on, or the limit
/// was raised), the pause is lifted and syncing resumes, rather than waiting out the fixed pause;
/// and Rate limits shows the org's own figure meanwhile, not the last one a refused call carried.
pub async fn track_api_usage(engine: Engine, every: Duration) {
    const LIMITS_EVERY: Duration = Duration::from_secs(300);
    let mut last = None;
    let mut asked: Option<tokio::time::Instant> = None;
    loop {
        let mut usage = engine.client().api_usage().map(|u| (u.used as i64, u.max as i64));
        let paused = engine.limit_paused().await.unwrap_or(false);
        let period = if paused { engine.config().limit_check_every } else { LIMITS_EVERY };
        let due = asked.is_none_or(|t| t.elapsed() >= period);
        if due && (paused || engine.may_call().await.unwrap_or(false)) {
            asked = Some(tokio::time::Instant::now());
            match engine.client().limits().await {
                Ok(limits) => {
                    if let Some(daily) = limits.get("DailyApiRequests") {
                        usage = Some((daily.max - daily.remaining, daily.max));
                        if paused && daily.remaining > 0 {
                            tracing::info!(
                                remaining = daily.remaining,
                                "Salesforce has API requests to spare again: syncing resumes"
                            );
                            if let Err(e) = engine.limit_cleared().await {
                                tracing::warn!(error = %e, "lifting the API limit pause");
                            }
                        }
                    }
                }
                Err(e) => {
                    // Refused because the limit is still used up: that answer carries the usage too.
                    usage = engine.client().api_usage().map(|u| (u.used as i64, u.max as i64));
                    tracing::debug!(error = %e, "GET /limits");
                }
            }
        }
        if let Some((used, max)) = usage.filter(|u| Some(*u) != last) {
            match store::record_api_usage(
                engine.pool(),
                engine.workspace(),
                used,
                max,
                engine.now_ms(),
            )
            .await
            {
                Ok(()) => last = usage,
                Err(e) => tracing::warn!(error = %e, "saving API usage"),
            }
        }
        tokio::select! {
            _ = engine.cancel_token().cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
