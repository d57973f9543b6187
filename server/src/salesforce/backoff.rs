//! When to try again. Only transient faults are retried (see `client.rs`); this module only
//! decides how long to wait, as a pure function so it can be tested without a clock.

use std::time::Duration;

/// How many times, and how patiently, a transient fault is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Retries without waiting, for tests that exercise the retry path.
    pub fn immediate(max_attempts: u32) -> Self {
        Self { max_attempts, base_delay: Duration::ZERO, max_delay: Duration::ZERO }
    }
}

/// Delay before retry number `retry` (0 = the first retry): exponential in `retry`, capped at
/// `max_delay`, then scaled into `[50%, 100%]` by `jitter` (a number in `[0, 1)`), so that
/// clients that failed together do not all come back at the same instant.
pub fn backoff_delay(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let exp = policy.base_delay.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
    let capped = exp.min(policy.max_delay);
    let factor = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
    capped.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
    };

    #[test]
    fn doubles_each_retry_until_the_cap() {
        let full: Vec<_> = (0..7).map(|r| backoff_delay(&POLICY, r, 1.0).as_millis()).collect();
        assert_eq!(full, vec![100, 200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn jitter_keeps_the_delay_between_half_and_full() {
        assert_eq!(backoff_delay(&POLICY, 2, 0.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(&POLICY, 2, 0.5), Duration::from_millis(300));
        assert_eq!(backoff_delay(&POLICY, 2, 7.0), Duration::from_millis(400), "jitter is clamped");
    }

    #[test]
    fn huge_retry_numbers_do_not_overflow() {
        assert_eq!(backoff_delay(&POLICY, 1_000, 1.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(&RetryPolicy::immediate(3), 4, 0.3), Duration::ZERO);
    }
}
