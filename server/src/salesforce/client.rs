//! The REST client: one authenticated session, refreshed once on `401 INVALID_SESSION_ID`,
//! transient faults retried with jittered backoff, API usage read from every response.
//!
//! Everything environment-specific (login URL, API version, timeouts, secrets) is injected through
//! [`ClientConfig`] ([`super::config`]), so tests point the client at the local org on `127.0.0.1:0`.

use super::auth;
use super::backoff::backoff_delay;
pub use super::config::{clamp_batch_size, ClientConfig, DEFAULT_API_VERSION, DEFAULT_BATCH_SIZE};
use super::error::SalesforceError;
use super::types::{ApiUsage, TokenResponse};
use super::wire::{self, api_error, is_transient_transport};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The access token and the instance it is valid for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub instance_url: String,
    pub access_token: String,
}

impl From<&TokenResponse> for Session {
    fn from(t: &TokenResponse) -> Self {
        Self {
            instance_url: t.instance_url.trim_end_matches('/').to_string(),
            access_token: t.access_token.clone(),
        }
    }
}

/// A client for one connected org. Cheap to clone; clones share the session and usage.
#[derive(Clone)]
pub struct SalesforceClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    // Replaced when a person reconnects, cleared when they disconnect.
    refresh_token: RwLock<String>,
    session: RwLock<Option<Arc<Session>>>,
    // Serialises refreshes so that concurrent 401s cause one token request, not one each.
    refresh_lock: tokio::sync::Mutex<()>,
    usage: Mutex<Option<ApiUsage>>,
}

/// One request, described so that it can be sent again after a refresh or a transient fault.
pub(crate) struct Call<'a> {
    pub method: Method,
    /// A path under the instance (`/services/data/...`) or a full URL.
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub json: Option<Bytes>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        Self { method, path, query: &[], json: None, headers: Vec::new() }
    }
}

impl SalesforceClient {
    /// A client that gets its first access token from `refresh_token` when first used.
    pub fn new(
        config: ClientConfig,
        refresh_token: impl Into<String>,
    ) -> Result<Self, SalesforceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10).min(config.timeout))
            .build()?;
        Ok(Self::with_http(http, config, refresh_token))
    }

    /// Uses this refresh token from now on (one saved by an earlier Connect, at start-up).
    pub fn use_refresh_token(&self, token: &str) {
        if let Ok(mut slot) = self.inner.refresh_token.write() {
            *slot = token.to_string();
        }
        if let Ok(mut guard) = self.inner.session.write() {
            *guard = None;
        }
    }

    /// Same, sharing an existing connection pool.
    pub fn with_http(
        http: reqwest::Client,
        config: ClientConfig,
        refresh_token: impl Into<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                config,
                refresh_token: RwLock::new(refresh_token.into()),
                session: RwLock::new(None),
                refresh_lock: tokio::sync::Mutex::new(()),
                usage: Mutex::new(None),
            }),
        }
    }

    /// Starts with a session already obtained (from the authorization-code exchange).
    pub fn with_session(self, session: Session) -> Self {
        if let Ok(mut guard) = self.inner.session.write() {
            *guard = Some(Arc::new(session));
        }
        self
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// After Connect / Reconnect: the tokens of the authorization-code exchange replace the old
    /// ones, so the next call uses the new session.
    pub fn reconnect(&self, token: &TokenResponse) {
        if let (Some(rt), Ok(mut slot)) =
            (token.refresh_token.as_ref(), self.inner.refresh_token.write())
        {
            *slot = rt.clone();
        }
        if let Ok(mut guard) = self.inner.session.write() {
            *guard = Some(Arc::new(Session::from(token)));
        }
    }

    /// Disconnect for good: revokes the refresh token at Salesforce, then forgets the tokens. The
    /// tokens are forgotten even when Salesforce cannot be reached (the error says so).
    pub async fn revoke_and_disconnect(&self) -> Result<(), SalesforceError> {
        let token = self.inner.refresh_token.read().map(|t| t.clone()).unwrap_or_default();
        self.disconnect();
        if token.is_empty() {
            return Ok(());
        }
        super::auth::revoke(&self.inner.http, &self.inner.config, &token).await
    }

    /// Disconnect: forget the tokens; every call fails with `InvalidGrant` until reconnected.
    pub fn disconnect(&self) {
        if let Ok(mut slot) = self.inner.refresh_token.write() {
            slot.clear();
        }
        if let Ok(mut guard) = self.inner.session.write() {
            *guard = None;
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The last `Sforce-Limit-Info` usage seen on any response.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.usage.lock().ok().and_then(|u| *u)
    }

    /// The current session, obtaining one with the refresh token if there is none yet.
    pub async fn session(&self) -> Result<Arc<Session>, SalesforceError> {
        if let Some(s) = self.current_session() {
            return Ok(s);
        }
        self.refresh_session(None).await
    }

    fn current_session(&self) -> Option<Arc<Session>> {
        self.inner.session.read().ok().and_then(|s| s.clone())
    }

    /// Refreshes unless another task already replaced the token that failed (`stale`).
    async fn refresh_session(&self, stale: Option<&str>) -> Result<Arc<Session>, SalesforceError> {
        let _guard = self.inner.refresh_lock.lock().await;
        if let Some(current) = self.current_session() {
            if stale.is_none_or(|t| t != current.access_token) {
                return Ok(current);
            }
        }
        let refresh_token = self.inner.refresh_token.read().map(|t| t.clone()).unwrap_or_default();
        if refresh_token.is_empty() {
            return Err(SalesforceError::InvalidGrant {
                error: "invalid_grant".into(),
                description: "not connected: no refresh token (Salesforce was disconnected)".into(),
            });
        }
        let token = auth::refresh(&self.inner.http, &self.inner.config, &refresh_token).await?;
        let session = Arc::new(Session::from(&token));
        if let Ok(mut guard) = self.inner.session.write() {
            *guard = Some(session.clone());
        }
        Ok(session)
    }

    fn record_usage(&self, headers: &HeaderMap) {
        let usage = headers
            .get(ApiUsage::HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(ApiUsage::parse_header);
        if let (Some(usage), Ok(mut slot)) = (usage, self.inner.usage.lock()) {
            *slot = Some(usage);
        }
    }

    /// Sends `call` and returns the body of a 2xx response. Refreshes the session once on
    /// `401 INVALID_SESSION_ID`; retries 5xx, timeouts and broken connections with backoff;
    /// everything else is returned as is, because sending it again would fail the same way.
    pub(crate) async fn execute(
        &self,
        call: &Call<'_>,
    ) -> Result<(StatusCode, Bytes), SalesforceError> {
        let limit = self.config().max_response_bytes;
        self.execute_then(call, |response| async move {
            let status = response.status();
            Ok((status, wire::read_body(response, limit).await?))
        })
        .await
    }

    /// Sends `call` and hands a 2xx response, its body unread, to `read`; everything else as
    /// [`Self::execute`] does. A transient failure while `read` reads the body (a broken
    /// connection, `SalesforceError::Unavailable`) sends the call again, like one before it.
    pub(crate) async fn execute_then<T, F, Fut>(
        &self,
        call: &Call<'_>,
        read: F,
    ) -> Result<T, SalesforceError>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<T, SalesforceError>>,
    {
        let policy = self.inner.config.retry;
        let limit = self.config().max_response_bytes;
        let mut refreshed = false;
        let mut retry = 0u32;
        loop {
            let session = self.session().await?;
            let transient = match self.send_once(&session, call).await {
                Ok(response) if response.status().is_success() => match read(response).await {
                    Err(SalesforceError::Transport(e)) if is_transient_transport(&e) => {
                        SalesforceError::Unavailable { attempts: retry + 1, detail: e.to_string() }
                    }
                    Err(e @ SalesforceError::Unavailable { .. }) => e,
                    done => return done,
                },
                Ok(response) => {
                    let status = response.status();
                    let body = match wire::body_capped(response, limit).await {
                        Ok(Some(body)) => body,
                        Ok(None) => return Err(wire::too_large(status, limit)),
                        Err(e) if is_transient_transport(&e) => Bytes::new(),
                        Err(e) => return Err(SalesforceError::Transport(e)),
                    };
                    let err = api_error(status, &body);
                    if status == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && err.error_code() == Some("INVALID_SESSION_ID")
                    {
                        refreshed = true;
                        self.refresh_session(Some(&session.access_token)).await?;
                        continue;
                    }
                    if !status.is_server_error() {
                        return Err(err);
                    }
                    err
                }
                Err(e) if is_transient_transport(&e) => {
                    SalesforceError::Unavailable { attempts: retry + 1, detail: e.to_string() }
                }
                Err(e) => return Err(SalesforceError::Transport(e)),
            };
            if retry + 1 >= policy.max_attempts {
                return Err(match transient {
                    SalesforceError::Unavailable { detail, .. } => {
                        SalesforceError::Unavailable { attempts: retry + 1, detail }
                    }
                    other => other,
                });
            }
            tracing::debug!(retry, error = %transient, "transient Salesforce fault, retrying");
            tokio::time::sleep(backoff_delay(&policy, retry, rand::random::<f64>())).await;
            retry += 1;
        }
    }

    async fn send_once(
        &self,
        session: &Session,
        call: &Call<'_>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let url = if call.path.starts_with("http://") || call.path.starts_with("https://") {
            call.path.to_string()
        } else {
            format!("{}{}", session.instance_url, call.path)
        };
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .bearer_auth(&session.access_token)
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(call.query);
        }
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.json {
            request = request.header(CONTENT_TYPE, "application/json").body(body.clone());
        }
        let response = request.send().await?;
        self.record_usage(response.headers());
        Ok(response)
    }
}
