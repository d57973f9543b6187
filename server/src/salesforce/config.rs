//! What differs between a real org, a sandbox and the local org: the client's configuration.

use super::backoff::RetryPolicy;
use crate::secret::Secret;
use std::time::Duration;

/// Batch size asked for by default: the largest Salesforce allows.
pub const DEFAULT_BATCH_SIZE: u32 = 2000;
/// A page of 2,000 wide records is a few megabytes; sixteen times that is not a Salesforce answer.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;
/// The API version the client speaks unless told otherwise.
pub const DEFAULT_API_VERSION: &str = "62.0";

/// Everything that differs between a real org, a sandbox and the local org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://login.salesforce.com`, `https://test.salesforce.com`, or the local org's URL.
    pub login_url: String,
    /// Without the `v`: `62.0`.
    pub api_version: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Per HTTP request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Records per query page; clamped to 200-2,000 as Salesforce does.
    pub batch_size: u32,
    /// The Connect flow's callback as registered in the connected app. `None`: the address the
    /// browser used to reach this server, plus the callback path.
    pub redirect_uri: Option<String>,
    /// The largest response body read; a larger one fails the call rather than fill memory.
    pub max_response_bytes: usize,
}

impl ClientConfig {
    /// Whether the client may send a token to `url`: https on a Salesforce domain
    /// (`*.salesforce.com`, `*.force.com`), or the login URL's own scheme, host and port (a My
    /// Domain, or the local org in the demo).
    pub fn is_salesforce_host(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else { return false };
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else { return false };
        let salesforce = url.scheme() == "https"
            && [".salesforce.com", ".force.com"].iter().any(|d| host.ends_with(d));
        let login = reqwest::Url::parse(&self.login_url).ok().is_some_and(|l| {
            l.scheme() == url.scheme()
                && l.host_str().map(str::to_ascii_lowercase).as_deref() == Some(host.as_str())
                && l.port_or_known_default() == url.port_or_known_default()
        });
        salesforce || login
    }

    pub fn new(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            login_url: login_url.into(),
            api_version: DEFAULT_API_VERSION.to_string(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            batch_size: DEFAULT_BATCH_SIZE,
            redirect_uri: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The path prefix of every data resource: `/services/data/v62.0`.
    /// The most of one set of Bulk API 2.0 results the client reads: a set is streamed, never
    /// held whole, so this only stops an answer that does not end (sixteen times the cap on a
    /// response held in memory, 1 GiB by default).
    pub fn max_results_bytes(&self) -> usize {
        self.max_response_bytes.saturating_mul(16)
    }

    pub fn data_path(&self) -> String {
        format!("/services/data/v{}", self.api_version)
    }
}

/// Salesforce only serves 200 to 2,000 records a page; values outside are brought inside.
pub fn clamp_batch_size(n: u32) -> u32 {
    n.clamp(200, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_is_clamped_like_salesforce() {
        assert_eq!(clamp_batch_size(1), 200);
        assert_eq!(clamp_batch_size(500), 500);
        assert_eq!(clamp_batch_size(10_000), 2000);
    }
}
