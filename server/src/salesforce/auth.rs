//! OAuth 2.0 against Salesforce: the web-server flow (Connect / Reconnect) and the refresh-token
//! grant the client uses to get a new access token.
//!
//! Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm>
//! and <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm>

use super::backoff::backoff_delay;
use super::config::ClientConfig;
use super::error::SalesforceError;
use super::types::{OAuthErrorBody, TokenResponse};
use super::wire::{self, is_transient_transport};

/// The URL to send a person to so they can approve the connection. Salesforce redirects back to
/// `redirect_uri?code=...&state=...`. `code_challenge`: PKCE's, the base64url SHA-256 of the
/// verifier the code exchange will send.
/// Doc: <https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_pkce.htm>
pub fn authorize_url(
    config: &ClientConfig,
    redirect_uri: &str,
    state: &str,
    code_challenge: Option<&str>,
) -> Result<String, SalesforceError> {
    let base = format!("{}/services/oauth2/authorize", config.login_url.trim_end_matches('/'));
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", redirect_uri),
        ("state", state),
    ];
    if let Some(challenge) = code_challenge {
        params.push(("code_challenge", challenge));
    }
    let url = reqwest::Url::parse_with_params(&base, &params)
        .map_err(|e| SalesforceError::Config(format!("login URL {base:?}: {e}")))?;
    Ok(url.into())
}

/// Exchanges the code from the redirect for tokens, including the refresh token to keep.
pub async fn exchange_code(
    http: &reqwest::Client,
    config: &ClientConfig,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, SalesforceError> {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", &config.client_id),
        ("client_secret", config.client_secret.expose()),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(verifier) = code_verifier {
        params.push(("code_verifier", verifier));
    }
    token_request(http, config, &params).await
}

/// Gets a new access token. `InvalidGrant` means the refresh token was revoked or expired.
pub async fn refresh(
    http: &reqwest::Client,
    config: &ClientConfig,
    refresh_token: &str,
) -> Result<TokenResponse, SalesforceError> {
    token_request(
        http,
        config,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", &config.client_id),
            ("client_secret", config.client_secret.expose()),
        ],
    )
    .await
}

/// Revokes a refresh token (and the access tokens issued with it) at Salesforce, so that a
/// disconnected org cannot be reached with it again, by anyone.
/// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm>
pub async fn revoke(
    http: &reqwest::Client,
    config: &ClientConfig,
    token: &str,
) -> Result<(), SalesforceError> {
    let (status, body) =
        post_form(http, config, "/services/oauth2/revoke", &[("token", token)]).await?;
    if status.is_success() {
        return Ok(());
    }
    match serde_json::from_slice::<OAuthErrorBody>(&body) {
        Ok(err) => {
            Err(SalesforceError::OAuth { error: err.error, description: err.error_description })
        }
        Err(_) => Err(SalesforceError::UnexpectedResponse {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
        }),
    }
}

/// A form POST to an OAuth endpoint of the login URL. Like data calls, it is retried on 5xx and
/// broken connections only: an OAuth error body is an answer, and asking again gives the same one.
async fn post_form(
    http: &reqwest::Client,
    config: &ClientConfig,
    path: &str,
    form: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, bytes::Bytes), SalesforceError> {
    let url = format!("{}{path}", config.login_url.trim_end_matches('/'));
    let mut retry = 0u32;
    let (status, body) = loop {
        let sent = http
            .post(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .timeout(config.timeout)
            .send()
            .await;
        let outcome = match sent {
            Ok(response) => {
                let status = response.status();
                wire::body_capped(response, config.max_response_bytes)
                    .await
                    .map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        let transient = match &outcome {
            Ok((status, _)) => status.is_server_error(),
            Err(e) => is_transient_transport(e),
        };
        if !transient || retry + 1 >= config.retry.max_attempts {
            break outcome?;
        }
        tokio::time::sleep(backoff_delay(&config.retry, retry, rand::random::<f64>())).await;
        retry += 1;
    };
    let body = body.ok_or_else(|| wire::too_large(status, config.max_response_bytes))?;
    Ok((status, body))
}

async fn token_request(
    http: &reqwest::Client,
    config: &ClientConfig,
    form: &[(&str, &str)],
) -> Result<TokenResponse, SalesforceError> {
    let (status, body) = post_form(http, config, "/services/oauth2/token", form).await?;
    if status.is_success() {
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| SalesforceError::UnexpectedResponse {
                status: status.as_u16(),
                detail: format!("token response: {e}"),
            })?;
        if !config.is_salesforce_host(&token.instance_url) {
            return Err(SalesforceError::UnexpectedResponse {
                status: status.as_u16(),
                detail: format!(
                    "the token response names instance_url {:?}, which is not a Salesforce host",
                    token.instance_url
                ),
            });
        }
        return Ok(token);
    }
    match serde_json::from_slice::<OAuthErrorBody>(&body) {
        Ok(err) if err.error == "invalid_grant" => Err(SalesforceError::InvalidGrant {
            error: err.error,
            description: err.error_description,
        }),
        Ok(err) => {
            Err(SalesforceError::OAuth { error: err.error, description: err.error_description })
        }
        Err(_) => Err(SalesforceError::UnexpectedResponse {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
        }),
    }
}
