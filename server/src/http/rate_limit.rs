//! How many changes one person or one API token may make in a workspace: a token bucket each,
//! so that a script gone wrong (or a stolen session) cannot flood Conversion with changes whose
//! pushes spend the customer's Salesforce API allowance, while a person clicking through the
//! settings never meets it.
//!
//! A bucket holds up to a minute's allowance and refills continuously at that rate, so a burst
//! of a minute's worth is taken at once and after that one change per `60 / per_minute` seconds.
//! A change without a token left is answered 429 with `Retry-After`, and is not made.
//!
//! In memory, per server process: a restart refills every bucket, and each of several servers
//! counts its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Whose changes a bucket counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Changer {
    /// A signed-in person, in one workspace (each workspace's allowance is its own org's).
    Person { user_id: i64, workspace: String },
    /// An API token (one workspace's).
    Token(i64),
}

/// Token buckets by key, all with the same rate.
#[derive(Clone)]
pub struct RateLimit<K> {
    per_minute: u32,
    buckets: Arc<Mutex<HashMap<K, Bucket>>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Above this many buckets, full ones are dropped (a full bucket is the same as none).
const SWEEP_ABOVE: usize = 10_000;

impl<K: Eq + Hash + Clone> RateLimit<K> {
    /// `per_minute` changes a minute for each key (0: no limit).
    pub fn per_minute(per_minute: u32) -> Self {
        RateLimit { per_minute, buckets: Default::default() }
    }

    pub fn limit(&self) -> u32 {
        self.per_minute
    }

    /// Takes one change from `key`'s allowance, or says how long until one is left.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, b| b.refilled(now, per_sec, capacity) < capacity);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket { tokens: capacity, at: now });
        bucket.tokens = bucket.refilled(now, per_sec, capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, per_sec: f64, capacity: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.tokens + elapsed * per_sec).min(capacity)
    }
}

/// Whole seconds to wait, rounded up, never 0 (a `Retry-After` of 0 invites a busy loop).
pub fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_allowance_at_once_then_one_per_interval() {
        let limit = RateLimit::per_minute(60);
        let start = Instant::now();
        for _ in 0..60 {
            limit.take_at(&1, start).expect("within the allowance");
        }
        let wait = limit.take_at(&1, start).expect_err("the 61st at once is refused");
        assert_eq!(retry_after_secs(wait), 1);
        // Another key has its own allowance.
        limit.take_at(&2, start).expect("another key");
        // One second later, one more change (and only one).
        let later = start + Duration::from_secs(1);
        limit.take_at(&1, later).expect("refilled by one");
        assert!(limit.take_at(&1, later).is_err());
    }

    #[test]
    fn a_refused_change_costs_nothing() {
        let limit = RateLimit::per_minute(1);
        let start = Instant::now();
        limit.take_at(&"k", start).unwrap();
        for s in [1, 20, 59] {
            let wait = limit.take_at(&"k", start + Duration::from_secs(s)).unwrap_err();
            assert_eq!(retry_after_secs(wait), 60 - s as u32);
        }
        limit.take_at(&"k", start + Duration::from_secs(60)).expect("a minute on, one more");
    }

    #[test]
    fn no_limit_when_set_to_zero() {
        let limit = RateLimit::per_minute(0);
        let now = Instant::now();
        for _ in 0..10_000 {
            limit.take_at(&0, now).unwrap();
        }
    }

    #[test]
    fn full_buckets_are_forgotten_when_many() {
        let limit = RateLimit::per_minute(60);
        let start = Instant::now();
        for k in 0..=SWEEP_ABOVE {
            limit.take_at(&k, start).unwrap();
        }
        // A minute on, every bucket is full again: the next take sweeps them.
        limit.take_at(&usize::MAX, start + Duration::from_secs(60)).unwrap();
        assert_eq!(limit.buckets.lock().unwrap().len(), 1);
    }
}
