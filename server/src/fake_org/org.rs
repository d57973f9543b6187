//! The local org's shared state: data, open query cursors, tokens, API usage and faults.
//!
//! Locks are std mutexes held for short, non-async sections (mini-redis's reasoning: no lock is
//! ever held across an `.await`). When both are needed, `store` is taken before `faults`.

use super::faults::{FaultCommand, FaultState};
use super::query::Cursors;
use super::store::Store;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Fixed identity of the org and its one connected app and integration user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Tokens issued by the OAuth endpoints.
#[derive(Default)]
pub struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    /// Authorization code -> (redirect URI it was issued for, when).
    /// Code → (redirect URI, PKCE challenge, issued at).
    codes: HashMap<String, (String, Option<String>, Instant)>,
}

/// Access tokens live as long as a Salesforce session (two hours by default); codes 15 minutes.
const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

impl Tokens {
    pub fn issue_access(&mut self, org_id: &str) -> String {
        let token = format!("{}!AQ{}", &org_id[..15], random_token(96));
        self.access.insert(token.clone(), Instant::now());
        token
    }

    pub fn issue_refresh(&mut self) -> String {
        let token = format!("5Aep{}", random_token(83));
        self.refresh.insert(token.clone());
        token
    }

    pub fn add_refresh(&mut self, token: String) {
        self.refresh.insert(token);
    }

    pub fn issue_code(&mut self, redirect_uri: &str, challenge: Option<String>) -> String {
        let code = format!("aPrx{}", random_token(60));
        self.codes.insert(code.clone(), (redirect_uri.to_string(), challenge, Instant::now()));
        code
    }

    /// Codes are single use, whether or not the exchange succeeds. A valid code gives its PKCE
    /// challenge, if it was asked for with one.
    pub fn take_code(&mut self, code: &str, redirect_uri: &str) -> Option<Option<String>> {
        match self.codes.remove(code) {
            Some((uri, challenge, at)) if uri == redirect_uri && at.elapsed() < CODE_LIFETIME => {
                Some(challenge)
            }
            _ => None,
        }
    }

    pub fn refresh_valid(&self, token: &str) -> bool {
        self.refresh.contains(token)
    }

    pub fn access_valid(&self, token: &str, timeout: Duration) -> bool {
        self.access.get(token).is_some_and(|at| at.elapsed() < timeout)
    }

    pub fn revoke(&mut self, token: &str) {
        self.access.remove(token);
        self.refresh.remove(token);
    }

    pub fn revoke_all(&mut self) {
        self.access.clear();
        self.refresh.clear();
        self.codes.clear();
    }

    pub fn expire_sessions(&mut self) {
        self.access.clear();
    }
}

pub fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// The rolling 24-hour API request counter behind `DailyApiRequests` and `Sforce-Limit-Info`:
/// requests are counted per minute and minutes older than a day fall off.
pub struct DailyUsage {
    pub max: u64,
    minutes: VecDeque<(u64, u64)>,
}

const DAY_MINUTES: u64 = 24 * 60;

impl DailyUsage {
    pub fn new(max: u64) -> Self {
        DailyUsage { max, minutes: VecDeque::new() }
    }

    fn expire(&mut self, minute: u64) {
        while self.minutes.front().is_some_and(|(m, _)| *m + DAY_MINUTES <= minute) {
            self.minutes.pop_front();
        }
    }

    /// Requests counted in the 24 hours before `minute`.
    pub fn used(&mut self, minute: u64) -> u64 {
        self.expire(minute);
        self.minutes.iter().map(|(_, n)| n).sum()
    }

    pub fn add(&mut self, minute: u64, n: u64) {
        self.expire(minute);
        match self.minutes.back_mut() {
            Some((m, count)) if *m == minute => *count += n,
            _ => self.minutes.push_back((minute, n)),
        }
    }

    /// Counts one request if the allowance permits; returns the usage after it, or `Err` with the
    /// usage when the limit is reached.
    pub fn try_count(&mut self, minute: u64) -> Result<u64, u64> {
        let used = self.used(minute);
        if used >= self.max {
            return Err(used);
        }
        self.add(minute, 1);
        Ok(used + 1)
    }

    pub fn exhaust(&mut self, minute: u64) {
        let used = self.used(minute);
        self.add(minute, self.max.saturating_sub(used));
    }

    pub fn reset(&mut self) {
        self.minutes.clear();
    }
}

pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn now_minute() -> u64 {
    (now_millis() / 60_000).max(0) as u64
}

/// What the local org spent serving query pages, for the benchmark.
#[derive(Default, Debug)]
pub struct Stats {
    pub pages: std::sync::atomic::AtomicU64,
    pub records: std::sync::atomic::AtomicU64,
    /// Time spent running queries and rendering pages, excluding the network.
    pub page_nanos: std::sync::atomic::AtomicU64,
    /// Data requests that reached the org, counted on arrival (before latency, faults or the
    /// session check), so tests can tell how many attempts a client made.
    pub requests: std::sync::atomic::AtomicU64,
}

pub struct Org {
    pub stats: Stats,
    pub identity: Identity,
    /// `http://host:port`, known once the listener is bound.
    pub base_url: String,
    pub session_timeout: Duration,
    pub store: RwLock<Store>,
    pub cursors: Mutex<Cursors>,
    pub tokens: Mutex<Tokens>,
    pub usage: Mutex<DailyUsage>,
    pub faults: Mutex<FaultState>,
    /// Bulk API 2.0 query jobs.
    pub bulk: Mutex<super::bulk::Jobs>,
}

/// A poisoned lock only means another request panicked mid-way; the data is still usable for a
/// test double, so recover the guard rather than fail every later request.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Org {
    /// Applies a fault command, whichever part of the state it concerns.
    pub fn apply_fault(&self, command: &FaultCommand) {
        match command {
            FaultCommand::RevokeTokens => lock(&self.tokens).revoke_all(),
            FaultCommand::ExpireSessions => lock(&self.tokens).expire_sessions(),
            FaultCommand::ExhaustDailyLimit => lock(&self.usage).exhaust(now_minute()),
            FaultCommand::ResetDailyLimit => lock(&self.usage).reset(),
            FaultCommand::ExpireBulkJobs => lock(&self.bulk).expire_all(),
            other => {
                lock(&self.faults).apply(other);
            }
        }
    }

    pub fn identity_url(&self) -> String {
        format!("{}/id/{}/{}", self.base_url, self.identity.org_id, self.identity.user_id)
    }

    pub fn data_store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn data_store_mut(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_counter_rolls() {
        let mut u = DailyUsage::new(3);
        assert_eq!(u.try_count(100), Ok(1));
        assert_eq!(u.try_count(101), Ok(2));
        assert_eq!(u.try_count(102), Ok(3));
        assert_eq!(u.try_count(103), Err(3));
        // A day after the first request, its minute falls off.
        assert_eq!(u.try_count(100 + DAY_MINUTES), Ok(3));
        u.exhaust(100 + DAY_MINUTES);
        assert_eq!(u.used(100 + DAY_MINUTES), 3);
        assert_eq!(u.used(103 + DAY_MINUTES), 1);
    }

    #[test]
    fn codes_are_single_use_and_bound_to_the_redirect() {
        let mut t = Tokens::default();
        let code = t.issue_code("http://app/cb", None);
        assert_eq!(t.take_code(&code, "http://other/cb"), None);
        let code = t.issue_code("http://app/cb", Some("challenge".into()));
        assert_eq!(t.take_code(&code, "http://app/cb"), Some(Some("challenge".into())));
        assert_eq!(t.take_code(&code, "http://app/cb"), None);
    }
}
