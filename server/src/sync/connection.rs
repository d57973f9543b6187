//! The engine's connection at start-up: which refresh token it syncs with, and who the
//! integration user is.

use super::Engine;
use crate::salesforce::SalesforceClient;
use app::store;
use std::time::Duration;

/// At start-up, with the org the server was given: the in-process local org (new at every start,
/// with its own refresh token) or a real one from the environment, whose refresh token comes from
/// the environment, else from an earlier Connect, else nowhere yet (the Overview then offers
/// Connect, and nothing syncs until then). A workspace the person disconnected stays disconnected.
pub async fn on_start(
    engine: &Engine,
    instance_url: &str,
    username: Option<&str>,
    refresh_token: Option<&str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let current = store::connection_view(engine.pool(), engine.workspace()).await?;
    if current.state == app::domain::connection::ConnectionState::Disconnected
        && current.instance_url.is_some()
    {
        engine.client().disconnect();
        return Ok(());
    }
    let ring = &engine.config().keyring;
    let token = match refresh_token.filter(|t| !t.is_empty()) {
        Some(t) => Some(t.to_string()),
        None => match store::saved_refresh_token(engine.pool(), engine.workspace()).await? {
            // A token that does not open is not forgotten: the start stops and says which key
            // it needs.
            Some(sealed) => Some(ring.open(engine.workspace(), &sealed).map_err(|e| {
                format!("The saved Salesforce connection could not be read: {e}. Give the key it was sealed with in --keys or --keys-file (docs/SECURITY.md).")
            })?),
            None => None,
        },
    };
    let Some(token) = token else {
        // Never connected: nothing to sync with until Connect.
        engine.client().disconnect();
        store::save_disconnected(engine.pool(), engine.workspace(), engine.now_ms()).await?;
        return Ok(());
    };
    engine.client().use_refresh_token(&token);
    let username = match username {
        Some(u) => Some(u.to_string()),
        None => integration_user(engine.client()).await,
    };
    store::save_connected(
        engine.pool(),
        engine.workspace(),
        instance_url,
        username.as_deref(),
        Some(&ring.seal(engine.workspace(), &token)),
        engine.now_ms(),
    )
    .await?;
    Ok(())
}

/// The integration user's Salesforce username, for the connection card. Best effort: a name that
/// cannot be had is not worth refusing a connection for (the card then keeps the one it had).
///
/// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm>
pub async fn integration_user(client: &SalesforceClient) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(10), client.userinfo()).await {
        Ok(Ok(info)) => Some(info.preferred_username).filter(|u| !u.is_empty()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "asking Salesforce who the integration user is");
            None
        }
        Err(_) => {
            tracing::warn!("asking Salesforce who the integration user is: no answer in 10 s");
            None
        }
    }
}
