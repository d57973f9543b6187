//! The Salesforce connection as the Overview tab shows it (tokens never leave the server).

use serde::{Deserialize, Serialize};

/// The state of a workspace's Salesforce connection: the one type the engine, the status endpoint
/// and the pages use. Stored in `sync_connection.state` as [`ConnectionState::as_str`]; what a
/// workspace without a row is, is decided in the store (`store::connection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Syncing may call Salesforce (unless the daily limit pauses it).
    Connected,
    /// An authentication failed: nothing syncs until the person connects again.
    ReconnectNeeded,
    /// Never connected, or the person disconnected: nothing syncs, the tokens are forgotten.
    Disconnected,
}

impl ConnectionState {
    /// The stored (and serialized) word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::ReconnectNeeded => "reconnect_needed",
            Self::Disconnected => "disconnected",
        }
    }
    /// The stored word back; anything unknown is [`ConnectionState::Disconnected`].
    pub fn parse(s: &str) -> Self {
        match s {
            "connected" => Self::Connected,
            "reconnect_needed" => Self::ReconnectNeeded,
            _ => Self::Disconnected,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Connected => "Connected",
            Self::ReconnectNeeded => "Needs reconnection",
            Self::Disconnected => "Disconnected",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub state: ConnectionState,
    /// Why the connection needs attention, in words.
    pub detail: Option<String>,
    pub instance_url: Option<String>,
    pub username: Option<String>,
    pub connected_since: Option<i64>,
    /// No API calls before this instant (the daily limit was exceeded).
    pub limit_paused_until: Option<i64>,
    pub api: Option<ApiUsageView>,
}

/// API requests used in the last 24 hours against the org's daily limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsageView {
    pub used: i64,
    pub max: i64,
    pub measured_at: i64,
}

impl ApiUsageView {
    pub fn exceeded(&self) -> bool {
        self.used >= self.max
    }
    /// Share used, 0..=100.
    pub fn percent(&self) -> f64 {
        if self.max <= 0 {
            return 100.0;
        }
        (self.used as f64 / self.max as f64 * 100.0).clamp(0.0, 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionState;

    #[test]
    fn the_stored_word_is_the_serialized_one_and_reads_back() {
        for state in [
            ConnectionState::Connected,
            ConnectionState::ReconnectNeeded,
            ConnectionState::Disconnected,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_eq!(ConnectionState::parse(state.as_str()), state);
        }
    }
}
