//! When the next scheduled inbound sync is due, for the activity view's "Next sync in 14 s", and
//! why syncing is paused when it is.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    /// When the next scheduled inbound sync is due (Unix ms); `None` with nothing scheduled.
    pub next_due_at: Option<i64>,
    /// An inbound sync is running now (on any server).
    pub running: bool,
    /// Why nothing syncs now, and where to fix it.
    pub paused: Option<Paused>,
    /// Admins may start a sync now.
    pub can_sync_now: bool,
    pub as_of: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub why: String,
    /// The Overview's place that fixes it, within the workspace.
    pub fix_path: String,
    pub fix_label: String,
}

/// `GET /api/schedule`: the next scheduled inbound sync of the workspace's inbound objects (each
/// is due its interval after any server last synced it), whether one is running, and a pause.
#[server(prefix = "/api", endpoint = "schedule", input = GetUrl)]
pub async fn get_schedule() -> Result<ScheduleView, ServerFnError> {
    use super::ssr::{internal, no_cache, state, viewer};
    use crate::domain::connection::ConnectionState;
    use crate::store::{self, leases};

    no_cache();
    let st = state()?;
    let now = st.now_ms();
    let settings = store::load_settings(&st.pool, &st.workspace).await.map_err(internal)?;
    let interval_ms =
        settings.interval_secs.unwrap_or(st.default_interval_secs).max(1) as i64 * 1000;
    let held = leases::leases(&st.pool, &st.workspace).await.map_err(internal)?;
    let mut next_due_at: Option<i64> = None;
    let mut running = false;
    for object in &settings.inbound_objects {
        let work = leases::inbound_work(*object);
        let lease = held.iter().find(|l| l.work == work);
        running |= lease.is_some_and(|l| l.holder.is_some() && l.expires_at > now);
        let due = lease.map_or(now, |l| l.done_at + interval_ms);
        next_due_at = Some(next_due_at.map_or(due, |n: i64| n.min(due)));
    }
    let connection = store::connection_view(&st.pool, &st.workspace).await.map_err(internal)?;
    let paused = match connection.state {
        ConnectionState::ReconnectNeeded => Some(Paused {
            why: "Syncing is paused: Salesforce needs to be reconnected.".into(),
            fix_path: "/settings/crm".into(),
            fix_label: "Reconnect Salesforce".into(),
        }),
        ConnectionState::Disconnected => Some(Paused {
            why: "Nothing syncs: Salesforce is not connected.".into(),
            fix_path: "/settings/crm".into(),
            fix_label: "Connect Salesforce".into(),
        }),
        ConnectionState::Connected => connection.limit_paused_until.filter(|t| *t > now).map(|_| Paused {
            why: "Syncing is paused: Salesforce's daily API limit was reached. It resumes as soon as Salesforce has requests to spare.".into(),
            fix_path: "/settings/crm#rate-limits".into(),
            fix_label: "Review rate limits".into(),
        }),
    };
    Ok(ScheduleView {
        next_due_at,
        running,
        paused,
        can_sync_now: viewer()?.is_admin(),
        as_of: now,
    })
}
