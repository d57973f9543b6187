//! The Overview's Alerts card: the webhook and its latest attempts, saving it, a test alert.
//! The same data as `GET|PUT /api/alerts` and `POST /api/alerts/test` (server/src/http/alerts.rs).

use crate::domain::alerts::{AlertsView, SavedAlerts};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

/// The card's form, as the browser posts it: text fields, and checkboxes that are absent when off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsForm {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub failed_threshold: String,
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub rotate_secret: Option<String>,
}

impl AlertsForm {
    /// The settings the form holds, or what to fix.
    pub fn read(&self) -> Result<crate::domain::alerts::AlertSettingsInput, String> {
        let threshold = self.failed_threshold.trim().replace([',', '\u{a0}', ' '], "");
        let failed_threshold = if threshold.is_empty() {
            0
        } else {
            threshold.parse::<i64>().map_err(|_| {
                "The threshold of failed records is a whole number (0: whole-run failures only)."
                    .to_string()
            })?
        };
        crate::domain::alerts::AlertSettingsInput {
            url: self.url.clone(),
            failed_threshold,
            enabled: self.enabled.is_some(),
            rotate_secret: self.rotate_secret.is_some(),
        }
        .checked()
    }
}

/// `GET /api/alerts/card`: the webhook (for members its address's scheme and host only) and
/// its latest attempts.
#[server(prefix = "/api", endpoint = "alerts/card", input = GetUrl)]
pub async fn get_alerts() -> Result<AlertsView, ServerFnError> {
    use super::ssr::{internal, no_cache, state};
    use crate::domain::alerts::ATTEMPTS_SHOWN;
    use crate::store::alerts::{deliveries, webhook};

    no_cache();
    let st = state()?;
    let can_change = super::ssr::viewer()?.is_admin();
    let hook = webhook(&st.pool, &st.workspace).await.map_err(internal)?;
    let attempts = deliveries::recent_attempts(&st.pool, &st.workspace, ATTEMPTS_SHOWN)
        .await
        .map_err(internal)?;
    Ok(AlertsView { webhook: hook.map(|h| h.view(can_change)), attempts, can_change })
}

/// `POST /api/alerts/save` (a form, admins): saves the webhook. A value to fix is a normal
/// answer (`Err(message)` inside `Ok`); the first save answers the signing secret, once.
#[server(prefix = "/api", endpoint = "alerts/save")]
pub async fn save_alerts(
    #[server(flatten)] form: AlertsForm,
) -> Result<Result<SavedAlerts, String>, ServerFnError> {
    use super::ssr::{internal, state};
    use crate::domain::access::AuditAction;
    use crate::store;

    let viewer = super::ssr::require_admin()?;
    let st = state()?;
    let input = match form.read() {
        Ok(input) => input,
        Err(message) => return Ok(Err(message)),
    };
    let now = st.now_ms();
    let done = match store::alerts::configure(&st.pool, &st.keyring, &st.workspace, &input, now)
        .await
    {
        Ok(done) => done,
        Err(e) if st.storage.report(&e, now).is_some() => {
            super::ssr::unavailable();
            return Err(ServerFnError::new(
                "The alert webhook was not saved: Conversion's database cannot be written right now. Try again in a few minutes.",
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    if !done.changed.is_empty() {
        let actor = store::audit::Actor::Person { user_id: viewer.user_id, email: &viewer.email };
        let detail = format!("{} ({})", done.webhook.url, done.changed.join(", "));
        let recorded = store::audit::record(
            &st.pool,
            &st.workspace,
            now,
            actor,
            AuditAction::AlertsChanged,
            &detail,
        );
        if let Err(e) = recorded.await {
            tracing::error!(error = %e, "the audit trail could not be written");
        }
    }
    if done.new_secret.is_some() {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.insert_header(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
        }
    }
    Ok(Ok(SavedAlerts { webhook: done.webhook.view(true), secret: done.new_secret }))
}

/// `POST /api/alerts/send-test` (admins): queues a test alert; the alert task sends it within
/// its next round (`--alert-poll-ms`, 2 s). `Err(message)` inside `Ok` when there is no webhook.
#[server(prefix = "/api", endpoint = "alerts/send-test")]
pub async fn send_test_alert() -> Result<Result<i64, String>, ServerFnError> {
    use super::ssr::{internal, state};
    use crate::store::alerts::deliveries;

    super::ssr::require_admin()?;
    let st = state()?;
    match deliveries::queue_test(&st.pool, &st.workspace, st.now_ms()).await.map_err(internal)? {
        Some(id) => Ok(Ok(id)),
        None => Ok(Err("Save the webhook's address first.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_its_checkboxes_and_threshold() {
        let form = AlertsForm {
            url: " https://hooks.example.com/a ".into(),
            failed_threshold: "1,000".into(),
            enabled: Some("on".into()),
            rotate_secret: None,
        };
        let input = form.read().unwrap();
        assert_eq!(input.url, "https://hooks.example.com/a");
        assert_eq!(
            (input.failed_threshold, input.enabled, input.rotate_secret),
            (1_000, true, false)
        );
        let off = AlertsForm { enabled: None, failed_threshold: String::new(), ..form.clone() };
        assert_eq!(off.read().map(|i| (i.enabled, i.failed_threshold)), Ok((false, 0)));
        let bad = AlertsForm { failed_threshold: "ten".into(), ..form.clone() };
        assert!(bad.read().unwrap_err().contains("whole number"));
        let ftp = AlertsForm { url: "ftp://x".into(), ..form };
        assert!(ftp.read().unwrap_err().contains("http or https"));
    }
}
